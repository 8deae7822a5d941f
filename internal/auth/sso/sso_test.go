package sso

import (
	"crypto/rand"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/providers"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

type sessionCall = SignIn

// env is a gateway with four providers, each backed by its own fake IdP.
type env struct {
	t        *testing.T
	clk      *clocktest.Clock
	st       store.Store
	gw       *httptest.Server
	h        *Handler
	idps     map[string]*providertest.Server
	mu       sync.Mutex
	sessions []sessionCall
}

const auth0Roles = "https://gatehouse.example.com/roles"

func newEnv(t *testing.T, jit map[string]config.JIT) *env {
	t.Helper()
	e := &env{t: t, clk: clocktest.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), idps: map[string]*providertest.Server{}}
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatalf("sqlite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	if err := st.CreateCompany(t.Context(), store.Company{ID: "acme", Name: "Acme", CreatedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.gw = httptest.NewServer(mux)
	t.Cleanup(e.gw.Close)
	public, _ := url.Parse(e.gw.URL)

	cfgs := []struct {
		cfg  config.Provider
		opts providertest.Options
	}{
		{config.Provider{ID: "corp", Type: "oidc", DisplayName: "Corp"}, providertest.Options{IssParameter: true}},
		{config.Provider{ID: "google", Type: "google", AllowedDomains: []string{"example.com"}}, providertest.Options{}},
		{config.Provider{ID: "ms", Type: "microsoft", AllowedTenants: []string{"tenant-a"}, AllowedDomains: []string{"contoso.com"}},
			providertest.Options{MultiTenant: true}},
		{config.Provider{ID: "auth0", Type: "auth0", RolesClaim: auth0Roles, RoleMap: map[string]string{"plant-managers": "manager"}},
			providertest.Options{Path: "/"}},
	}
	var ps []providers.Provider
	for _, c := range cfgs {
		c.opts.Now = e.clk.Now
		idp := providertest.New(c.opts)
		t.Cleanup(idp.Close)
		e.idps[c.cfg.ID] = idp
		c.cfg.Issuer = idp.Issuer
		c.cfg.ClientID = idp.ClientID()
		p, err := providers.New(t.Context(), c.cfg, providers.Options{
			ClientSecret: idp.ClientSecret(), RedirectURL: CallbackURL(public, c.cfg.ID),
			HTTPClient: idp.Client(), Now: e.clk.Now,
		})
		if err != nil {
			t.Fatalf("provider %s: %v", c.cfg.ID, err)
		}
		if s := p.Status(); s.State != providers.StateReady {
			t.Fatalf("provider %s: %+v", c.cfg.ID, s)
		}
		ps = append(ps, p)
	}
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{"viewer": true, "manager": true, "admin": true, "shared_computer": true}
	e.h = New(Deps{
		Providers: ps,
		JIT:       jit,
		Store:     st,
		StartSession: func(w http.ResponseWriter, r *http.Request, in SignIn) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.sessions = append(e.sessions, in)
			http.SetCookie(w, &http.Cookie{Name: "gatehouse_session", Value: "s-" + in.AccountID, Path: "/"})
			return nil
		},
		ValidateRedirect: func(rd string) string {
			if strings.HasPrefix(rd, "/") && !strings.HasPrefix(rd, "//") && !strings.Contains(rd, `\`) {
				return rd
			}
			return "/"
		},
		RenderError: func(w http.ResponseWriter, r *http.Request, status int, key string, vars ...string) {
			message := web.Fill(catalog.T(i18n.Negotiate("", r), key), vars...)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<!doctype html><p>%s</p><a href="/.gatehouse/login">Back to sign-in</a>`, html.EscapeString(message))
		},
		RoleExists: func(r string) bool { return roles[r] },
		Accounts:   account.NewService(st, nil, account.Standard(), password.NewHasher(password.DefaultParams(), 1, rand.Reader), e.clk.Now, rand.Reader),
		PublicURL:  public,
		Now:        e.clk.Now,
		Rand:       rand.Reader,
	})
	e.h.Mount(mux)
	return e
}

// browser is a client with a cookie jar that follows redirects through the
// provider and stops when the gateway sends it anywhere but the SSO routes.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return e.client(jar)
}

func (e *env) client(jar http.CookieJar) *http.Client {
	gw, _ := url.Parse(e.gw.URL)
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == gw.Host && !strings.HasPrefix(req.URL.Path, "/.gatehouse/sso/") {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

type result struct {
	status   int
	location string
	body     string
	url      *url.URL // the last URL requested
}

func (e *env) get(c *http.Client, u string) result {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), url: resp.Request.URL}
}

