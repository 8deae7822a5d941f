package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// upstream is a real app behind the gateway that records what it received.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
	hits int
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.last = r.Clone(r.Context())
		u.hits++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "upstream saw "+r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastRequest(t *testing.T) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		t.Fatal("upstream received nothing")
	}
	return u.last
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits
}

const pw = "correct horse battery staple"

// gatewayWith starts a gateway with an open app at / and an admin-only
// app at /admin-only, both served by up.
func gatewayWith(t *testing.T, up *upstream, extra func(*config.Config)) *servertest.Gateway {
	return servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{
			{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 64},
			{PathPrefix: "/admin-only", Upstream: up.URL, Audience: "admin-app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 64,
				Allow: config.Allow{Roles: []string{"admin"}}},
			{PathPrefix: "/public", Upstream: up.URL, Audience: "public-app", Company: "acme", Public: true, Timeout: config.Duration(5 * time.Second), MaxIdleConns: 64},
		}
		if extra != nil {
			extra(c)
		}
	}})
}

func fetchJWKS(t *testing.T, g *servertest.Gateway) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(g.URL + "/.gatehouse/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// verifyAssertion checks the token exactly as an app would, with the JOSE
// library and the published JWKS, and returns its claims.
func verifyAssertion(t *testing.T, g *servertest.Gateway, token, audience string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("assertion does not parse: %v", err)
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		t.Fatal("assertion has no kid")
	}
	set := fetchJWKS(t, g)
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", kid)
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: g.URL, AnyAudience: jwt.Audience{audience}, Time: time.Now()}); err != nil {
		t.Fatalf("claims: %v", err)
	}
	if d := std.Expiry.Time().Sub(std.IssuedAt.Time()); d <= 0 || d > 5*time.Minute {
		t.Fatalf("exp - iat = %v, want (0, 5m]", d)
	}
	return all
}

func TestLoginProxyLogout(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	acct := g.CreateUser(t, account.NewAccount{Email: "Ada@Example.com", FirstName: "Ada", LastName: "Lovelace", Password: pw, CompanyID: "acme", Role: "manager", Language: "fr"})
	c := servertest.Client(t)

	// Signed out: a browser is sent to the login page with rd, an API gets 401 JSON.
	_, resp := g.Get(t, c, "/docs/page?x=1", "text/html")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/.gatehouse/login?rd="+url.QueryEscape("/docs/page?x=1") {
		t.Fatalf("signed-out browser: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	body, resp := g.Get(t, c, "/docs/page", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code"`) {
		t.Fatalf("signed-out API: %d %s", resp.StatusCode, body)
	}
	if up.count() != 0 {
		t.Fatal("an unauthenticated request reached the upstream")
	}

	g.Login(t, c, "ada@example.com", pw)
	body, resp = g.Get(t, c, "/docs/page", "text/html")
	if resp.StatusCode != http.StatusOK || body != "upstream saw /docs/page" {
		t.Fatalf("signed-in request: %d %s", resp.StatusCode, body)
	}
	r := up.lastRequest(t)
	claims := verifyAssertion(t, g, r.Header.Get("X-Gatehouse-Assertion"), "app")
	want := map[string]any{
		"sub": acct.ID, "email": "Ada@Example.com", "given_name": "Ada", "family_name": "Lovelace",
		"name": "Ada Lovelace", "locale": "fr", "role": "manager", "shared_computer": false,
		"company": "acme", "idp": "local", "aud": "app", "iss": g.URL,
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
		}
	}
	for _, k := range []string{"capabilities", "sites", "props", "grants", "amr", "sid", "iat", "exp"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
	if amr, _ := claims["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("amr = %v, want [pwd]", claims["amr"])
	}
	if caps, _ := claims["capabilities"].([]any); !containsAny(caps, "edit_objects") {
		t.Errorf("capabilities = %v, want edit_objects among them", claims["capabilities"])
	}
	if sites, _ := claims["sites"].([]any); len(sites) != 1 || sites[0] != "*" {
		t.Errorf("sites = %v, want [*] in the standard model", claims["sites"])
	}
	for h, v := range map[string]string{
		"X-Gatehouse-User": acct.ID, "X-Gatehouse-Email": "Ada@Example.com", "X-Gatehouse-Role": "manager",
		"X-Gatehouse-Shared-Computer": "false", "X-Forwarded-User": acct.ID, "X-Forwarded-Email": "Ada@Example.com",
	} {
		if got := r.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	if sid, _ := claims["sid"].(string); sid == "" || strings.Contains(r.Header.Get("Cookie"), sid) {
		t.Errorf("sid %q must be set and must not be the cookie", sid)
	}

	// whoami
	body, resp = g.Get(t, c, "/.gatehouse/whoami", "application/json")
	var who map[string]any
	if err := json.Unmarshal([]byte(body), &who); err != nil || resp.StatusCode != 200 {
		t.Fatalf("whoami: %d %s", resp.StatusCode, body)
	}
	if who["sub"] != acct.ID || who["idp"] != "local" {
		t.Errorf("whoami = %v", who)
	}
	if ms, _ := who["memberships"].([]any); len(ms) != 1 {
		t.Errorf("whoami memberships = %v", who["memberships"])
	}

	// Logout ends the session server-side: the old cookie replayed is dead.
	oldCookies := c.Jar.Cookies(mustURL(t, g.URL))
	token := g.CSRFToken(t, c, "/.gatehouse/logout")
	_, resp = g.PostForm(t, c, "/.gatehouse/logout", url.Values{"csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/.gatehouse/login") {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	replay := servertest.Client(t)
	replay.Jar.SetCookies(mustURL(t, g.URL), oldCookies)
	_, resp = g.Get(t, replay, "/docs/page", "application/json")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed cookie after logout: %d, want 401", resp.StatusCode)
	}
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}
