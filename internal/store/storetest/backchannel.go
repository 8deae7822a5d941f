package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testProviderSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	mk := func(id, account, idp, sid, subject string) {
		t.Helper()
		ss := session(id, account)
		ss.IDP, ss.ProviderSID, ss.ProviderSubject = idp, sid, subject
		noErr(t, "CreateSession "+id, s.CreateSession(c, ss))
	}
	mk("a", "u1", "corp", "sid-1", "sub-1")
	mk("b", "u1", "corp", "sid-1", "sub-1") // two browsers, one provider session
	mk("c", "u1", "corp", "sid-2", "sub-1")
	mk("d", "u1", "corp", "", "sub-1")       // the provider sent no sid
	mk("e", "u1", "other", "sid-1", "sub-1") // same values at another provider
	mk("f", "u1", "local", "", "")
	mk("g", "u2", "corp", "sid-3", "sub-2")

	got, err := s.GetSession(c, "a")
	noErr(t, "GetSession", err)
	if got.ProviderSID != "sid-1" || got.ProviderSubject != "sub-1" {
		t.Fatalf("session a: ProviderSID %q, ProviderSubject %q", got.ProviderSID, got.ProviderSubject)
	}

	ids, err := s.DeleteProviderSessions(c, "corp", "sid-1", "")
	noErr(t, "DeleteProviderSessions(sid)", err)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("DeleteProviderSessions(corp, sid-1) = %v, want a b", ids)
	}
	ids, err = s.DeleteProviderSessions(c, "corp", "sid-1", "")
	noErr(t, "DeleteProviderSessions(sid, again)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteProviderSessions(again) = %v", ids)
	}
	// sid and sub together must both match.
	ids, err = s.DeleteProviderSessions(c, "corp", "sid-2", "sub-2")
	noErr(t, "DeleteProviderSessions(sid, other sub)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteProviderSessions(sid-2, sub-2) = %v, want none", ids)
	}
	ids, err = s.DeleteProviderSessions(c, "corp", "", "sub-1")
	noErr(t, "DeleteProviderSessions(sub)", err)
	if !slices.Equal(ids, []string{"c", "d"}) {
		t.Fatalf("DeleteProviderSessions(corp, sub-1) = %v, want c d", ids)
	}
	for _, id := range []string{"e", "f", "g"} {
		_, err := s.GetSession(c, id)
		noErr(t, "GetSession("+id+") after the provider's logouts", err)
	}
	if _, err := s.DeleteProviderSessions(c, "corp", "", ""); err == nil {
		t.Fatal("DeleteProviderSessions without sid or subject succeeded")
	}
	if _, err := s.DeleteProviderSessions(c, "", "sid-3", ""); err == nil {
		t.Fatal("DeleteProviderSessions without a provider succeeded")
	}
	ids, err = s.DeleteProviderSessions(c, "corp", "sid-3", "sub-2")
	noErr(t, "DeleteProviderSessions(sid and sub)", err)
	if !slices.Equal(ids, []string{"g"}) {
		t.Fatalf("DeleteProviderSessions(sid-3, sub-2) = %v, want g", ids)
	}
}

func testLogoutTokenSingleUse(t *testing.T, s store.Store) {
	c := ctx(t)
	until := t0.Add(2 * time.Minute)
	noErr(t, "UseLogoutToken", s.UseLogoutToken(c, "corp", "jti-1", until, t0))
	wantErr(t, "UseLogoutToken(again)", s.UseLogoutToken(c, "corp", "jti-1", until, t0.Add(time.Minute)), store.ErrConflict)
	// Another provider's jti space is its own.
	noErr(t, "UseLogoutToken(other provider)", s.UseLogoutToken(c, "other", "jti-1", until, t0))
	noErr(t, "UseLogoutToken(other jti)", s.UseLogoutToken(c, "corp", "jti-2", t0.Add(time.Minute), t0))
	if err := s.UseLogoutToken(c, "corp", "", until, t0); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("UseLogoutToken without a jti: %v", err)
	}

	// Once expired, the record neither blocks nor survives Purge; a live
	// one stays through it.
	n, err := s.Purge(c, t0.Add(90*time.Second), time.Hour)
	noErr(t, "Purge", err)
	if n != 1 {
		t.Fatalf("Purge removed %d rows, want 1 (jti-2)", n)
	}
	wantErr(t, "UseLogoutToken(jti-1 after Purge)", s.UseLogoutToken(c, "corp", "jti-1", until, t0.Add(90*time.Second)), store.ErrConflict)
	noErr(t, "UseLogoutToken(jti-2 after Purge)", s.UseLogoutToken(c, "corp", "jti-2", t0.Add(time.Hour), t0.Add(90*time.Second)))
	// Expired but not purged yet: replaced, then live again.
	noErr(t, "UseLogoutToken(jti-1 expired)", s.UseLogoutToken(c, "corp", "jti-1", t0.Add(time.Hour), until))
	wantErr(t, "UseLogoutToken(jti-1 renewed)", s.UseLogoutToken(c, "corp", "jti-1", t0.Add(time.Hour), until), store.ErrConflict)

	// Released, it can be used again; only that provider's.
	noErr(t, "ReleaseLogoutToken", s.ReleaseLogoutToken(c, "corp", "jti-1"))
	noErr(t, "ReleaseLogoutToken(again)", s.ReleaseLogoutToken(c, "corp", "jti-1"))
	noErr(t, "UseLogoutToken(released)", s.UseLogoutToken(c, "corp", "jti-1", t0.Add(time.Hour), until))
	wantErr(t, "UseLogoutToken(other provider, not released)", s.UseLogoutToken(c, "other", "jti-1", until, t0), store.ErrConflict)
}

func testLogoutTokenConcurrentUse(t *testing.T, s store.Store) {
	c := ctx(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UseLogoutToken(c, "corp", "jti-race", t0.Add(time.Minute), t0)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("UseLogoutToken: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent uses of one jti succeeded, want 1", won, n)
	}
}
