package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mfaBrowser drives one Chromium tab through the second-factor pages.
type mfaBrowser struct {
	t   *testing.T
	ctx context.Context
	g   *servertest.Gateway
	now func() time.Time
}

func (b mfaBrowser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		browsertest.Screenshot(b.t, b.ctx, strings.ReplaceAll(b.t.Name(), "/", "_"))
		b.t.Fatal(err)
	}
}

// password signs in on the login page (or the form at page) with rd.
func (b mfaBrowser) password(email, rd string) {
	b.t.Helper()
	pkClearCookies(b.t, b.ctx)
	b.run(chromedp.Navigate(b.g.URL+"/.gatehouse/login?rd="+url.QueryEscape(rd)),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", pw), chromedp.Click("#login-submit"))
}

// code types a code on the page's code form and submits it.
func (b mfaBrowser) code(c string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible("#code"), chromedp.SetValue("#code", c), chromedp.Submit("#code"))
}

// totp is the code an authenticator app shows now for secret.
func (b mfaBrowser) totp(secret string) string {
	b.t.Helper()
	c, err := totp.GenerateCode(secret, b.now())
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

func (b mfaBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		browsertest.Screenshot(b.t, b.ctx, strings.ReplaceAll(b.t.Name(), "/", "_"))
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b mfaBrowser) has(sel string) bool {
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
	return err == nil && ok
}

func jsString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}

// setUp turns on the authenticator app on the set-up page the browser is
// on and returns the key and the recovery codes.
func (b mfaBrowser) setUp() (string, []string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible("#mfa-secret"))
	secret := strings.TrimSpace(b.text("#mfa-secret"))
	if !b.has("#mfa-qr") {
		b.t.Fatal("no QR code on the set-up page")
	}
	b.code(b.totp(secret))
	b.run(chromedp.WaitVisible("#mfa-recovery-codes"))
	codes := strings.Fields(b.text("#mfa-recovery-codes"))
	if len(codes) != 10 {
		b.t.Fatalf("recovery codes %v, want 10", codes)
	}
	return secret, codes
}

// assertionClaims reads the assertion's payload; its signature and times
// are checked elsewhere (this test moves the gateway's clock ahead).
func assertionClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &claims)
	}
	if err != nil {
		t.Fatalf("assertion payload: %v", err)
	}
	return claims
}

