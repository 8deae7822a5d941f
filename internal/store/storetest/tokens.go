package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func token(hash, kind, account string) store.Token {
	return store.Token{Hash: []byte(hash), Kind: kind, AccountID: account, Data: []byte(`{"rd":"/x"}`),
		CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
}

func testTokenSingleUse(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	tok := token("h1", store.TokenPasswordReset, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, tok, false))
	wantErr(t, "CreateToken(same hash)", s.CreateToken(c, tok, false), store.ErrConflict)

	now := t0.Add(time.Minute)
	peek, err := s.PeekToken(c, store.TokenPasswordReset, []byte("h1"), now)
	noErr(t, "PeekToken", err)
	if peek.AccountID != "u1" || peek.Kind != store.TokenPasswordReset || !bytes.Equal(peek.Data, tok.Data) || !peek.UsedAt.IsZero() {
		t.Fatalf("PeekToken = %+v", peek)
	}
	sameTime(t, "Token.CreatedAt", peek.CreatedAt, t0)
	sameTime(t, "Token.ExpiresAt", peek.ExpiresAt, tok.ExpiresAt)
	_, err = s.PeekToken(c, store.TokenInvitation, []byte("h1"), now)
	wantErr(t, "PeekToken(other kind)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), now)
	wantErr(t, "ConsumeToken(other kind)", err, store.ErrNotFound)

	got, err := s.ConsumeToken(c, store.TokenPasswordReset, []byte("h1"), now)
	noErr(t, "ConsumeToken", err)
	if got.AccountID != "u1" || !bytes.Equal(got.Hash, []byte("h1")) || !bytes.Equal(got.Data, tok.Data) {
		t.Fatalf("ConsumeToken = %+v", got)
	}
	sameTime(t, "Token.UsedAt", got.UsedAt, now)
	_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte("h1"), now)
	wantErr(t, "ConsumeToken(twice)", err, store.ErrNotFound)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("h1"), now)
	wantErr(t, "PeekToken(used)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte("unknown"), now)
	wantErr(t, "ConsumeToken(unknown)", err, store.ErrNotFound)

	// A token with no account (an SSO flow) and no payload.
	state := store.Token{Hash: []byte("state"), Kind: store.TokenSSOState, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	noErr(t, "CreateToken(no account)", s.CreateToken(c, state, true))
	got, err = s.ConsumeToken(c, store.TokenSSOState, []byte("state"), now)
	noErr(t, "ConsumeToken(no account)", err)
	if got.AccountID != "" || len(got.Data) != 0 {
		t.Fatalf("ConsumeToken(no account) = %+v", got)
	}
	wantErr(t, "CreateToken(unknown account)", s.CreateToken(c, token("h9", store.TokenInvitation, "nope"), false), store.ErrNotFound)
}

func testTokenExpiry(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	tok := token("h1", store.TokenInvitation, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, tok, false))
	_, err := s.PeekToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt.Add(-time.Microsecond))
	noErr(t, "PeekToken(just before expiry)", err)
	_, err = s.PeekToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt)
	wantErr(t, "PeekToken(at expiry)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt)
	wantErr(t, "ConsumeToken(at expiry)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt.Add(time.Hour))
	wantErr(t, "ConsumeToken(after expiry)", err, store.ErrNotFound)
	// A refused late attempt did not use it up.
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), t0.Add(time.Minute))
	noErr(t, "ConsumeToken(in time)", err)
}

func testTokenReplace(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	now := t0.Add(time.Minute)
	noErr(t, "CreateToken", s.CreateToken(c, token("used", store.TokenPasswordReset, "u1"), false))
	_, err := s.ConsumeToken(c, store.TokenPasswordReset, []byte("used"), now)
	noErr(t, "ConsumeToken", err)
	noErr(t, "CreateToken", s.CreateToken(c, token("old", store.TokenPasswordReset, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("keep", store.TokenPasswordReset, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("invite", store.TokenInvitation, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("other", store.TokenPasswordReset, "u2"), false))
	noErr(t, "CreateToken", s.CreateToken(c, store.Token{Hash: []byte("sso"), Kind: store.TokenSSOState, ExpiresAt: now.Add(time.Hour)}, false))

	// Without replace both unused tokens live.
	for _, h := range []string{"old", "keep"} {
		_, err := s.PeekToken(c, store.TokenPasswordReset, []byte(h), now)
		noErr(t, "PeekToken "+h, err)
	}
	noErr(t, "CreateToken(replace)", s.CreateToken(c, token("new", store.TokenPasswordReset, "u1"), true))
	for _, h := range []string{"old", "keep"} {
		_, err := s.PeekToken(c, store.TokenPasswordReset, []byte(h), now)
		wantErr(t, "PeekToken(replaced "+h+")", err, store.ErrNotFound)
		_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte(h), now)
		wantErr(t, "ConsumeToken(replaced "+h+")", err, store.ErrNotFound)
	}
	for _, tc := range []struct{ kind, hash string }{
		{store.TokenPasswordReset, "new"}, {store.TokenInvitation, "invite"},
		{store.TokenPasswordReset, "other"}, {store.TokenSSOState, "sso"},
	} {
		_, err := s.PeekToken(c, tc.kind, []byte(tc.hash), now)
		noErr(t, "PeekToken(survivor "+tc.hash+")", err)
	}
	// A replace with no account touches nobody's tokens.
	noErr(t, "CreateToken(replace, no account)", s.CreateToken(c, store.Token{Hash: []byte("sso2"), Kind: store.TokenSSOState, ExpiresAt: now.Add(time.Hour)}, true))
	_, err = s.PeekToken(c, store.TokenSSOState, []byte("sso"), now)
	noErr(t, "PeekToken(sso after accountless replace)", err)

	// A failed insert leaves the older token in place.
	wantErr(t, "CreateToken(replace, duplicate hash)", s.CreateToken(c, token("other", store.TokenPasswordReset, "u1"), true), store.ErrConflict)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("new"), now)
	noErr(t, "PeekToken(new after failed replace)", err)
}

func testTokenConcurrentConsume(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, token("h", store.TokenEnrolment, "u1"), false))
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeToken(c, store.TokenEnrolment, []byte("h"), t0.Add(time.Minute))
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("ConsumeToken: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent consumers succeeded, want exactly 1", ok)
	}
}
