// Package invalidate tells every Gatehouse process sharing a store which
// sessions ended and whose account data changed, so each drops them from
// its in-memory caches at once.
package invalidate

import (
	"context"
	"strings"
	"sync"
)

// Bus carries the ids of ended sessions between processes. Publish must
// not block on subscribers; Subscribe calls fn for every batch published
// by any process (this one included) until ctx ends.
type Bus interface {
	Publish(ctx context.Context, sessionIDs []string) error
	Subscribe(ctx context.Context, fn func(sessionIDs []string))
}

// Local is the bus of a single process (SQLite: one process owns the
// file). It only fans out to subscribers in this process.
type Local struct {
	mu   sync.RWMutex
	next int
	subs map[int]func([]string)
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{subs: map[int]func([]string){}} }

// Publish hands ids to every current subscriber.
func (l *Local) Publish(_ context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, fn := range l.subs {
		fn(ids)
	}
	return nil
}

// Subscribe registers fn until ctx ends. It returns at once.
func (l *Local) Subscribe(ctx context.Context, fn func([]string)) {
	l.mu.Lock()
	id := l.next
	l.next++
	l.subs[id] = fn
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		delete(l.subs, id)
		l.mu.Unlock()
	})
}

// MaxPayload bounds one encoded batch; PostgreSQL refuses NOTIFY payloads
// of 8000 bytes or more.
const MaxPayload = 7900

// sep never occurs in a session id (base64url, with an optional "sc."
// prefix), so it can join them.
const sep = ","

// Encode packs ids into payloads of at most MaxPayload bytes each. An id
// that could not be decoded again (empty, containing the separator, or
// too long) is left out.
func Encode(ids []string) []string {
	var out []string
	var b strings.Builder
	for _, id := range ids {
		if id == "" || strings.Contains(id, sep) || len(id) > MaxPayload {
			continue
		}
		if b.Len() > 0 && b.Len()+len(sep)+len(id) > MaxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(id)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// Decode unpacks one payload made by Encode; empty parts are dropped.
func Decode(payload string) []string {
	var ids []string
	for id := range strings.SplitSeq(payload, sep) {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
