package providers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// newClock is the test clock shared by the fake provider and the client.
func newClock() *clocktest.Clock { return clocktest.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) }

const redirectURL = "https://gate.example.com/.gatehouse/sso/test/callback"

func newFake(t *testing.T, clk *clocktest.Clock, opts providertest.Options) *providertest.Server {
	t.Helper()
	opts.Now = clk.Now
	srv := providertest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, srv *providertest.Server, clk *clocktest.Clock, cfg Config) Provider {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "test"
	}
	if cfg.Type == "" {
		cfg.Type = "oidc"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = srv.Issuer
	}
	cfg.ClientID = srv.ClientID()
	p, err := New(t.Context(), cfg, Options{
		ClientSecret: srv.ClientSecret(),
		RedirectURL:  redirectURL,
		HTTPClient:   srv.Client(),
		Now:          clk.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if st := p.Status(); st.State != StateReady {
		t.Fatalf("provider not ready: %+v", st)
	}
	return p
}

// authorize runs the browser leg and returns the authorization response.
func authorize(t *testing.T, p Provider, state, nonce, verifier string) url.Values {
	t.Helper()
	u, err := p.AuthCodeURL(state, nonce, verifier)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirectURL) {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query()
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough"

func signIn(t *testing.T, p Provider) (*Identity, error) {
	t.Helper()
	resp := authorize(t, p, "st", "n-123", verifier)
	if resp.Get("state") != "st" || resp.Get("code") == "" {
		t.Fatalf("authorization response %v", resp)
	}
	return p.Exchange(t.Context(), resp.Get("code"), verifier, "n-123")
}

func TestOIDCSignIn(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{Algorithm: "RS256"})
	p := newProvider(t, srv, clk, Config{DisplayName: "Corp SSO"})
	id, err := signIn(t, p)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if id.Subject != "user-1" || id.Email != "ada@example.com" || !id.EmailVerified ||
		id.GivenName != "Ada" || id.FamilyName != "Lovelace" || id.Issuer != srv.Issuer || id.IDToken == "" {
		t.Fatalf("identity %+v", id)
	}
	if p.DisplayName() != "Corp SSO" || p.ID() != "test" {
		t.Fatalf("names %q %q", p.ID(), p.DisplayName())
	}
	q := srv.LastAuthorize()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") != "n-123" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorize request %v", q)
	}
}

func TestOIDCRejectsBrokenTokens(t *testing.T) {
	faults := map[string]providertest.Fault{
		"wrong iss":            providertest.WrongIssuer,
		"foreign aud":          providertest.ForeignAudience,
		"extra aud, no azp":    providertest.ExtraAudienceNoAZP,
		"extra aud, other azp": providertest.ExtraAudienceWrongAZP,
		"expired":              providertest.Expired,
		"iat in future":        providertest.IssuedInFuture,
		"bad signature":        providertest.BadSignature,
		"alg none":             providertest.AlgNone,
		"HS256 public key":     providertest.HS256PublicKey,
		"missing nonce":        providertest.MissingNonce,
		"wrong nonce":          providertest.WrongNonce,
		"unknown kid":          providertest.UnknownKid,
		"missing sub":          providertest.MissingSubject,
	}
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{})
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			srv.Break(f)
			id, err := signIn(t, p)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("got %+v, %v; want ErrInvalidToken", id, err)
			}
			t.Logf("refused: %v", err)
		})
	}
	// The faults were one-shot: the next sign-in works.
	if _, err := signIn(t, p); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

func TestOIDCClockSkew(t *testing.T) {
	idp, ours := newClock(), newClock()
	srv := newFake(t, idp, providertest.Options{TokenTTL: 5 * time.Minute})
	p := newProvider(t, srv, ours, Config{})
	cases := []struct {
		name   string
		offset time.Duration // how far the provider's clock runs ahead of ours
		ok     bool
	}{
		{"iat 90s ahead", 90 * time.Second, true},
		{"iat 3m ahead", 3 * time.Minute, false},
		{"expired 1m ago", -6 * time.Minute, true},
		{"expired 3m ago", -8 * time.Minute, false},
	}
	for _, c := range cases {
		idp.Set(ours.Now().Add(c.offset))
		_, err := signIn(t, p)
		if c.ok && err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: got %v, want ErrInvalidToken", c.name, err)
		}
	}
}

func TestOIDCCodeAndPKCE(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{})
	resp := authorize(t, p, "st", "n", verifier)
	if _, err := p.Exchange(t.Context(), resp.Get("code"), verifier+"x", "n"); !errors.Is(err, ErrExchange) {
		t.Fatalf("wrong verifier: %v", err)
	}
	// The code was burnt by the failed attempt.
	if _, err := p.Exchange(t.Context(), resp.Get("code"), verifier, "n"); !errors.Is(err, ErrExchange) {
		t.Fatalf("reused code: %v", err)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{})
	if _, err := signIn(t, p); err != nil {
		t.Fatal(err)
	}
	before := srv.JWKSRequests()
	srv.RotateKey()
	if _, err := signIn(t, p); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if srv.JWKSRequests() <= before {
		t.Fatal("the key set was not refetched for the new kid")
	}
}

