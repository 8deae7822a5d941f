package session

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fakeStore is an in-memory store.Sessions that can be switched off and
// counts the calls the tests care about.
type fakeStore struct {
	mu      sync.Mutex
	byID    map[string]store.Session
	down    bool
	gets    int // GetSessionByToken calls
	touches []map[string]time.Time
	// afterGet, when set, runs after GetSessionByToken has read its answer
	// and before it returns, to stage races.
	afterGet func()
	// hang makes GetSessionByToken wait for its context to end, as a
	// database behind a network partition does.
	hang bool
}

var _ store.Sessions = (*fakeStore)(nil)

func newFakeStore() *fakeStore { return &fakeStore{byID: make(map[string]store.Session)} }

func (f *fakeStore) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeStore) getCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

func (f *fakeStore) touchCalls() []map[string]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]time.Time(nil), f.touches...)
}

func (f *fakeStore) session(id string) (store.Session, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.byID[id]
	return s, ok
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byID)
}

func (f *fakeStore) CreateSession(_ context.Context, s store.Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.ErrUnavailable
	}
	if _, ok := f.byID[s.ID]; ok {
		return store.ErrConflict
	}
	s.TokenHash = append([]byte(nil), s.TokenHash...)
	s.CredentialID = bytes.Clone(s.CredentialID)
	f.byID[s.ID] = s
	return nil
}

func (f *fakeStore) GetSessionByToken(ctx context.Context, tokenHash []byte) (store.Session, error) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return store.Session{}, fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	s, err := func() (store.Session, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.gets++
		if f.down {
			return store.Session{}, store.ErrUnavailable
		}
		for _, s := range f.byID {
			if string(s.TokenHash) == string(tokenHash) {
				return s, nil
			}
		}
		return store.Session{}, store.ErrNotFound
	}()
	if f.afterGet != nil {
		f.afterGet()
	}
	return s, err
}

func (f *fakeStore) GetSession(_ context.Context, id string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.Session{}, store.ErrUnavailable
	}
	s, ok := f.byID[id]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	return s, nil
}

func (f *fakeStore) TouchSessions(_ context.Context, seen map[string]time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.ErrUnavailable
	}
	f.touches = append(f.touches, maps.Clone(seen))
	for id, t := range seen {
		if s, ok := f.byID[id]; ok && t.After(s.LastSeenAt) {
			s.LastSeenAt = t
			f.byID[id] = s
		}
	}
	return nil
}

func (f *fakeStore) DeleteSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.ErrUnavailable
	}
	if _, ok := f.byID[id]; !ok {
		return store.ErrNotFound
	}
	delete(f.byID, id)
	return nil
}

func (f *fakeStore) DeleteAccountSessions(_ context.Context, accountID string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, store.ErrUnavailable
	}
	var ids []string
	for id, s := range f.byID {
		if s.AccountID == accountID {
			ids = append(ids, id)
			delete(f.byID, id)
		}
	}
	return ids, nil
}

func (f *fakeStore) DeleteCredentialSessions(_ context.Context, accountID string, credentialID []byte) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, store.ErrUnavailable
	}
	var ids []string
	for id, s := range f.byID {
		if s.AccountID == accountID && len(credentialID) > 0 && bytes.Equal(s.CredentialID, credentialID) {
			ids = append(ids, id)
			delete(f.byID, id)
		}
	}
	return ids, nil
}

func (f *fakeStore) ListAccountSessions(_ context.Context, accountID string) ([]store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, store.ErrUnavailable
	}
	var out []store.Session
	for _, s := range f.byID {
		if s.AccountID == accountID {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeStore) DeleteExpiredSessions(_ context.Context, now, idleBefore time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, store.ErrUnavailable
	}
	n := 0
	for id, s := range f.byID {
		idle := s.LastSeenAt.Before(idleBefore)
		if s.IdleTimeout > 0 {
			idle = now.Sub(s.LastSeenAt) > s.IdleTimeout
		}
		if !now.Before(s.ExpiresAt) || idle {
			delete(f.byID, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) CountSessions(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, store.ErrUnavailable
	}
	return len(f.byID), nil
}

// publishFunc is a bus that hands every publish to a func.
type publishFunc func(ids []string)

func (f publishFunc) Publish(_ context.Context, ids []string) error {
	f(ids)
	return nil
}
