package identity

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// memKeys is an in-memory store.Keys with the semantics the interface documents.
type memKeys struct {
	mu   sync.Mutex
	keys []store.SigningKey
	err  error // when set, every call fails with it
}

var _ store.Keys = (*memKeys)(nil)

func (m *memKeys) CreateSigningKey(_ context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for _, o := range m.keys {
		if o.ID == k.ID {
			return store.ErrConflict
		}
	}
	k.PrivateKey = append([]byte(nil), k.PrivateKey...)
	m.keys = append(m.keys, k)
	return nil
}

func (m *memKeys) ListSigningKeys(context.Context) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	return append([]store.SigningKey(nil), m.keys...), nil
}

func (m *memKeys) RetireSigningKeys(_ context.Context, keepID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for i := range m.keys {
		if m.keys[i].ID != keepID && m.keys[i].RetireAt.IsZero() {
			m.keys[i].RetireAt = at
		}
	}
	return nil
}

func (m *memKeys) DeleteSigningKeysRetiredBefore(_ context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	kept := m.keys[:0]
	for _, k := range m.keys {
		if !k.RetireAt.IsZero() && k.RetireAt.Before(t) {
			continue
		}
		kept = append(kept, k)
	}
	m.keys = kept
	return nil
}

func (m *memKeys) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *memKeys) get(t *testing.T, id string) store.SigningKey {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %s not in store", id)
	return store.SigningKey{}
}

func (m *memKeys) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// newClock is the settable time source every keyring test starts from.
func newClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// loadedKeyring returns a keyring over a fresh in-memory store, loaded.
func loadedKeyring(t testing.TB) (*Keyring, *memKeys, *clocktest.Clock) {
	t.Helper()
	st := &memKeys{}
	clk := newClock()
	kr := NewKeyring(st, clk.Now, rand.Reader, discardLogger())
	if err := kr.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return kr, st, clk
}

const testIssuer = "https://gate.example.com"