func (e *env) login(c *http.Client, provider, rd string) result {
	e.t.Helper()
	return e.get(c, e.gw.URL+"/.gatehouse/sso/"+provider+"/start?rd="+url.QueryEscape(rd))
}

func (e *env) calls() []sessionCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sessionCall(nil), e.sessions...)
}

// wantSignedIn checks a successful flow for account.
func (e *env) wantSignedIn(r result, rd, account, idp string) {
	e.t.Helper()
	if r.status != http.StatusSeeOther || r.location != rd {
		e.t.Fatalf("want 303 to %s, got %d %q: %s", rd, r.status, r.location, r.body)
	}
	calls := e.calls()
	if len(calls) == 0 {
		e.t.Fatal("no session started")
	}
	last := calls[len(calls)-1]
	if last.AccountID != account || last.IDP != idp || len(last.AMR) != 1 || last.AMR[0] != "fed" || last.IDTokenHint == "" {
		e.t.Fatalf("session %+v, want account %s idp %s", last, account, idp)
	}
}

// wantRefused checks a readable 4xx page and that no session started.
func (e *env) wantRefused(r result, status int, before int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("want %d, got %d %q: %s", status, r.status, r.location, r.body)
	}
	if !strings.Contains(r.body, "/.gatehouse/login") {
		e.t.Fatalf("error page without a link to the login page: %s", r.body)
	}
	if n := len(e.calls()); n != before {
		e.t.Fatalf("a session was started (%d calls, had %d)", n, before)
	}
}

func (e *env) createAccount(a store.Account) {
	e.t.Helper()
	if a.Kind == "" {
		a.Kind = store.KindPersonal
	}
	if a.Status == "" {
		a.Status = store.StatusActive
	}
	a.Language, a.DateFormat = "en", "MM/DD/YYYY"
	a.CreatedAt, a.UpdatedAt = e.clk.Now(), e.clk.Now()
	if err := e.st.CreateAccount(e.t.Context(), a); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.SetMembership(e.t.Context(), store.Membership{AccountID: a.ID, CompanyID: "acme", Role: "viewer", CreatedAt: e.clk.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

// jitID is the id of the account created just in time for email; the
// account service makes it, with its own "acc_" ids.
func (e *env) jitID(email string) string {
	e.t.Helper()
	a, err := e.st.GetAccountByEmail(e.t.Context(), email)
	if err != nil {
		e.t.Fatalf("no account for %s: %v", email, err)
	}
	if !strings.HasPrefix(a.ID, "acc_") {
		e.t.Fatalf("account %s was not made by the account service", a.ID)
	}
	return a.ID
}

func (e *env) account(id string) store.Account {
	e.t.Helper()
	a, err := e.st.GetAccount(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) auditHas(action, outcome string) bool {
	evs, err := e.st.ListAudit(e.t.Context(), store.AuditQuery{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Outcome == outcome {
			return true
		}
	}
	return false
}

func TestSignInLinksPreCreatedAccount(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "Ada@Example.com", SignIn: "sso:corp", Status: store.StatusInvited})
	c := e.browser()
	r := e.login(c, "corp", "/app/page?x=1")
	e.wantSignedIn(r, "/app/page?x=1", "a1", "corp")

	// Linked, activated, names taken from the provider.
	link, err := e.st.GetIdentity(t.Context(), "corp", "user-1")
	if err != nil || link.AccountID != "a1" {
		t.Fatalf("link %+v %v", link, err)
	}
	a := e.account("a1")
	if a.Status != store.StatusActive || a.FirstName != "Ada" || a.LastName != "Lovelace" {
		t.Fatalf("account %+v", a)
	}
	if !e.auditHas("sso.link", "ok") || !e.auditHas("login.success", "ok") {
		t.Fatal("audit events missing")
	}
	// The authorize request carried state, nonce, PKCE S256 and our callback.
	q := e.idps["corp"].LastAuthorize()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" ||
		q.Get("redirect_uri") != e.gw.URL+"/.gatehouse/sso/corp/callback" {
		t.Fatalf("authorize request %v", q)
	}
}

func TestStartSetsBindingCookie(t *testing.T) {
	e := newEnv(t, nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.gw.URL + "/.gatehouse/sso/corp/start?rd=//evil.example")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idps["corp"].URL+"/authorize?") {
		t.Fatalf("start: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "gatehouse_sso" {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 600 {
				t.Fatalf("cookie %+v", ck)
			}
		}
	}
	if !found {
		t.Fatal("no binding cookie")
	}
	if r := e.get(c, e.gw.URL+"/.gatehouse/sso/nope/start"); r.status != http.StatusNotFound {
		t.Fatalf("unknown provider: %d", r.status)
	}
	// https public URL: a __Host- cookie, Secure.
	h := New(Deps{PublicURL: &url.URL{Scheme: "https", Host: "gate.example.com"}})
	if h.cookieName != "__Host-gatehouse_sso" || !h.secure {
		t.Fatalf("cookie name %q secure %v", h.cookieName, h.secure)
	}
}

func TestUnsafeRedirectFallsBackToRoot(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})
	e.wantSignedIn(e.login(e.browser(), "corp", "https://evil.example/"), "/", "a1", "corp")
}

