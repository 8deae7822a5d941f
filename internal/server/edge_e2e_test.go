package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// plantingApp is a public app that answers every request with the
// Set-Cookie lines it is given and records the Cookie header it received.
type plantingApp struct {
	*httptest.Server
	mu      sync.Mutex
	plant   []string
	cookies []string
}

func newPlantingApp(t *testing.T) *plantingApp {
	a := &plantingApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.cookies = r.Header.Values("Cookie")
		plant := a.plant
		a.mu.Unlock()
		for _, c := range plant {
			w.Header().Add("Set-Cookie", c)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(a.Close)
	return a
}

func whoamiEmail(t *testing.T, g *servertest.Gateway, c *http.Client) string {
	t.Helper()
	body, resp := g.Get(t, c, "/.gatehouse/whoami", "application/json")
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var who struct{ Email string }
	if err := json.Unmarshal([]byte(body), &who); err != nil {
		t.Fatal(err)
	}
	return who.Email
}

// An app behind a public route answers with the attacker's own session
// cookie: the victim's browser must keep the victim's session, and the
// CSRF seed, from which the CSRF token derives, never reaches the app.
func TestUpstreamCannotPlantGatewayCookies(t *testing.T) {
	app := newPlantingApp(t)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: app.URL, Audience: "app", Company: "acme",
			Public: true, Timeout: config.Duration(5 * time.Second)}}
	}})
	g.CreateUser(t, account.NewAccount{Email: "victim@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "mallory@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	attacker := servertest.Client(t)
	g.Login(t, attacker, "mallory@example.com", pw)
	var stolen string
	for _, ck := range attacker.Jar.Cookies(mustURL(t, g.URL)) {
		if ck.Name == cookies.Session {
			stolen = ck.Value
		}
	}
	if stolen == "" {
		t.Fatal("the attacker has no session cookie")
	}

	victim := servertest.Client(t)
	g.Login(t, victim, "victim@example.com", pw)
	app.mu.Lock()
	app.plant = []string{
		cookies.Session + "=" + stolen + "; Path=/",
		"GATEHOUSE_SESSION=" + stolen + "; Path=/",
		cookies.CSRF + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; Path=/",
		"app_pref=dark; Path=/",
	}
	app.mu.Unlock()
	_, resp := g.Get(t, victim, "/page", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("public page: %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || !strings.HasPrefix(got[0], "app_pref=") {
		t.Errorf("Set-Cookie reaching the browser = %q, want the app's own only", got)
	}
	if who := whoamiEmail(t, g, victim); who != "victim@example.com" {
		t.Errorf("after the app's answer the browser is signed in as %q, want the victim", who)
	}

	// The next request carries the victim's session, CSRF seed and the
	// app's cookie: only the last may reach the app.
	if _, resp := g.Get(t, victim, "/again", "text/html"); resp.StatusCode != http.StatusOK {
		t.Fatalf("public page: %d", resp.StatusCode)
	}
	app.mu.Lock()
	sent := strings.Join(app.cookies, "; ")
	app.mu.Unlock()
	if strings.Contains(strings.ToLower(sent), cookies.Prefix) {
		t.Errorf("the app received gateway cookies: %q", sent)
	}
	if !strings.Contains(sent, "app_pref=dark") {
		t.Errorf("the app's own cookie was not forwarded: %q", sent)
	}
}

// rawStatus sends a GET with the request line's target and the Host header
// exactly as written, with c's cookies, and returns the status.
func rawStatus(t *testing.T, g *servertest.Gateway, c *http.Client, host, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n", target, host)
	for _, ck := range c.Jar.Cookies(mustURL(t, g.URL)) {
		fmt.Fprintf(&b, "Cookie: %s=%s\r\n", ck.Name, ck.Value)
	}
	b.WriteString("Connection: close\r\n\r\n")
	conn.Write([]byte(b.String()))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// verifyStatus asks forward-auth about host and uri as c.
func verifyStatus(t *testing.T, g *servertest.Gateway, c *http.Client, host, uri string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
	req.Header.Set("X-Forwarded-Uri", uri)
	req.Header.Set("X-Forwarded-Host", host)
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Spellings of /admin-only that servlet containers, IIS, Windows or
// Express read as the admin app's path must meet its policy (403 for a
// viewer) or be refused (400), never reach the app through "/".
func TestPathSpellingsCannotDodgeAPrefix(t *testing.T) {
	g, up, c := signedIn(t, "viewer")
	tricks := []string{
		"/admin-only;x/", "/admin-only%3b/", "/admin-only%3Bx/y", "/Admin-Only/", "/ADMIN-ONLY",
		"/admin-only./", "/admin-only%2e/", "/admin-only%20/", "/admin-only%2E%20/x",
		"/%41dmin-%4fnly/", "/admin-only::$INDEX_ALLOCATION/", "/admin-only;/", "/x/../Admin-only;a=b",
	}
	before := up.count()
	for _, p := range tricks {
		if st := rawStatus(t, g, c, "localhost", p); st != http.StatusForbidden && st != http.StatusBadRequest {
			t.Errorf("proxy %s: status %d, want 403 or 400", p, st)
		}
		if st := verifyStatus(t, g, c, "localhost", p); st != http.StatusForbidden && st != http.StatusBadRequest {
			t.Errorf("verify %s: status %d, want 403 or 400", p, st)
		}
	}
	if n := up.count() - before; n != 0 {
		t.Errorf("%d spellings reached the upstream", n)
	}

	// An admin reaches the app under any letter case; the app receives the
	// path as the client wrote it.
	g.CreateUser(t, account.NewAccount{Email: "boss@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	admin := servertest.Client(t)
	g.Login(t, admin, "boss@example.com", pw)
	if st := rawStatus(t, g, admin, "localhost", "/Admin-Only/Page"); st != http.StatusOK {
		t.Fatalf("admin /Admin-Only/Page: %d", st)
	}
	r := up.lastRequest(t)
	if r.URL.Path != "/Admin-Only/Page" || r.Header.Get("X-Gatehouse-Role") != "admin" {
		t.Errorf("upstream saw %q as %q, want /Admin-Only/Page as admin", r.URL.Path, r.Header.Get("X-Gatehouse-Role"))
	}
}

// Spellings of a host route's name must reach that route (403 for a
// viewer there) or be refused, never fall through to the catch-all.
func TestHostSpellingsCannotDodgeAHostRoute(t *testing.T) {
	up := newUpstream(t)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{
			{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second)},
			{Host: "beta.test", PathPrefix: "/", Upstream: up.URL, Audience: "beta", Company: "acme",
				Timeout: config.Duration(5 * time.Second), Allow: config.Allow{Roles: []string{"admin"}}},
		}
	}})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "viewer@example.com", pw)
	if st := rawStatus(t, g, c, "other.test", "/x"); st != http.StatusOK {
		t.Fatalf("the catch-all refused the viewer: %d", st)
	}
	before := up.count()
	for _, host := range []string{
		"beta.test", "beta.test.", "BETA.test", "Beta.Test.:80", "beta.test:443", "beta.test%00",
		"beta.test%2e", "beta.test..", "beta.test.%00", "beta.test%20",
	} {
		if st := rawStatus(t, g, c, host, "/x"); st != http.StatusForbidden && st != http.StatusBadRequest {
			t.Errorf("proxy Host %q: status %d, want 403 or 400", host, st)
		}
		if st := verifyStatus(t, g, c, host, "/x"); st != http.StatusForbidden && st != http.StatusBadRequest {
			t.Errorf("verify X-Forwarded-Host %q: status %d, want 403 or 400", host, st)
		}
	}
	if n := up.count() - before; n != 0 {
		t.Errorf("%d host spellings reached the upstream through the catch-all", n)
	}
}

// rawHeaders sends a request whose header fields are exactly fields (in
// order, "Name: value" each) and returns the status.
func rawHeaders(t *testing.T, g *servertest.Gateway, target string, fields ...string) int {
	t.Helper()
	conn, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := "GET " + target + " HTTP/1.1\r\n" + strings.Join(fields, "\r\n") + "\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Request headers of exactly 64 KiB, counted as name, ": ", value and CRLF
// per field, pass; one byte more is 431, on a routed path as on the
// gateway's own.
func TestHeadersOfExactly64KiB(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	const limit = 64 << 10
	fixed := []string{"Host: localhost", "Connection: close", "Accept: application/json"}
	used := 0
	for _, f := range fixed {
		used += len(f) + 2
	}
	fill := func(n int) []string {
		// "X-Fill: " + value + CRLF brings the total to n.
		return append(fixed, "X-Fill: "+strings.Repeat("a", n-used-len("X-Fill: ")-2))
	}
	for _, target := range []string{"/docs", "/.gatehouse/whoami"} {
		if st := rawHeaders(t, g, target, fill(limit)...); st != http.StatusUnauthorized {
			t.Errorf("%s with %d bytes of headers: %d, want 401 (served)", target, limit, st)
		}
		if st := rawHeaders(t, g, target, fill(limit+1)...); st != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with %d bytes of headers: %d, want 431", target, limit+1, st)
		}
	}
	// A long URL does not count against the headers.
	long := "/docs?q=" + strings.Repeat("b", 8<<10)
	if st := rawHeaders(t, g, long, fill(limit)...); st != http.StatusUnauthorized {
		t.Errorf("a long URL with %d bytes of headers: %d, want 401", limit, st)
	}
}

// goTypeName matches what encoding/json and fmt show of Go types:
// "rules.Condition", "[]string" in "Go value of type", "struct field".
var goTypeName = regexp.MustCompile(`\b[a-z][a-z0-9]*\.[A-Z][A-Za-z0-9]*\b|Go (value|struct)|json: |\bstruct\b`)

// Bad JSON anywhere in the admin API is described in plain words: no Go
// type, package or struct field name reaches the caller.
func TestAPIErrorsNameNoGoTypes(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/logout")
	st, body := apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"site","labels":{"en":"Site"},"type":"choice","choices":["Toulouse","Lyon"]}`)
	mustStatus(t, "create site", st, http.StatusCreated, body)

	const rules = "/.gatehouse/api/v1/access-rules?company=acme"
	rule := func(cond string) string {
		return `{"name":"x","capability":"edit_objects","tag":"site:Toulouse","condition":` + cond + `}`
	}
	for _, c := range []struct{ path, body string }{
		{rules, rule(`"site is Toulouse"`)},
		{rules, rule(`["site"]`)},
		{rules, rule(`{"all":"x"}`)},
		{rules, rule(`{"all":[{"property":"site","op":1,"value":"Toulouse"}]}`)},
		{rules, rule(`{"property":"site","op":"in","values":"Toulouse"}`)},
		{rules, rule(`{"property":"site","role":"yes"}`)},
		{rules, rule(`{"property":"site","op":"equals","value":"Toulouse","extra":1}`)},
		{rules, `{"name":1}`},
		{rules, `{"name":"x","enabled":"yes"}`},
		{rules, `[1,2]`},
		{"/.gatehouse/api/v1/properties?company=acme", `{"key":["site"]}`},
		{"/.gatehouse/api/v1/properties?company=acme", `{"key":"k","labels":"Site"}`},
		{"/.gatehouse/api/v1/accounts?company=acme", `{"email":{"a":1}}`},
		{"/.gatehouse/api/v1/companies", `{"id":1,"name":2}`},
	} {
		st, body := apiCall(t, g, admin, csrf, "POST", c.path, "application/json", c.body)
		if st < 400 || st >= 500 {
			t.Errorf("POST %s %s: status %d, want a 4xx", c.path, c.body, st)
		}
		raw, _ := json.Marshal(body)
		if m := goTypeName.Find(raw); m != nil {
			t.Errorf("POST %s %s: the answer names %q: %s", c.path, c.body, m, raw)
		}
	}
}

// The static folder lists nothing, and pages allow no inline style and
// send forms nowhere but to the gateway and the places its answers lead.
func TestStaticFilesAndPagePolicy(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, func(c *config.Config) {
		c.Routes = append(c.Routes, config.Route{Host: "Reports.Example.com.", PathPrefix: "/", Upstream: up.URL,
			Audience: "reports", Company: "acme", Timeout: config.Duration(5 * time.Second)})
	})
	c := servertest.Client(t)
	for _, dir := range []string{"/.gatehouse/static/", "/.gatehouse/static", "/.gatehouse/static/./", "/.gatehouse/static/%2e/"} {
		body, resp := g.Get(t, c, dir, "text/html")
		// The mux may first redirect to the cleaned path, which is then 404.
		if resp.StatusCode != http.StatusNotFound && (resp.StatusCode < 300 || resp.StatusCode > 308) {
			t.Errorf("GET %s: %d, want 404", dir, resp.StatusCode)
		}
		if strings.Contains(body, "gatehouse.js") {
			t.Errorf("GET %s lists the folder: %.200s", dir, body)
		}
	}
	if _, resp := g.Get(t, c, "/.gatehouse/static/gatehouse.css", ""); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("gatehouse.css: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	for _, page := range []string{"/.gatehouse/login", "/.gatehouse/forgot", "/.gatehouse/nowhere"} {
		body, resp := g.Get(t, c, page, "text/html")
		csp := resp.Header.Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "style-src 'self';") {
			t.Errorf("%s: CSP allows inline styles: %q", page, csp)
		}
		if !strings.HasSuffix(csp, "form-action 'self' reports.example.com") {
			t.Errorf("%s: form-action is not the gateway and the apps' hosts: %q", page, csp)
		}
		if strings.Contains(body, "<style") || strings.Contains(body, "style=") {
			t.Errorf("%s has inline styles", page)
		}
		if !strings.Contains(body, `href="/.gatehouse/static/gatehouse.css"`) {
			t.Errorf("%s does not link the stylesheet", page)
		}
	}
}
