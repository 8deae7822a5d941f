package server

import (
	"context"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/invalidate"
	"github.com/gatehouse/gatehouse/internal/store"
)

// invalidationChannel is the base name of the notification channel; the
// store appends its schema name (store.Notifier.Channel).
const invalidationChannel = "gatehouse_sessions"

// invalidation is the bus that makes every session end visible to every
// process sharing the store within a second. The session manager is its
// only publisher (it ends every session, and is told of those account
// changes end); this process's caches are its subscribers.
type invalidation struct {
	bus    invalidate.Bus
	remote *invalidate.Remote // nil: the bus is in-process
}

// newInvalidation picks the bus for st: LISTEN/NOTIFY when the store is
// shared by several processes (store.Notifier: PostgreSQL), in-process
// otherwise (SQLite: one process owns the file).
func newInvalidation(ctx context.Context, st store.Store, logger *slog.Logger) (*invalidation, error) {
	n, ok := st.(store.Notifier)
	if !ok {
		return &invalidation{bus: invalidate.NewLocal()}, nil
	}
	channel, err := n.Channel(ctx, invalidationChannel)
	if err != nil {
		return nil, err
	}
	remote := invalidate.NewRemote(n, channel, logger)
	return &invalidation{bus: remote, remote: remote}, nil
}

// listen subscribes this process's session and identity caches to ends
// published by any process, this one included, until ctx ends. It returns
// once the bus listens, so it must run before the server serves. Ends
// published while a remote bus was reconnecting never arrive: every
// cached session then asks the store again.
func (s *Server) listen(ctx context.Context, inv *invalidation) {
	if inv.remote != nil {
		inv.remote.Resync = s.Sessions.Recheck
	}
	inv.bus.Subscribe(ctx, func(ids []string) {
		s.Sessions.Forget(ids)
		s.Gate.ForgetSessions(ids)
	})
}
