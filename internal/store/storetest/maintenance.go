package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testPurge(t *testing.T, s store.Store) {
	c := ctx(t)
	live, expired := []byte("live-token-hash-0123456789abcdef"), []byte("dead-token-hash-0123456789abcdef")
	noErr(t, "CreateToken", s.CreateToken(c, store.Token{Hash: live, Kind: store.TokenSSOState, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, false))
	noErr(t, "CreateToken", s.CreateToken(c, store.Token{Hash: expired, Kind: store.TokenSSOState, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}, false))
	_, _, err := s.Hit(c, "old", time.Minute, t0)
	noErr(t, "Hit", err)
	_, _, err = s.Hit(c, "current", time.Hour, t0)
	noErr(t, "Hit", err)
	oldSent, err := s.EnqueueMail(c, store.Mail{To: "a@example.com", Subject: "s", Kind: "k", CreatedAt: t0})
	noErr(t, "EnqueueMail", err)
	noErr(t, "MarkMailSent", s.MarkMailSent(c, oldSent, t0))
	oldPending, err := s.EnqueueMail(c, store.Mail{To: "b@example.com", Subject: "s", Kind: "k", CreatedAt: t0})
	noErr(t, "EnqueueMail", err)

	now := t0.Add(10 * time.Minute)
	n, err := s.Purge(c, now, 5*time.Minute)
	noErr(t, "Purge", err)
	if n != 3 {
		t.Fatalf("Purge removed %d rows, want 3 (expired token, ended counter, old sent mail)", n)
	}
	if _, err := s.PeekToken(c, store.TokenSSOState, live, now); err != nil {
		t.Fatalf("the live token was purged: %v", err)
	}
	if got, _, err := s.Count(c, "current", now); err != nil || got != 1 {
		t.Fatalf("the current counter: %d, %v", got, err)
	}
	_, err = s.GetMail(c, oldSent)
	wantErr(t, "GetMail(purged)", err, store.ErrNotFound)
	if _, err := s.GetMail(c, oldPending); err != nil {
		t.Fatalf("pending mail must never be purged: %v", err)
	}
	if n, err := s.Purge(c, now, 5*time.Minute); err != nil || n != 0 {
		t.Fatalf("a second Purge: %d, %v", n, err)
	}
}
