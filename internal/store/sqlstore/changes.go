package sqlstore

import (
	"context"
	"sync"

	"github.com/gatehouse/gatehouse/internal/store"
)

// watchers are the functions told of committed account data changes. One
// set per database, shared by every transaction-bound copy of the Store.
type watchers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(context.Context, []store.Change)
}

// WatchChanges registers fn until ctx ends.
func (s *Store) WatchChanges(ctx context.Context, fn func(context.Context, []store.Change)) {
	w := s.watch
	w.mu.Lock()
	id := w.next
	w.next++
	w.fns[id] = fn
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	})
}

// changed announces what a successful write touched. Outside a
// transaction the write has committed, so the watchers hear it now;
// inside one they hear it when (and only if) it commits. Every write
// method touching account data calls it, which is what lets the caches
// above the store trust it instead of each caller remembering.
func (s *Store) changed(ctx context.Context, cs ...store.Change) {
	if s.tx != nil {
		*s.pending = append(*s.pending, cs...)
		return
	}
	s.announce(ctx, cs)
}

func (s *Store) accountChanged(ctx context.Context, accountID string) {
	s.changed(ctx, store.Change{Account: accountID})
}

func (s *Store) companyChanged(ctx context.Context, companyID string) {
	s.changed(ctx, store.Change{Company: companyID})
}

// announce tells every watcher of committed changes. The write is done
// whatever the caller's context now says, so the watchers get a context
// that is not cancelled with it.
func (s *Store) announce(ctx context.Context, cs []store.Change) {
	if len(cs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.watch.mu.RLock()
	defer s.watch.mu.RUnlock()
	for _, fn := range s.watch.fns {
		fn(ctx, cs)
	}
}
