package providers

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/providers/providertest"
)

func TestGoogleHostedDomain(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{Type: "google", AllowedDomains: []string{"example.com"}})
	if p.DisplayName() != "Google" {
		t.Fatalf("display name %q", p.DisplayName())
	}
	srv.SetUser(providertest.User{Subject: "1", Email: "ada@example.com", EmailVerified: true, Claims: map[string]any{"hd": "example.com"}})
	if _, err := signIn(t, p); err != nil {
		t.Fatalf("allowed hd: %v", err)
	}
	// A consumer account with an address at the domain has no hd: refused.
	srv.SetUser(providertest.User{Subject: "2", Email: "ada@example.com", EmailVerified: true})
	if _, err := signIn(t, p); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("no hd: %v", err)
	}
	srv.SetUser(providertest.User{Subject: "3", Email: "ada@example.com", EmailVerified: true, Claims: map[string]any{"hd": "other.example"}})
	if _, err := signIn(t, p); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("other hd: %v", err)
	}
	srv.SetUser(providertest.User{Subject: "4", Email: "bob@example.com", EmailVerified: false, Claims: map[string]any{"hd": "example.com"}})
	id, err := signIn(t, p)
	if err != nil || id.EmailVerified {
		t.Fatalf("email_verified false must be kept: %+v %v", id, err)
	}
	if _, ok := p.(LogoutProvider).EndSessionURL("x", "y"); !ok {
		// The fake advertises an end_session_endpoint, so Google's type uses it.
		t.Fatal("end session from discovery ignored")
	}
}

func TestMicrosoftMultiTenant(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{MultiTenant: true})
	p := newProvider(t, srv, clk, Config{
		Type:           "microsoft",
		AllowedTenants: []string{"tenant-a"},
		AllowedDomains: []string{"contoso.com"},
	})
	if got := p.(IssuerChecker).ExpectedIssuer(); got != srv.URL+"/{tenantid}/v2.0" {
		t.Fatalf("expected issuer %q", got)
	}
	user := func(tid, email string) providertest.User {
		return providertest.User{Subject: "pairwise-sub", Email: email, Claims: map[string]any{"tid": tid, "oid": "oid-1"}}
	}
	srv.SetUser(user("tenant-a", "ada@contoso.com"))
	id, err := signIn(t, p)
	if err != nil {
		t.Fatalf("allowed tenant: %v", err)
	}
	if id.Subject != "tenant-a:oid-1" || !id.EmailVerified || id.Issuer != srv.URL+"/tenant-a/v2.0" {
		t.Fatalf("identity %+v", id)
	}
	srv.SetUser(user("tenant-b", "ada@contoso.com"))
	if _, err := signIn(t, p); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("tenant not allowed: %v", err)
	}
	srv.SetUser(user("tenant-a", "ada@elsewhere.example"))
	if _, err := signIn(t, p); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("domain not allowed: %v", err)
	}
	// A token whose iss names another tenant than its tid.
	srv.SetUser(providertest.User{Subject: "s", Email: "ada@contoso.com", Claims: map[string]any{"tid": "tenant-a", "oid": "o", "iss": srv.URL + "/tenant-b/v2.0"}})
	if _, err := signIn(t, p); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("iss/tid mismatch: %v", err)
	}
}

func TestMicrosoftEmailNotVerifiedWithoutDomains(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{Path: "/tenant-a/v2.0"})
	p := newProvider(t, srv, clk, Config{Type: "microsoft"})
	// The email_verified claim is not Microsoft's to give; it is ignored.
	srv.SetUser(providertest.User{Subject: "s", EmailVerified: true, Claims: map[string]any{
		"tid": "tenant-a", "oid": "o", "preferred_username": "ada@contoso.com"}})
	id, err := signIn(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if id.EmailVerified || id.Email != "ada@contoso.com" || id.Subject != "tenant-a:o" {
		t.Fatalf("identity %+v", id)
	}
}

func TestAuth0(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{Path: "/"})
	const claim = "https://gatehouse.example.com/roles"
	// Configured without the trailing slash: Auth0's issuer has one.
	p := newProvider(t, srv, clk, Config{
		Type: "auth0", Issuer: strings.TrimSuffix(srv.Issuer, "/"),
		RolesClaim: claim, RoleMap: map[string]string{"Plant Managers": "manager"},
	})
	srv.SetUser(providertest.User{Subject: "google-oauth2|123", Email: "ada@example.com", EmailVerified: true,
		Claims: map[string]any{claim: []string{"Plant Managers"}}})
	id, err := signIn(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "google-oauth2|123" || len(id.Roles) != 1 || id.Roles[0] != "manager" {
		t.Fatalf("identity %+v", id)
	}
	if auth0Issuer("acme.eu.auth0.com") != "https://acme.eu.auth0.com/" {
		t.Fatal("bare tenant domain")
	}
}

func TestAuth0LegacyLogout(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{Path: "/", NoEndSession: true})
	p := newProvider(t, srv, clk, Config{Type: "auth0"})
	u, ok := p.(LogoutProvider).EndSessionURL("tok", "https://gate.example.com/")
	if !ok || !strings.HasPrefix(u, srv.Issuer+"v2/logout?") || !strings.Contains(u, "returnTo=https%3A%2F%2Fgate.example.com%2F") ||
		!strings.Contains(u, "client_id="+srv.ClientID()) {
		t.Fatalf("%q %v", u, ok)
	}
	// Without discovery's endpoint, the generic type has no logout.
	srv2 := newFake(t, clk, providertest.Options{NoEndSession: true})
	if _, ok := newProvider(t, srv2, clk, Config{}).(LogoutProvider).EndSessionURL("t", "r"); ok {
		t.Fatal("generic provider invented a logout URL")
	}
}

func TestIssParameter(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{IssParameter: true})
	p := newProvider(t, srv, clk, Config{})
	ic := p.(IssuerChecker)
	if !ic.IssuerParameterRequired() || ic.ExpectedIssuer() != srv.Issuer {
		t.Fatalf("issuer checker %v %q", ic.IssuerParameterRequired(), ic.ExpectedIssuer())
	}
	resp := authorize(t, p, "s", "n", verifier)
	if resp.Get("iss") != srv.Issuer {
		t.Fatalf("iss parameter %q", resp.Get("iss"))
	}
	srv.Break(providertest.ForeignIssuerInResponse)
	if resp := authorize(t, p, "s", "n", verifier); IssuerMatches(ic.ExpectedIssuer(), resp.Get("iss")) {
		t.Fatalf("foreign iss %q matched", resp.Get("iss"))
	}
}
