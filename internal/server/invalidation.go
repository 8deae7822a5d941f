package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/invalidate"
	"github.com/gatehouse/gatehouse/internal/store"
)

// invalidationChannel is the base name of the notification channel; the
// store appends its schema name (store.Notifier.Channel).
const invalidationChannel = "gatehouse_sessions"

// publishTimeout bounds telling the other processes of a change.
const publishTimeout = 2 * time.Second

// invalidation is the bus that makes every session end and every account
// data change visible to every process sharing the store within a second.
// Its publishers are the session manager (it ends every session, and is
// told of those account changes end) and the store's change announcements
// (every committed write to account data); this process's caches are its
// subscribers.
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

// listen subscribes this process's caches, until ctx ends, to session
// ends and account data changes published by any process, this one
// included, and to the changes committed through this process's store.
// It returns once the bus listens, so it must run before the server
// serves. What was published while a remote bus was reconnecting never
// arrives: every cached session then asks the store again, and every
// cached identity and evaluation is rebuilt.
func (s *Server) listen(ctx context.Context, st store.Store, inv *invalidation) {
	if inv.remote != nil {
		inv.remote.Resync = func() {
			s.Sessions.Recheck()
			s.forget(nil)
			go s.reloadProviders(ctx)
		}
	}
	inv.bus.Subscribe(ctx, func(items []string) {
		b := invalidate.Sort(items)
		if len(b.Sessions) > 0 {
			s.Sessions.Forget(b.Sessions)
			s.Gate.ForgetSessions(b.Sessions)
		}
		data, providers := providerChanges(b.Changes)
		if len(data) > 0 {
			s.forget(data)
		}
		if providers {
			// Off the bus's goroutine: a rebuild fetches discovery.
			go s.reloadProviders(ctx)
		}
	})
	st.WatchChanges(ctx, func(ctx context.Context, changes []store.Change) {
		// This process first, before the write returns to its caller, so
		// the very next request here sees the change; then the others
		// (their copy comes back here too, and drops nothing new).
		data, providers := providerChanges(changes)
		if len(data) > 0 {
			s.forget(data)
		}
		if providers {
			s.reloadProviders(ctx)
		}
		if inv.remote == nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := inv.bus.Publish(ctx, invalidate.ChangeItems(changes)); err != nil {
			// The other processes rebuild the identity within the gate's
			// DataTTL anyway; say loudly that it was not at once.
			s.logger.Error("publishing account changes failed", "changes", len(changes), "err", err)
		}
	})
}

// forget drops what changes made stale from the caches built on account
// data: the gate's signed identities and the rules' evaluations. No
// changes means everything.
func (s *Server) forget(changes []store.Change) {
	s.Rules.Forget()
	if changes == nil {
		s.Gate.ForgetAll()
		return
	}
	s.Gate.Forget(changes)
}