func TestTokenFaultsFailClosed(t *testing.T) {
	faults := map[string]providertest.Fault{
		"wrong iss":                         providertest.WrongIssuer,
		"aud without our client id":         providertest.ForeignAudience,
		"several aud, no azp":               providertest.ExtraAudienceNoAZP,
		"several aud, other azp":            providertest.ExtraAudienceWrongAZP,
		"expired":                           providertest.Expired,
		"iat in future":                     providertest.IssuedInFuture,
		"bad signature":                     providertest.BadSignature,
		"alg none":                          providertest.AlgNone,
		"HS256 with the public key":         providertest.HS256PublicKey,
		"missing nonce":                     providertest.MissingNonce,
		"wrong nonce":                       providertest.WrongNonce,
		"unknown kid":                       providertest.UnknownKid,
		"missing sub":                       providertest.MissingSubject,
		"foreign iss in authorization resp": providertest.ForeignIssuerInResponse,
	}
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			e.t = t
			e.idps["corp"].Break(f)
			before := len(e.calls())
			tokens := e.idps["corp"].TokenRequests()
			e.wantRefused(e.login(e.browser(), "corp", "/"), http.StatusBadRequest, before)
			if f == providertest.ForeignIssuerInResponse && e.idps["corp"].TokenRequests() != tokens {
				t.Fatal("the code was redeemed despite a foreign iss")
			}
		})
	}
	e.t = t
	if !e.auditHas("sso.failure", "error") {
		t.Fatal("integration failures not audited")
	}
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
}

func TestStateChecks(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})

	// Drive the flow by hand to get at the callback URL.
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	callbackURL := func(c *http.Client) string {
		r := e.get(c, e.gw.URL+"/.gatehouse/sso/corp/start?rd=/x")
		r = e.get(c, r.location) // the provider approves and sends us back
		if !strings.HasPrefix(r.location, e.gw.URL+"/.gatehouse/sso/corp/callback?") {
			t.Fatalf("provider redirect %q", r.location)
		}
		return r.location
	}

	// Replayed state: the second use is refused.
	cb := callbackURL(noFollow)
	e.wantSignedIn(e.get(noFollow, cb), "/x", "a1", "corp")
	e.wantRefused(e.get(noFollow, cb), http.StatusBadRequest, len(e.calls()))

	// Tampered state.
	cb = callbackURL(noFollow)
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("state", q.Get("state")+"x")
	u.RawQuery = q.Encode()
	e.wantRefused(e.get(noFollow, u.String()), http.StatusBadRequest, len(e.calls()))

	// State from another browser: no binding cookie there.
	cb = callbackURL(noFollow)
	other, _ := cookiejar.New(nil)
	e.wantRefused(e.get(e.client(other), cb), http.StatusBadRequest, len(e.calls()))
	// ...and the state is burnt: the right browser cannot use it either now.
	e.wantRefused(e.get(noFollow, cb), http.StatusBadRequest, len(e.calls()))

	// Expired state.
	cb = callbackURL(noFollow)
	e.clk.Add(11 * time.Minute)
	e.wantRefused(e.get(noFollow, cb), http.StatusBadRequest, len(e.calls()))
	e.clk.Add(-11 * time.Minute)

	// No state at all.
	e.wantRefused(e.get(noFollow, e.gw.URL+"/.gatehouse/sso/corp/callback?code=x"), http.StatusBadRequest, len(e.calls()))

	// A state minted for one provider, presented at another's callback.
	cb = callbackURL(noFollow)
	e.wantRefused(e.get(noFollow, strings.Replace(cb, "/sso/corp/", "/sso/google/", 1)), http.StatusBadRequest, len(e.calls()))

	// Two tabs of the same browser both complete.
	c := e.browser()
	tab := &http.Client{Jar: c.Jar, CheckRedirect: noFollow.CheckRedirect}
	first := e.get(tab, e.gw.URL+"/.gatehouse/sso/corp/start?rd=/one")
	second := e.get(tab, e.gw.URL+"/.gatehouse/sso/corp/start?rd=/two")
	e.wantSignedIn(e.get(c, first.location), "/one", "a1", "corp")
	e.wantSignedIn(e.get(c, second.location), "/two", "a1", "corp")
}

