package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrNotAccountSession means a session id names no live session of the
// account asking: it is gone, or it belongs to someone else. It wraps
// store.ErrNotFound, so both answer alike and nobody learns which.
var ErrNotAccountSession = fmt.Errorf("session: not a session of this account: %w", store.ErrNotFound)

// List returns the account's live sessions, oldest first. Expired records
// the purge has not reached yet are left out. LastSeenAt is the later of
// the stored time and this process's unflushed one, so the caller's own
// activity shows at once; activity on another replica reaches the store
// with that replica's next flush (every 5 s).
func (m *Manager) List(ctx context.Context, accountID string) ([]store.Session, error) {
	all, err := m.st.ListAccountSessions(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("session: list sessions of %s: %w", accountID, err)
	}
	now := m.now()
	out := make([]store.Session, 0, len(all))
	for _, s := range all {
		seen := m.cache.seen(s.ID)
		if m.expired(s, m.idleFor(s), seen, now) {
			continue
		}
		if seen > 0 {
			if t := time.Unix(0, seen); t.After(s.LastSeenAt) {
				s.LastSeenAt = t
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// EndAccountSession ends one session of the account. It answers
// ErrNotAccountSession when id is not one of the account's live sessions,
// so a person can only ever end their own.
func (m *Manager) EndAccountSession(ctx context.Context, accountID, id string) error {
	live, err := m.List(ctx, accountID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(live, func(s store.Session) bool { return s.ID == id }) {
		return ErrNotAccountSession
	}
	return m.EndSession(ctx, id)
}

// EndOthers ends every session of the account except keepID (the one the
// request came with) and returns the ids it ended. A session that starts
// while it runs is a new sign-in and stays. When the store fails partway,
// the sessions ended so far are still published.
func (m *Manager) EndOthers(ctx context.Context, accountID, keepID string) ([]string, error) {
	all, err := m.st.ListAccountSessions(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("session: list sessions of %s: %w", accountID, err)
	}
	var ended []string
	var failed error
	for _, s := range all {
		if s.ID == keepID {
			continue
		}
		err := m.st.DeleteSession(ctx, s.ID)
		m.cache.drop(s.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			failed = fmt.Errorf("session: end %s: %w", s.ID, err)
			break
		}
		ended = append(ended, s.ID)
	}
	m.ended(ctx, ended)
	if failed != nil {
		return ended, failed
	}
	return ended, nil
}

// seen is the latest request time this process has recorded for the
// session, flushed or not, in unix nanoseconds; 0 when it has none.
func (c *cache) seen(id string) int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var ns int64
	if e := c.byID[id]; e != nil {
		ns = e.lastSeen.Load()
	}
	if t, ok := c.pending[id]; ok && t.UnixNano() > ns {
		ns = t.UnixNano()
	}
	return ns
}