// successes counts the sign-ins so far.
func successes(t *testing.T, g *servertest.Gateway) int {
	t.Helper()
	events, err := g.Store.ListAudit(context.Background(), store.AuditQuery{Action: "login.success", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func TestMFAInBrowser(t *testing.T) {
	up := newUpstream(t)
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	// Each sign-in with a code moves the clock one step on, as a person
	// would wait for the next code: the last one used is refused.
	nextStep := func() { offset.Add(int64(30 * time.Second)) }
	route := func(prefix string, allow config.Allow) config.Route {
		return config.Route{PathPrefix: prefix, Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 8, Allow: allow}
	}
	g := servertest.Start(t, servertest.Options{Now: clock, Configure: func(c *config.Config) {
		c.Roles = "../../config/roles/standard-mfa.yaml" // admins need two factors
		c.Routes = []config.Route{
			route("/fresh/", config.Allow{MaxAge: config.Duration(2 * time.Minute)}),
			route("/hwk/", config.Allow{AMR: []string{"hwk"}}),
			route("/", config.Allow{}),
		}
	}})
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Password: pw, CompanyID: "acme", CreateCompany: true, Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "boss@example.com", FirstName: "Grace", LastName: "Hopper", Password: pw, CompanyID: "acme", Role: "admin"})
	g.CreateUser(t, account.NewAccount{Email: "bob@example.com", FirstName: "Bob", LastName: "Builder", Password: pw, CompanyID: "acme", Role: "viewer"})
	// Each part gets a browser of its own, and so its own time budget.
	b := mfaBrowser{g: g, now: clock}
	var secret string
	var recovery []string

	t.Run("set up on the account page, sign in with a code", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		b.password("ada@example.com", "/")
		pkWaitPath(t, b.ctx, "/") // no second factor yet: straight in
		b.run(chromedp.Navigate(g.URL + "/.gatehouse/account/mfa"))
		secret, recovery = b.setUp()
		if !pkAuditHas(t, g, "mfa.enrol", "ok") {
			t.Error("set-up not audited")
		}
		nextStep()
		b.password("ada@example.com", "/after-code")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		used := b.totp(secret)
		b.code(used)
		pkWaitPath(t, b.ctx, "/after-code")
		if amr := pkWhoamiAMR(t, b.ctx, g); !slices.Equal(amr, []any{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr = %v, want [pwd otp mfa]", amr)
		}
		claims := assertionClaims(t, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"))
		if at, _ := claims["auth_time"].(float64); at == 0 || int64(at) > clock().Unix() || int64(at) < clock().Unix()-60 {
			t.Fatalf("auth_time = %v, want the sign-in time", claims["auth_time"])
		}
		// The same code again is a replay, even within its window.
		b.password("ada@example.com", "/")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(used)
		b.run(chromedp.WaitVisible("#mfa-error"))
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
	})

	t.Run("recovery code, single use", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		b.password("ada@example.com", "/recovered")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(recovery[0])
		pkWaitPath(t, b.ctx, "/recovered")
		b.password("ada@example.com", "/recovered-again")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(recovery[0])
		b.run(chromedp.WaitVisible("#mfa-error"))
		if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); strings.Contains(loc, "recovered-again") {
			t.Fatal("a used recovery code signed in again")
		}
		// Nothing was reachable meanwhile: the password alone made no session.
		body, resp := g.Get(t, servertest.Client(t), "/.gatehouse/whoami", "application/json")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("whoami without a session: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("admin role requires MFA: set-up forced after the password", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		b.password("boss@example.com", "/boss-home")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/setup")
		// Nothing else is reachable before the set-up is done.
		b.run(chromedp.Navigate(g.URL + "/.gatehouse/admin/"))
		pkWaitPath(t, b.ctx, "/.gatehouse/login")
		b.run(chromedp.Navigate(g.URL + "/.gatehouse/mfa/setup"))
		_, codes := b.setUp()
		if len(codes) != 10 {
			t.Fatal("no recovery codes")
		}
		b.run(chromedp.Click("#mfa-continue"))
		pkWaitPath(t, b.ctx, "/boss-home")
		if amr := pkWhoamiAMR(t, b.ctx, g); !slices.Contains(amr, any("mfa")) {
			t.Fatalf("amr = %v, want mfa", amr)
		}
	})

	t.Run("max_age step-up returns to the original URL", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		nextStep()
		b.password("ada@example.com", "/fresh/report")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(b.totp(secret))
		pkWaitPath(t, b.ctx, "/fresh/report") // fresh enough: no step-up
		offset.Add(int64(3 * time.Minute))    // the sign-in is now older than max_age
		b.run(chromedp.Navigate(g.URL + "/fresh/report?id=7"))
		loc := pkWaitPath(t, b.ctx, "/.gatehouse/reauth")
		if u, _ := url.Parse(loc); u.Query().Get("rd") != "/fresh/report?id=7" {
			t.Fatalf("re-authentication page at %s, want rd=/fresh/report?id=7", loc)
		}
		b.run(chromedp.SendKeys("#email", "ada@example.com"), chromedp.SendKeys("#password", pw), chromedp.Click("#login-submit"))
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(b.totp(secret))
		loc = pkWaitPath(t, b.ctx, "/fresh/report")
		if u, _ := url.Parse(loc); u.RawQuery != "id=7" {
			t.Fatalf("back at %s, want the original query", loc)
		}
	})

	t.Run("removal asks for the password again", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		nextStep()
		b.password("ada@example.com", "/")
		pkWaitPath(t, b.ctx, "/.gatehouse/mfa/code")
		b.code(b.totp(secret))
		pkWaitPath(t, b.ctx, "/")
		b.run(chromedp.Navigate(g.URL+"/.gatehouse/account/"), chromedp.Click("#mfa-link"), chromedp.WaitVisible("#mfa-remove-form"))
		b.run(chromedp.SendKeys("#password", "not the password at all"), chromedp.Click("#mfa-remove"), chromedp.WaitVisible("#mfa-error"))
		if !b.has("#mfa-remove-form") {
			t.Fatal("a wrong password removed the second factor")
		}
		b.run(chromedp.SendKeys("#password", pw), chromedp.Click("#mfa-remove"), chromedp.WaitVisible("#mfa-secret"))
		if !pkAuditHas(t, g, "mfa.remove", "ok") || !pkAuditHas(t, g, "mfa.remove", "denied") {
			t.Error("removal not audited")
		}
		b.password("ada@example.com", "/no-code")
		pkWaitPath(t, b.ctx, "/no-code") // no second factor any more
	})

	t.Run("hwk route refuses a password and a synced passkey, accepts a device-bound one", func(t *testing.T) {
		b.t, b.ctx = t, browsertest.New(t)
		b.password("bob@example.com", "/")
		pkWaitPath(t, b.ctx, "/")
		b.run(chromedp.Navigate(g.URL + "/hwk/x"))
		pkWaitPath(t, b.ctx, "/.gatehouse/reauth")
		if b.has("#reauth-password-form") {
			t.Error("the re-authentication page offers a password where only hwk qualifies")
		}

		register := func(name string, synced bool) {
			// The account page first: the re-authentication page's passkey
			// autofill must not meet the new authenticator.
			rows := `document.querySelectorAll("#passkeys tbody tr").length`
			b.run(chromedp.Navigate(g.URL + "/.gatehouse/account/"))
			auth := pkAuthenticator(t, b.ctx, synced)
			had, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](rows))
			if err != nil {
				t.Fatal(err)
			}
			b.run(chromedp.SendKeys("#passkey-name", name), chromedp.Click("#passkey-add"))
			// The page reloads with one more passkey once it is registered.
			deadline := time.Now().Add(15 * time.Second)
			for {
				n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](rows))
				ready, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`))
				if err == nil && n == had+1 && ready {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("passkey %q not registered", name)
				}
				time.Sleep(100 * time.Millisecond)
			}
			pkClearCookies(t, b.ctx)
			before := successes(t, g)
			b.run(chromedp.Navigate(g.URL + "/.gatehouse/reauth?rd=" + url.QueryEscape("/hwk/x")))
			if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.firstPage = true`)); err != nil {
				t.Fatal(err)
			}
			pkOpenAndClick(t, b.ctx, "", "passkey-login")
			if synced {
				// Signed in, but a synced passkey is not hwk: the
				// browser lands on the re-authentication page again (a
				// new page load, once the sign-in is done).
				deadline := time.Now().Add(15 * time.Second)
				for {
					reloaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.firstPage !== true && document.readyState === "complete"`))
					if successes(t, g) > before && err == nil && reloaded {
						break
					}
					if time.Now().After(deadline) {
						browsertest.Screenshot(t, b.ctx, "synced")
						t.Fatal("the synced passkey did not sign in and come back")
					}
					time.Sleep(100 * time.Millisecond)
				}
				// The page's passkey autofill would sign in again with the
				// same key: take it away first.
				pkRemoveAuthenticator(t, b.ctx, auth)
				pkWaitPath(t, b.ctx, "/.gatehouse/reauth")
				events, err := g.Store.ListAudit(context.Background(), store.AuditQuery{Action: "login.success", Limit: 1})
				if err != nil || len(events) != 1 || events[0].Details["amr"] != "swk" {
					t.Fatalf("last sign-in %+v (%v), want a synced passkey (swk)", events, err)
				}
				return
			}
			pkWaitPath(t, b.ctx, "/hwk/x")
			claims := assertionClaims(t, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"))
			if amr, _ := claims["amr"].([]any); !slices.Equal(amr, []any{"hwk"}) {
				t.Fatalf("amr = %v, want [hwk]", claims["amr"])
			}
			pkRemoveAuthenticator(t, b.ctx, auth)
		}
		register("Phone", true)
		register("This laptop", false)
	})

	t.Run("verify answers step-up for forward-auth", func(t *testing.T) {
		c := servertest.Client(t)
		g.Login(t, c, "bob@example.com", pw)
		ask := func(accept string) *http.Response {
			req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
			req.Header.Set("X-Forwarded-Host", "app.example.com")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-Uri", "/hwk/report?id=7")
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		resp := ask("application/json")
		var body struct {
			Error struct {
				Code     string `json:"code"`
				Required struct {
					AMR []string `json:"amr"`
				} `json:"required"`
			} `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusUnauthorized ||
			body.Error.Code != "step_up_required" || !slices.Equal(body.Error.Required.AMR, []string{"hwk"}) {
			t.Fatalf("verify: %d %+v (%v)", resp.StatusCode, body, err)
		}
		resp = ask("text/html")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || g.URL+loc.Path != g.URL+"/.gatehouse/reauth" ||
			!strings.HasPrefix(resp.Header.Get("Location"), g.URL) || loc.Query().Get("rd") != "https://app.example.com/hwk/report?id=7" {
			t.Fatalf("verify for a browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The same session on a route without step-up settings: as before.
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
		req.Header.Set("X-Forwarded-Host", "app.example.com")
		req.Header.Set("X-Forwarded-Uri", "/plain")
		r2, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusOK {
			t.Fatalf("verify on a plain route: %d", r2.StatusCode)
		}
	})
}