func TestProviderErrorResponse(t *testing.T) {
	e := newEnv(t, nil)
	e.idps["corp"].Break(providertest.AccessDenied)
	r := e.login(e.browser(), "corp", "/")
	e.wantRefused(r, http.StatusForbidden, 0)
	if strings.Contains(r.body, "The user said no") {
		t.Fatal("the provider's error_description was shown")
	}
	if !e.auditHas("sso.provider_error", "error") {
		t.Fatal("provider error not audited")
	}
}

func TestKeyRotationFollowed(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	e.idps["corp"].RotateKey()
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
}

func TestMicrosoftTenants(t *testing.T) {
	e := newEnv(t, map[string]config.JIT{"ms": {Enabled: true, Company: "acme", Role: "viewer"}})
	ms := e.idps["ms"]
	ms.SetUser(providertest.User{Subject: "pairwise", Email: "ada@contoso.com", GivenName: "Ada",
		Claims: map[string]any{"tid": "tenant-b", "oid": "o1"}})
	r := e.login(e.browser(), "ms", "/")
	e.wantRefused(r, http.StatusForbidden, 0)
	if !e.auditHas("sso.denied", "denied") {
		t.Fatal("denied tenant not audited")
	}

	ms.SetUser(providertest.User{Subject: "pairwise", Email: "ada@contoso.com", GivenName: "Ada", FamilyName: "L",
		Claims: map[string]any{"tid": "tenant-a", "oid": "o1"}})
	e.wantSignedIn(e.login(e.browser(), "ms", "/"), "/", e.jitID("ada@contoso.com"), "ms")
	if _, err := e.st.GetIdentity(t.Context(), "ms", "tenant-a:o1"); err != nil {
		t.Fatalf("link keyed on tid:oid: %v", err)
	}
}

func TestGoogleHostedDomainRequired(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:google"})
	g := e.idps["google"]
	g.SetUser(providertest.User{Subject: "g1", Email: "ada@example.com", EmailVerified: true})
	e.wantRefused(e.login(e.browser(), "google", "/"), http.StatusForbidden, 0)
	g.SetUser(providertest.User{Subject: "g1", Email: "ada@example.com", EmailVerified: true, Claims: map[string]any{"hd": "example.com"}})
	e.wantSignedIn(e.login(e.browser(), "google", "/"), "/", "a1", "google")
}

func TestNoTakeover(t *testing.T) {
	e := newEnv(t, map[string]config.JIT{"corp": {Enabled: true, Company: "acme", Role: "viewer"}})
	// A password account with the same (verified) email is never taken over,
	// not even with JIT on.
	e.createAccount(store.Account{ID: "pw", Email: "ada@example.com", SignIn: "password"})
	e.wantRefused(e.login(e.browser(), "corp", "/"), http.StatusForbidden, 0)
	// Nor an account meant for another provider.
	e.createAccount(store.Account{ID: "g", Email: "bob@example.com", SignIn: "sso:google"})
	e.idps["corp"].SetUser(providertest.User{Subject: "bob", Email: "bob@example.com", EmailVerified: true})
	e.wantRefused(e.login(e.browser(), "corp", "/"), http.StatusForbidden, 0)
	if _, err := e.st.GetIdentity(t.Context(), "corp", "user-1"); err == nil {
		t.Fatal("a link was made")
	}
}

func TestUnverifiedEmailDoesNotLink(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp", Status: store.StatusInvited})
	e.idps["corp"].SetUser(providertest.User{Subject: "u9", Email: "ada@example.com", EmailVerified: false})
	r := e.login(e.browser(), "corp", "/")
	e.wantRefused(r, http.StatusForbidden, 0)
	if !strings.Contains(r.body, "No account for this identity") {
		t.Fatalf("page %s", r.body)
	}
	if a := e.account("a1"); a.Status != store.StatusInvited {
		t.Fatal("account changed")
	}
}

