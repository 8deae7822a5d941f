package server

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/invalidate"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
)

// invalidationChannel is the base name of the PostgreSQL channel; the
// schema name is appended (postgres.Store.Channel).
const invalidationChannel = "gatehouse_sessions"

// startInvalidation makes every session end visible to every process
// sharing the store within a second: ends seen here (logout, reset, block,
// deactivate, delete, admin sign-out) are published, and ends published by
// any process are dropped from this one's session and identity caches.
// With SQLite there is one process, so the bus is in-process only. It must
// run before the server serves; the listener lives until ctx ends.
func (s *Server) startInvalidation(ctx context.Context) error {
	var bus invalidate.Bus = invalidate.NewLocal()
	if pg, ok := s.store.(*postgres.Store); ok {
		channel, err := pg.Channel(ctx, invalidationChannel)
		if err != nil {
			return err
		}
		remote := invalidate.NewRemote(pg, channel, s.logger)
		remote.Resync = s.Sessions.Recheck
		bus = remote
	}
	bus.Subscribe(ctx, func(ids []string) {
		s.Sessions.Forget(ids)
		s.Gate.ForgetSessions(ids)
	})
	publish := func(ids []string) {
		if len(ids) == 0 {
			return
		}
		// Not the request's context: the session is already gone from the
		// store, and the other processes must hear it even if the client
		// disconnects now.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := bus.Publish(pctx, ids); err != nil {
			// Other processes still stop trusting the session once their
			// cache entry is older than session.cache_ttl (at most 5s).
			s.logger.Warn("publishing ended sessions failed", "sessions", len(ids), "err", err)
		}
	}
	s.Sessions.OnEnded = publish
	ended := s.Accounts.OnSessionsEnded
	s.Accounts.OnSessionsEnded = func(ids []string) {
		if ended != nil {
			ended(ids)
		}
		publish(ids)
	}
	return nil
}
