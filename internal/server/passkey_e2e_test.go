package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// authenticator adds a virtual platform authenticator to the browser tab;
// synced sets the backup flags a password manager's passkey would carry.
func pkAuthenticator(t *testing.T, ctx context.Context, synced bool) cdpwebauthn.AuthenticatorID {
	t.Helper()
	var id cdpwebauthn.AuthenticatorID
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport:      cdpwebauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
				AutomaticPresenceSimulation: true,
				DefaultBackupEligibility:    synced, DefaultBackupState: synced,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	return id
}

func pkRemoveAuthenticator(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdpwebauthn.RemoveVirtualAuthenticator, cdpwebauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// setSignCount rewinds or advances the authenticator's only credential.
func pkSetSignCount(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID, count float64) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		creds, err := cdp.Call(ctx, tg, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: id})
		if err != nil {
			return err
		}
		if len(creds.Credentials) != 1 {
			t.Fatalf("authenticator holds %d credentials, want 1", len(creds.Credentials))
		}
		_, err = cdp.Call(ctx, tg, cdpwebauthn.SetCredentialProperties, cdpwebauthn.SetCredentialPropertiesParams{
			AuthenticatorID: id, CredentialID: creds.Credentials[0].CredentialID, SignCount: &count,
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// pkOpenAndClick loads u (unless empty) and clicks the element with id in
// page script, which neither races a navigation nor holds a stale node.
func pkOpenAndClick(t *testing.T, ctx context.Context, u, id string) {
	t.Helper()
	if u != "" {
		if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var b=document.getElementById("`+id+`");if(b&&!b.disabled){b.click();return true}return false})()`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not click #%s: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pkClearCookies(t *testing.T, ctx context.Context) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// waitPath polls the tab's location until its path is want.
func pkWaitPath(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil {
			if u, perr := url.Parse(loc); perr == nil && u.Path == want {
				return loc
			}
		}
		if time.Now().After(deadline) {
			browsertest.Screenshot(t, ctx, strings.ReplaceAll(t.Name(), "/", "_"))
			msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("passkey-message")||{}).textContent||""`))
			t.Fatalf("browser at %q (message %q), want path %s", loc, msg, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMessage waits for the passkey message box to show text.
func pkWaitMessage(t *testing.T, ctx context.Context) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var b=document.getElementById("passkey-message");return b&&!b.hidden?b.textContent:""})()`))
		if err == nil && msg != "" {
			return msg
		}
		if time.Now().After(deadline) {
			browsertest.Screenshot(t, ctx, strings.ReplaceAll(t.Name(), "/", "_"))
			t.Fatal("no passkey message appeared")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pkApiCall(t *testing.T, g *servertest.Gateway, c *http.Client, csrf, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func pkAuditHas(t *testing.T, g *servertest.Gateway, action, outcome string) bool {
	t.Helper()
	events, err := g.Store.ListAudit(context.Background(), store.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == action && e.Outcome == outcome {
			return true
		}
	}
	return false
}

func pkWhoamiAMR(t *testing.T, ctx context.Context, g *servertest.Gateway) []any {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/whoami")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	var who map[string]any
	if err := json.Unmarshal([]byte(text), &who); err != nil {
		t.Fatalf("whoami: %v: %s", err, text)
	}
	amr, _ := who["amr"].([]any)
	return amr
}

func TestPasskeysInBrowser(t *testing.T) {
	up := newUpstream(t)
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	g := servertest.Start(t, servertest.Options{Now: clock, Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 8}}
	}})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", FirstName: "Ada", LastName: "Admin", Password: pw, CompanyID: "acme", CreateCompany: true, Role: "admin"})
	ada := g.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Password: pw, CompanyID: "acme", Role: "viewer"})
	floor := g.CreateUser(t, account.NewAccount{Email: "floor1@example.com", FirstName: "Floor", LastName: "One", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/account/")

	ctx := browsertest.New(t)

	// A person registers a synced passkey on the account page and signs in with it.
	t.Run("personal", func(t *testing.T) {
		auth := pkAuthenticator(t, ctx, true)
		defer pkRemoveAuthenticator(t, ctx, auth)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(g.URL+"/.gatehouse/login"),
			chromedp.SendKeys("#email", "ada@example.com"),
			chromedp.SendKeys("#password", pw),
			chromedp.Click("#login-submit"),
		); err != nil {
			t.Fatal(err)
		}
		pkWaitPath(t, ctx, "/")
		if err := chromedp.Do(ctx,
			chromedp.Navigate(g.URL+"/.gatehouse/account/"),
			chromedp.SendKeys("#passkey-name", "Laptop"),
			chromedp.Click("#passkey-add"),
		); err != nil {
			t.Fatal(err)
		}
		pkWaitPath(t, ctx, "/.gatehouse/account/")
		if err := chromedp.Do(ctx, chromedp.WaitVisible("#passkeys")); err != nil {
			t.Fatal(err)
		}
		table, _ := chromedp.Run(ctx, chromedp.Text("#passkeys"))
		if !strings.Contains(table, "synced") {
			t.Errorf("passkey table does not show a synced passkey: %q", table)
		}
		if !pkAuditHas(t, g, "passkey.register", "ok") {
			t.Error("registration not audited")
		}

		pkClearCookies(t, ctx)
		pkOpenAndClick(t, ctx, g.URL+"/.gatehouse/login?rd=/after", "passkey-login")
		pkWaitPath(t, ctx, "/after")
		if amr := pkWhoamiAMR(t, ctx, g); !slices.Contains(amr, any("swk")) {
			t.Fatalf("amr = %v, want swk", amr)
		}

		// The admin revokes it: the list shows it, the delete ends the session.
		code, list := pkApiCall(t, g, admin, csrf, http.MethodGet, "/.gatehouse/api/v1/accounts/"+ada.ID+"/credentials", "")
		creds, _ := list["credentials"].([]any)
		if code != http.StatusOK || len(creds) != 1 {
			t.Fatalf("list credentials: %d %v", code, list)
		}
		credID := creds[0].(map[string]any)["id"].(string)
		if code, body := pkApiCall(t, g, admin, csrf, http.MethodDelete, "/.gatehouse/api/v1/accounts/"+ada.ID+"/credentials/"+credID, ""); code != http.StatusNoContent {
			t.Fatalf("revoke: %d %v", code, body)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/whoami")); err != nil {
			t.Fatal(err)
		}
		if text, _ := chromedp.Run(ctx, chromedp.Text("body")); !strings.Contains(text, "error") {
			t.Fatalf("session survived the revocation: %s", text)
		}
		if !pkAuditHas(t, g, "passkey.revoke", "ok") {
			t.Error("revocation not audited")
		}
	})

	t.Run("workstation", func(t *testing.T) {
		pkClearCookies(t, ctx)
		// Only shared-computer accounts get enrolment links.
		if code, _ := pkApiCall(t, g, admin, csrf, http.MethodPost, "/.gatehouse/api/v1/accounts/"+ada.ID+"/enrolments", ""); code != http.StatusConflict {
			t.Errorf("enrolment for a personal account: %d, want 409", code)
		}
		code, out := pkApiCall(t, g, admin, csrf, http.MethodPost, "/.gatehouse/api/v1/accounts/"+floor.ID+"/enrolments", `{"name":"Press 4"}`)
		link, _ := out["url"].(string)
		if code != http.StatusCreated || !strings.HasPrefix(link, g.URL+"/.gatehouse/enrol?token=") {
			t.Fatalf("create enrolment: %d %v", code, out)
		}
		if _, err := time.Parse(time.RFC3339, out["expires_at"].(string)); err != nil {
			t.Fatalf("expires_at: %v", err)
		}

		// A synced passkey is refused and the link stays usable.
		synced := pkAuthenticator(t, ctx, true)
		if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#enrol-start"), chromedp.Click("#enrol-start")); err != nil {
			t.Fatal(err)
		}
		if msg := pkWaitMessage(t, ctx); !strings.Contains(msg, "stays on this device") {
			t.Fatalf("synced enrolment message: %q", msg)
		}
		pkRemoveAuthenticator(t, ctx, synced)
		if creds, _ := pkApiCall(t, g, admin, csrf, http.MethodGet, "/.gatehouse/api/v1/accounts/"+floor.ID+"/credentials", ""); creds != http.StatusOK {
			t.Fatal("listing credentials")
		}
		_, list := pkApiCall(t, g, admin, csrf, http.MethodGet, "/.gatehouse/api/v1/accounts/"+floor.ID+"/credentials", "")
		if l, _ := list["credentials"].([]any); len(l) != 0 {
			t.Fatalf("a synced credential was registered: %v", list)
		}

		// The workstation's own authenticator enrols.
		device := pkAuthenticator(t, ctx, false)
		if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#enrol-start"), chromedp.Click("#enrol-start"), chromedp.WaitVisible("#enrol-login")); err != nil {
			t.Fatal(err)
		}
		if !pkAuditHas(t, g, "passkey.enrol", "ok") || !pkAuditHas(t, g, "passkey.enrol", "denied") {
			t.Error("enrolments not audited")
		}

		// The used link gets a 4xx page.
		httpc := servertest.Client(t)
		if body, resp := g.Get(t, httpc, strings.TrimPrefix(link, g.URL), "text/html"); resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, "already been used or has expired") {
			t.Fatalf("reused link: %d %.200s", resp.StatusCode, body)
		}

		// One click signs the workstation in; the app sees a shared computer with hwk.
		if err := chromedp.Do(ctx, chromedp.Click("#enrol-login")); err != nil {
			t.Fatal(err)
		}
		pkWaitPath(t, ctx, "/.gatehouse/login")
		pkOpenAndClick(t, ctx, "", "passkey-login")
		pkWaitPath(t, ctx, "/")
		claims := verifyAssertion(t, g, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
		if claims["shared_computer"] != true || claims["sub"] != floor.ID {
			t.Fatalf("claims: %v", claims)
		}
		if amr, _ := claims["amr"].([]any); len(amr) != 1 || amr[0] != "hwk" {
			t.Fatalf("amr = %v, want [hwk]", claims["amr"])
		}

		// The password no longer works for it.
		pc := servertest.Client(t)
		token := g.CSRFToken(t, pc, "/.gatehouse/login")
		if _, resp := g.PostForm(t, pc, "/.gatehouse/login", url.Values{"email": {"floor1@example.com"}, "password": {pw}, "csrf_token": {token}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("password login of a workstation-bound account: %d", resp.StatusCode)
		}

		signInRefused := func(t *testing.T, want string) {
			t.Helper()
			pkClearCookies(t, ctx)
			pkOpenAndClick(t, ctx, g.URL+"/.gatehouse/login", "passkey-login")
			if msg := pkWaitMessage(t, ctx); !strings.Contains(msg, want) {
				t.Fatalf("message %q, want %q", msg, want)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/whoami")); err != nil {
				t.Fatal(err)
			}
			if text, _ := chromedp.Run(ctx, chromedp.Text("body")); !strings.Contains(text, "error") {
				t.Fatalf("a refused sign-in left a session: %s", text)
			}
		}

		// Outside the allowed networks: refused.
		if code, out := pkApiCall(t, g, admin, csrf, http.MethodPut, "/.gatehouse/api/v1/accounts/"+floor.ID+"/allowed-networks", `{"allowed_networks":["10.20.0.0/16"]}`); code != http.StatusOK {
			t.Fatalf("set networks: %d %v", code, out)
		}
		signInRefused(t, "not allowed from this network")
		if code, _ := pkApiCall(t, g, admin, csrf, http.MethodPut, "/.gatehouse/api/v1/accounts/"+floor.ID+"/allowed-networks", `{"allowed_networks":["127.0.0.0/8"]}`); code != http.StatusOK {
			t.Fatal("set networks")
		}

		// A sign count that goes backwards: refused and audited as a clone.
		pkSetSignCount(t, ctx, device, 0)
		signInRefused(t, "could not sign you in")
		if !pkAuditHas(t, g, "passkey.clone_suspected", "denied") {
			t.Error("clone not audited")
		}

		// An expired link registers nothing.
		_, out = pkApiCall(t, g, admin, csrf, http.MethodPost, "/.gatehouse/api/v1/accounts/"+floor.ID+"/enrolments", "")
		offset.Store(int64(2 * time.Hour))
		if _, resp := g.Get(t, httpc, strings.TrimPrefix(out["url"].(string), g.URL), "text/html"); resp.StatusCode != http.StatusGone {
			t.Fatalf("expired link: %d", resp.StatusCode)
		}
	})
}