func TestOIDCDiscoveryRetry(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	srv.SetDiscoveryDown(true)
	ticks := make(chan time.Time)
	asked := make(chan time.Duration, 10)
	after := func(d time.Duration) <-chan time.Time {
		asked <- d
		return ticks
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p, err := New(ctx, Config{ID: "test", Type: "oidc", Issuer: srv.Issuer, ClientID: srv.ClientID()},
		Options{ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL, HTTPClient: srv.Client(), Now: clk.Now, After: after})
	if err != nil {
		t.Fatalf("New must not fail on discovery: %v", err)
	}
	st := p.Status()
	if st.State != StateUnavailable || !strings.Contains(st.LastError, "503") {
		t.Fatalf("status %+v", st)
	}
	if _, err := p.AuthCodeURL("s", "n", verifier); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	if _, err := p.Exchange(t.Context(), "c", verifier, "n"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Exchange: %v", err)
	}
	// Each wait is asked for only after the previous attempt failed.
	if d := <-asked; d != time.Second {
		t.Fatalf("first wait %v", d)
	}
	ticks <- clk.Now() // a retry that still fails
	if d := <-asked; d != 2*time.Second {
		t.Fatalf("second wait %v (backoff doubles)", d)
	}
	srv.SetDiscoveryDown(false)
	ticks <- clk.Now()
	<-p.(*OIDC).Ready()
	if st := p.Status(); st.State != StateReady || st.LastError != "" {
		t.Fatalf("status after recovery %+v", st)
	}
	if _, err := signIn(t, p); err != nil {
		t.Fatalf("sign-in after recovery: %v", err)
	}
}

func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p, err := New(t.Context(), Config{ID: "x", Type: "oidc", Issuer: srv.Issuer + "/", ClientID: "c"},
		Options{RedirectURL: redirectURL, HTTPClient: srv.Client(), Now: clk.Now, After: func(time.Duration) <-chan time.Time { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != StateUnavailable || !strings.Contains(st.LastError, "issuer") {
		t.Fatalf("status %+v", st)
	}
}

func TestOIDCAllowedDomainsAndRoles(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{
		AllowedDomains: []string{"Example.com"},
		RolesClaim:     "groups",
		RoleMap:        map[string]string{"eng": "manager", "it": "admin"},
	})
	srv.SetUser(providertest.User{Subject: "u", Email: "bob@example.com", EmailVerified: true,
		Claims: map[string]any{"groups": []string{"eng", "unmapped", "admin"}}})
	id, err := signIn(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Roles) != 1 || id.Roles[0] != "manager" {
		t.Fatalf("roles %v (only mapped roles count)", id.Roles)
	}
	srv.SetUser(providertest.User{Subject: "u2", Email: "eve@evil.example", EmailVerified: true})
	if _, err := signIn(t, p); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("other domain: %v", err)
	}
}

func TestOIDCEndSession(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{})
	lp, ok := p.(LogoutProvider)
	if !ok {
		t.Fatal("no LogoutProvider")
	}
	u, ok := lp.EndSessionURL("tok", "https://gate.example.com/.gatehouse/login")
	if !ok || !strings.HasPrefix(u, srv.URL+"/logout?") || !strings.Contains(u, "id_token_hint=tok") ||
		!strings.Contains(u, "post_logout_redirect_uri=https%3A%2F%2Fgate.example.com") {
		t.Fatalf("end session %q %v", u, ok)
	}
}

func TestIssuerMatches(t *testing.T) {
	cases := []struct {
		expected, got string
		want          bool
	}{
		{"https://a.example", "https://a.example", true},
		{"https://a.example", "https://a.example/", false},
		{"https://l.example/{tenantid}/v2.0", "https://l.example/abc/v2.0", true},
		{"https://l.example/{tenantid}/v2.0", "https://l.example//v2.0", false},
		{"https://l.example/{tenantid}/v2.0", "https://l.example/a/b/v2.0", false},
		{"https://l.example/{tenantid}/v2.0", "https://evil.example/abc/v2.0", false},
		{"https://l.example/{tenantid}/v2.0", "https://l.example/{tenantid}/v2.0", false},
	}
	for _, c := range cases {
		if got := IssuerMatches(c.expected, c.got); got != c.want {
			t.Errorf("IssuerMatches(%q, %q) = %v", c.expected, c.got, got)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	opts := Options{RedirectURL: redirectURL}
	for name, cfg := range map[string]Config{
		"unknown type":          {ID: "x", Type: "okta", Issuer: "https://a.example", ClientID: "c"},
		"no client id":          {ID: "x", Type: "oidc", Issuer: "https://a.example"},
		"relative issuer":       {ID: "x", Type: "oidc", Issuer: "a.example", ClientID: "c"},
		"multi-tenant, no list": {ID: "x", Type: "microsoft", Issuer: "https://login.microsoftonline.com/common/v2.0", ClientID: "c"},
	} {
		if _, err := New(t.Context(), cfg, opts); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestOIDCMultiFactor: a sign-in counts as multi-factor when the ID
// token's amr names mfa (Entra ID, Auth0), or when the provider is
// configured as enforcing MFA itself (Google sends no amr).
func TestOIDCMultiFactor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		amr      any
		enforced bool
		want     bool
	}{
		{"no amr", nil, false, false},
		{"amr pwd", []any{"pwd"}, false, false},
		{"amr pwd mfa (Entra ID)", []any{"pwd", "mfa"}, false, true},
		{"amr mfa (Auth0)", []any{"mfa"}, false, true},
		{"amr as a string is not a list", "mfa", false, false},
		{"no amr, provider enforces mfa", nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, providertest.Options{})
			u := providertest.User{Subject: "user-1", Email: "ada@example.com", EmailVerified: true, Claims: map[string]any{}}
			if tc.amr != nil {
				u.Claims["amr"] = tc.amr
			}
			srv.SetUser(u)
			cfg := Config{}
			if tc.enforced {
				cfg.MFA = MFAEnforced
			}
			id, err := signIn(t, newProvider(t, srv, clk, cfg))
			if err != nil {
				t.Fatal(err)
			}
			if id.MultiFactor != tc.want {
				t.Fatalf("MultiFactor = %v, want %v", id.MultiFactor, tc.want)
			}
		})
	}
}
