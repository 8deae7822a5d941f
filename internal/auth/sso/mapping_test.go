package sso

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers"
)

func TestMapAccount(t *testing.T) {
	const jit = "(the account created just in time)"
	e := newEnv(t, map[string]config.JIT{"auth0": {Enabled: true, Company: "acme", Role: "viewer"}})
	e.createAccount(store.Account{ID: "pre", Email: "pre@example.com", SignIn: "sso:corp", Status: store.StatusInvited})
	e.createAccount(store.Account{ID: "pw", Email: "pw@example.com", SignIn: "password"})
	e.createAccount(store.Account{ID: "blk", Email: "blk@example.com", SignIn: "sso:corp", Status: store.StatusBlocked})
	ctx := t.Context()
	ident := func(sub, email string, verified bool, roles ...string) *providers.Identity {
		return &providers.Identity{Subject: sub, Email: email, EmailVerified: verified, GivenName: "G", FamilyName: "F", Roles: roles}
	}
	cases := []struct {
		name, provider string
		id             *providers.Identity
		wantAcct, how  string
		wantErr        error
	}{
		{"unverified email does not link", "corp", ident("s0", "pre@example.com", false), "", "", ErrNoAccount},
		{"verified email links", "corp", ident("s1", "pre@example.com", true), "pre", MappedLink, nil},
		{"existing link", "corp", ident("s1", "whatever@example.com", false), "pre", MappedLogin, nil},
		{"password account not taken over", "corp", ident("s2", "pw@example.com", true), "", "", ErrNoAccount},
		{"account for another provider", "google", ident("s3", "pre@example.com", true), "", "", ErrNoAccount},
		{"blocked account", "corp", ident("s4", "blk@example.com", true), "", "", ErrAccountDisabled},
		{"no JIT for this provider", "corp", ident("s5", "new@example.com", true), "", "", ErrNoAccount},
		{"JIT with mapped role", "auth0", ident("s6", "new@example.com", true, "nonexistent", "manager"), jit, MappedJIT, nil},
		{"second subject, same verified email, links", "auth0", ident("s7", "NEW@example.com", true), jit, MappedLink, nil},
	}
	for _, c := range cases {
		// The preview reads the same rules and changes nothing: it
		// foretells what MapAccount then does.
		preview, perr := e.h.Preview(ctx, c.provider, c.id)
		wantOutcome := c.how
		if c.wantErr != nil {
			wantOutcome = Refused
		}
		if perr != nil || preview.Outcome != wantOutcome {
			t.Errorf("%s: preview %q %v, want %q", c.name, preview.Outcome, perr, wantOutcome)
		}
		a, how, err := e.h.MapAccount(ctx, c.provider, c.id)
		if c.wantAcct == jit && err == nil {
			c.wantAcct = e.jitID("new@example.com")
		}
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || a.ID != c.wantAcct || how != c.how {
			t.Errorf("%s: got %q %q %v, want %q %q", c.name, a.ID, how, err, c.wantAcct, c.how)
		}
	}
	if a := e.account("pre"); a.Status != store.StatusActive || a.FirstName != "G" {
		t.Fatalf("pre-created account not activated and refreshed: %+v", a)
	}
	ms, _ := e.st.ListMemberships(ctx, e.jitID("new@example.com"))
	if len(ms) != 1 || ms[0].Role != "manager" {
		t.Fatalf("JIT membership %+v", ms)
	}
	// Role sync: the provider now says admin.
	if _, _, err := e.h.MapAccount(ctx, "auth0", ident("s6", "new@example.com", true, "admin")); err != nil {
		t.Fatal(err)
	}
	ms, _ = e.st.ListMemberships(ctx, e.jitID("new@example.com"))
	if len(ms) != 1 || ms[0].Role != "admin" {
		t.Fatalf("role not synced: %+v", ms)
	}
	// A link to a deleted account does not resurrect anything.
	if err := e.st.DeleteAccount(ctx, "pre"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.h.MapAccount(ctx, "corp", ident("s1", "pre@example.com", true)); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("deleted account: %v", err)
	}
}

func TestLanguageFromLocale(t *testing.T) {
	for in, want := range map[string]string{"fr-FR": "fr", "ja": "ja", "en-GB": "en", "de": "en", "": "en", "FR_ca": "fr"} {
		if got := language(in); got != want {
			t.Errorf("language(%q) = %q", in, got)
		}
	}
}