func TestJIT(t *testing.T) {
	// Off: 403.
	e := newEnv(t, nil)
	e.wantRefused(e.login(e.browser(), "corp", "/"), http.StatusForbidden, 0)

	// On: created active, personal, sso:corp, member of the JIT company.
	e = newEnv(t, map[string]config.JIT{"corp": {Enabled: true, Company: "acme", Role: "viewer"}})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", e.jitID("ada@example.com"), "corp")
	a := e.account(e.jitID("ada@example.com"))
	if a.Status != store.StatusActive || a.Kind != store.KindPersonal || a.SignIn != "sso:corp" || a.Email != "ada@example.com" {
		t.Fatalf("account %+v", a)
	}
	ms, _ := e.st.ListMemberships(t.Context(), a.ID)
	if len(ms) != 1 || ms[0].CompanyID != "acme" || ms[0].Role != "viewer" {
		t.Fatalf("memberships %+v", ms)
	}
	// The second sign-in reuses the link.
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", e.jitID("ada@example.com"), "corp")
	if n, _ := e.st.CountAccounts(t.Context()); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	// JIT never creates around an unverified email.
	e.idps["corp"].SetUser(providertest.User{Subject: "u2", Email: "x@example.com", EmailVerified: false})
	e.wantRefused(e.login(e.browser(), "corp", "/"), http.StatusForbidden, 2)
}

func TestAuth0RoleMap(t *testing.T) {
	e := newEnv(t, map[string]config.JIT{"auth0": {Enabled: true, Company: "acme", Role: "viewer"}})
	a0 := e.idps["auth0"]
	a0.SetUser(providertest.User{Subject: "google-oauth2|123", Email: "ada@example.com", EmailVerified: true,
		Claims: map[string]any{auth0Roles: []string{"plant-managers"}}})
	e.wantSignedIn(e.login(e.browser(), "auth0", "/"), "/", e.jitID("ada@example.com"), "auth0")
	if _, err := e.st.GetIdentity(t.Context(), "auth0", "google-oauth2|123"); err != nil {
		t.Fatalf("subject not kept as is: %v", err)
	}
	ms, _ := e.st.ListMemberships(t.Context(), e.jitID("ada@example.com"))
	if len(ms) != 1 || ms[0].Role != "manager" {
		t.Fatalf("memberships %+v", ms)
	}
}

func TestNamesRefreshedLinkNeverRekeys(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp", FirstName: "A", LastName: "L"})
	e.createAccount(store.Account{ID: "a2", Email: "taken@example.com", SignIn: "sso:corp"})
	corp := e.idps["corp"]
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")

	corp.SetUser(providertest.User{Subject: "user-1", Email: "ada.byron@example.com", EmailVerified: true, GivenName: "Augusta", FamilyName: "King"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	if a := e.account("a1"); a.FirstName != "Augusta" || a.LastName != "King" || a.Email != "ada.byron@example.com" {
		t.Fatalf("not refreshed: %+v", a)
	}
	// Unverified email: not taken. An email of another account: not taken,
	// and the identity stays on its account.
	corp.SetUser(providertest.User{Subject: "user-1", Email: "new@example.com", EmailVerified: false, GivenName: "Augusta"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	corp.SetUser(providertest.User{Subject: "user-1", Email: "taken@example.com", EmailVerified: true, GivenName: "Augusta"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	if a := e.account("a1"); a.Email != "ada.byron@example.com" {
		t.Fatalf("email changed to %q", a.Email)
	}
}

func TestDisabledAccountsRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "a1", Email: "ada@example.com", SignIn: "sso:corp"})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "a1", "corp")
	for _, status := range []string{store.StatusBlocked, store.StatusDeactivated} {
		if _, err := e.st.UpdateAccount(t.Context(), "a1", func(a *store.Account) error { a.Status = status; return nil }); err != nil {
			t.Fatal(err)
		}
		r := e.login(e.browser(), "corp", "/")
		e.wantRefused(r, http.StatusForbidden, 1)
		if !strings.Contains(r.body, "disabled") {
			t.Fatalf("page %s", r.body)
		}
	}
}

func TestSharedFlagPassed(t *testing.T) {
	e := newEnv(t, nil)
	e.createAccount(store.Account{ID: "ws", Email: "ada@example.com", SignIn: "sso:corp", Kind: store.KindSharedComputer})
	e.wantSignedIn(e.login(e.browser(), "corp", "/"), "/", "ws", "corp")
	if !e.calls()[0].Shared {
		t.Fatal("shared flag not passed")
	}
}
