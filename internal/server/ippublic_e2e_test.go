package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

const passkeysOffWarning = "public_url: the host is an IP address, so passkeys are off (WebAuthn needs a host name)"

// ipGateway starts a gateway whose public_url is its own listener's IP
// address (http://127.0.0.1:PORT), as on an internal network, with an app
// at / served by up; its logs go to logs.
func ipGateway(t *testing.T, up *upstream, logs *lockedBuffer) *servertest.Gateway {
	t.Helper()
	return servertest.Start(t, servertest.Options{LogTo: logs, Configure: func(c *config.Config) {
		c.PublicURL = "http://" + c.Listen
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
}

// TestIPPublicURLPasswordOnly: on a public_url that is an IP address the
// gateway starts with one warning, password sign-in and proxying work
// (a shared-computer account included), the pages offer no passkey, and
// every passkey route answers a clear "passkeys are off" error.
func TestIPPublicURLPasswordOnly(t *testing.T) {
	up := newUpstream(t)
	logs := &lockedBuffer{}
	g := ipGateway(t, up, logs)
	if !strings.HasPrefix(g.URL, "http://127.0.0.1:") {
		t.Fatalf("gateway URL %q, want the IP address", g.URL)
	}
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	ws := g.CreateUser(t, account.NewAccount{Email: "ws@example.com", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})

	// The login page: password form, no passkey button, no passkey script.
	c := servertest.Client(t)
	body, resp := g.Get(t, c, "/.gatehouse/login", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d %.300s", resp.StatusCode, body)
	}
	for _, absent := range []string{`id="passkey-login"`, "Sign in with a passkey", "passkey.js", "webauthn"} {
		if strings.Contains(body, absent) {
			t.Errorf("login page on an IP public_url contains %q", absent)
		}
	}

	// Password sign-in, then a proxied request with a verifiable assertion.
	g.Login(t, c, "admin@example.com", pw)
	body, resp = g.Get(t, c, "/app/page", "text/html")
	if resp.StatusCode != http.StatusOK || body != "upstream saw /app/page" {
		t.Fatalf("signed-in request: %d %s", resp.StatusCode, body)
	}
	claims := verifyAssertion(t, g, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
	if claims["iss"] != g.URL {
		t.Errorf("iss = %v, want %s", claims["iss"], g.URL)
	}

	// The account page keeps its passkey list but offers no "Add a passkey".
	body, resp = g.Get(t, c, "/.gatehouse/account/", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("account page: %d %.300s", resp.StatusCode, body)
	}
	if strings.Contains(body, `id="passkey-add"`) || strings.Contains(body, "Add a passkey") {
		t.Error(`account page on an IP public_url offers "Add a passkey"`)
	}
	if !strings.Contains(body, `id="passkeys-off"`) || !strings.Contains(body, "passkeys need a host name") {
		t.Errorf("account page does not say why passkeys are off: %.2000s", body)
	}

	// Every ceremony answers 409 with the contract's JSON error, before
	// anything else is looked at (even with a valid CSRF token).
	csrf := g.CSRFToken(t, c, "/.gatehouse/account/")
	for _, path := range []string{
		"/.gatehouse/passkey/login/begin", "/.gatehouse/passkey/login/finish",
		"/.gatehouse/passkey/register/begin", "/.gatehouse/passkey/register/finish",
		"/.gatehouse/enrol/begin?token=x", "/.gatehouse/enrol/finish",
	} {
		code, out := pkApiCall(t, g, c, csrf, http.MethodPost, path, "{}")
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != http.StatusConflict || e["code"] != "passkeys_off" || !strings.Contains(msg, "passkeys need a host name") {
			t.Errorf("POST %s: %d %v, want 409 passkeys_off with a message", path, code, out)
		}
	}
	// The enrolment page a workstation would open: a 4xx HTML page.
	body, resp = g.Get(t, servertest.Client(t), "/.gatehouse/enrol?token=anything", "text/html")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "passkeys need a host name") {
		t.Errorf("enrol page: %d %q %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// The admin API refuses to make an enrolment link no workstation could
	// use, and the panel says so; the rest of the passkey admin API works.
	code, out := pkApiCall(t, g, c, csrf, http.MethodPost, "/.gatehouse/api/v1/accounts/"+ws.ID+"/enrolments", `{"name":"Line 1"}`)
	if e, _ := out["error"].(map[string]any); code != http.StatusConflict || e["code"] != "passkeys_off" || e["message"] == "" {
		t.Errorf("API enrolment: %d %v, want 409 passkeys_off", code, out)
	}
	if code, out := pkApiCall(t, g, c, csrf, http.MethodGet, "/.gatehouse/api/v1/accounts/"+ws.ID+"/credentials", ""); code != http.StatusOK {
		t.Errorf("API credential list: %d %v", code, out)
	}
	userPath := "/.gatehouse/admin/users/" + ws.ID
	if body, _ := g.Get(t, c, userPath, "text/html"); strings.Contains(body, `id="enrolment-form"`) || !strings.Contains(body, `id="enrolment-off"`) {
		t.Error("the panel offers a workstation enrolment with passkeys off")
	}
	panelCSRF := g.CSRFToken(t, c, userPath)
	_, resp = g.PostForm(t, c, userPath+"/enrolments", url.Values{"csrf_token": {panelCSRF}, "name": {"Line 1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=passkeys_off") {
		t.Errorf("panel enrolment: %d %q, want 303 with error=passkeys_off", resp.StatusCode, loc)
	}
	if body, _ := g.Get(t, c, userPath+"?error=passkeys_off", "text/html"); !strings.Contains(body, "No workstation can be enrolled") {
		t.Errorf("panel does not explain the refusal: %.300s", body)
	}
	if pkAuditHas(t, g, "enrolment.create", "ok") {
		t.Error("an enrolment was created with passkeys off")
	}

	// A shared-computer account, which can have no workstation here, signs
	// in with its password and reaches the app as a shared computer.
	wsc := servertest.Client(t)
	g.Login(t, wsc, "ws@example.com", pw)
	if body, resp := g.Get(t, wsc, "/floor", "text/html"); resp.StatusCode != http.StatusOK || body != "upstream saw /floor" {
		t.Fatalf("shared computer request: %d %s", resp.StatusCode, body)
	}
	if got := up.lastRequest(t).Header.Get("X-Gatehouse-Shared-Computer"); got != "true" {
		t.Errorf("X-Gatehouse-Shared-Computer = %q", got)
	}
	if body, resp := g.Get(t, wsc, "/.gatehouse/account/", "text/html"); resp.StatusCode != http.StatusOK || strings.Contains(body, `id="passkey-add"`) {
		t.Errorf("shared account page: %d", resp.StatusCode)
	}

	// A shared-computer account bound to a workstation before the gateway
	// moved to an IP address keeps refusing its password, cleanly, until
	// an admin revokes that workstation's passkey.
	bound := g.CreateUser(t, account.NewAccount{Email: "bound@example.com", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})
	credID := []byte("workstation-credential-1")
	if err := g.Store.CreateCredential(t.Context(), store.Credential{ID: credID, AccountID: bound.ID, Name: "Line 2", PublicKey: []byte{1},
		Workstation: true, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bc := servertest.Client(t)
	loginCSRF := g.CSRFToken(t, bc, "/.gatehouse/login")
	body, resp = g.PostForm(t, bc, "/.gatehouse/login", url.Values{"email": {"bound@example.com"}, "password": {pw}, "csrf_token": {loginCSRF}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) {
		t.Fatalf("bound workstation's password: %d %.300s, want 401 and the login page", resp.StatusCode, body)
	}
	if code, out := pkApiCall(t, g, c, csrf, http.MethodDelete, "/.gatehouse/api/v1/accounts/"+bound.ID+"/credentials/"+base64.RawURLEncoding.EncodeToString(credID), ""); code != http.StatusNoContent {
		t.Fatalf("revoking the workstation passkey: %d %v", code, out)
	}
	g.Login(t, bc, "bound@example.com", pw)

	// Exactly one warning, at start, in the words config check uses.
	if n := strings.Count(logs.String(), "passkeys are off"); n != 1 {
		t.Errorf("log mentions passkeys being off %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"`+passkeysOffWarning+`"`) {
		t.Errorf("log lacks the warning %q:\n%.2000s", passkeysOffWarning, logs.String())
	}
}

// TestHostNamePublicURLKeepsPasskeys: on a host-name public_url (servertest's
// http://localhost:PORT) nothing changes: the button, the script and "Add a
// passkey" are there, a ceremony begins, and no warning is logged.
func TestHostNamePublicURLKeepsPasskeys(t *testing.T) {
	up := newUpstream(t)
	logs := &lockedBuffer{}
	g := servertest.Start(t, servertest.Options{LogTo: logs, Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	if !strings.HasPrefix(g.URL, "http://localhost:") {
		t.Fatalf("gateway URL %q, want a host name", g.URL)
	}
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	body, _ := g.Get(t, c, "/.gatehouse/login", "text/html")
	for _, want := range []string{`id="passkey-login"`, "Sign in with a passkey", "/.gatehouse/static/passkey.js", `autocomplete="username webauthn"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	csrf := g.CSRFToken(t, c, "/.gatehouse/login")
	if code, out := pkApiCall(t, g, c, csrf, http.MethodPost, "/.gatehouse/passkey/login/begin", "{}"); code != http.StatusOK || out["publicKey"] == nil {
		t.Errorf("login begin: %d %v", code, out)
	}
	g.Login(t, c, "ada@example.com", pw)
	body, _ = g.Get(t, c, "/.gatehouse/account/", "text/html")
	if !strings.Contains(body, `id="passkey-add"`) || !strings.Contains(body, "Add a passkey") || strings.Contains(body, `id="passkeys-off"`) {
		t.Error(`account page on a host name lacks "Add a passkey" or says passkeys are off`)
	}
	if strings.Contains(logs.String(), "passkeys are off") || strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("a host-name public_url logged a warning:\n%.2000s", logs.String())
	}
}
