package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// The example configs in config/forward-auth/ run here against the real
// proxies, changed only where loopback demands it: host name, addresses,
// plain HTTP instead of TLS, and file paths a non-root run can write.

const forwardAuthDir = "../../config/forward-auth"

// frontProxy is a running nginx or Caddy in front of a gateway and an app.
type frontProxy struct {
	g    *servertest.Gateway
	up   *upstream
	url  string // http://localhost:PORT, also the gateway's public_url
	logs func() string
}

// forwardAuthStack reserves the proxy's port, starts a gateway whose
// public_url is the proxy (so its pages and cookie live on the app's host,
// as in a deployment) and hands both addresses to start, which runs the
// proxy on that port.
func forwardAuthStack(t *testing.T, start func(t *testing.T, port int, gatehouse, app string) func() string) *frontProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	up := newUpstream(t)
	g := gatewayWith(t, up, func(c *config.Config) {
		c.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	})
	fp := &frontProxy{g: g, up: up, url: g.URL}
	fp.logs = start(t, port, g.Addr, strings.TrimPrefix(up.URL, "http://"))
	return fp
}

// findBinary looks a proxy up on PATH and in /usr/sbin, failing the test
// with the way to install it.
func findBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	t.Fatalf("%s is not installed: run scripts/test-deps.sh (it installs the Debian package %s)", name, name)
	return ""
}

// rewrite replaces old with new in an example config and fails when old is
// missing, so a changed example cannot silently go untested.
func rewrite(t *testing.T, text, old, new string) string {
	t.Helper()
	if !strings.Contains(text, old) {
		t.Fatalf("example config no longer contains %q; update the forward-auth test", old)
	}
	return strings.ReplaceAll(text, old, new)
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(forwardAuthDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runProxy starts cmd, kills it at cleanup and waits until port accepts
// connections; it returns a function that reads the proxy's logs.
func runProxy(t *testing.T, cmd *exec.Cmd, port int, logFiles ...string) func() string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "output.log")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	logs := func() string {
		var b strings.Builder
		for _, p := range append([]string{out}, logFiles...) {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(p), data)
		}
		return b.String()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited at start:\n%s", filepath.Base(cmd.Path), logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s:\n%s", filepath.Base(cmd.Path), addr, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startNginx(t *testing.T, port int, gatehouse, app string) func() string {
	bin := findBinary(t, "nginx")
	site := readExample(t, "nginx.conf")
	site = rewrite(t, site, "listen 443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
	site = rewrite(t, site, "server_name app.example.com;", "server_name localhost;")
	site = rewrite(t, site, "127.0.0.1:8080", gatehouse)
	site = rewrite(t, site, "127.0.0.1:3000", app)
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	// A single foreground process with every path in dir: no root, no
	// system service, nothing outside the test's temporary directory.
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[2]s info;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[3]s;
}
`, dir, errLog, sitePath)
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", mainPath, "-e", errLog)
	return runProxy(t, cmd, port, errLog)
}

func startCaddy(t *testing.T, port int, gatehouse, app string) func() string {
	bin := findBinary(t, "caddy")
	site := readExample(t, "Caddyfile")
	site = rewrite(t, site, "app.example.com {", fmt.Sprintf("http://localhost:%d {\n\tbind 127.0.0.1", port))
	site = rewrite(t, site, "127.0.0.1:8080", gatehouse)
	site = rewrite(t, site, "127.0.0.1:3000", app)
	site = "{\n\tadmin off\n\tauto_https off\n}\n" + site
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	// Caddy keeps state under HOME and the XDG directories; keep it here.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return runProxy(t, cmd, port)
}

func TestForwardAuthNginx(t *testing.T) {
	fp := forwardAuthStack(t, startNginx)
	// nginx cannot remove headers by pattern, so only the named ones are
	// replaced; it drops every header spelled with underscores.
	checkForwardAuth(t, fp, "nginx", append(slices.Clone(spoofedNames),
		"X_Gatehouse_User", "x_gatehouse_role", "X_Forwarded_Email", "X-Forwarded_User", "X_GATEHOUSE_ASSERTION",
	))
}

func TestForwardAuthCaddy(t *testing.T) {
	fp := forwardAuthStack(t, startCaddy)
	// Caddy passes headers with underscores on (see docs/forward-auth.md),
	// but removes every X-Gatehouse-* name.
	checkForwardAuth(t, fp, "caddy", append(slices.Clone(spoofedNames), "X-Gatehouse-Anything"))
}

// spoofedNames are the identity headers a client may try to forge.
var spoofedNames = []string{
	"X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Role", "X-Gatehouse-Assertion",
	"X-Gatehouse-Shared-Computer", "X-Forwarded-User", "X-Forwarded-Email",
	"X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
}

// proxyGet sends one request through the proxy; extra headers are sent
// with their names exactly as written.
func proxyGet(t *testing.T, c *http.Client, u, accept string, extra []string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for _, name := range extra {
		req.Header[name] = []string{"evil"}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func checkForwardAuth(t *testing.T, fp *frontProxy, name string, spoof []string) {
	t.Helper()
	g, up := fp.g, fp.up
	defer func() {
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, fp.logs())
		}
	}()
	viewer := g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})

	// Signed out: a page load is sent to the login page on the app's host,
	// with the exact address to come back to; an API call gets a 401.
	anon := servertest.Client(t)
	resp, _ := proxyGet(t, anon, fp.url+"/docs?q=1&r=2", "text/html", nil)
	want := fp.url + "/.gatehouse/login?rd=" + url.QueryEscape(fp.url+"/docs?q=1&r=2")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("signed-out page load: %d Location %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, body := proxyGet(t, anon, resp.Header.Get("Location"), "text/html", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="csrf_token"`) {
		t.Fatalf("login page through %s: %d", name, resp.StatusCode)
	}
	resp, body = proxyGet(t, anon, fp.url+"/docs", "application/json", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
		t.Errorf("signed-out API call: %d %q, want a JSON 401", resp.StatusCode, body)
	}
	if up.count() != 0 {
		t.Fatal("a signed-out request reached the app")
	}

	// Signing in through the proxy returns the browser to where it was.
	c := servertest.Client(t)
	token := g.CSRFToken(t, c, "/.gatehouse/login")
	_, resp = g.PostForm(t, c, "/.gatehouse/login", url.Values{
		"email": {"viewer@example.com"}, "password": {pw}, "csrf_token": {token}, "rd": {fp.url + "/docs?q=1&r=2"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != fp.url+"/docs?q=1&r=2" {
		t.Fatalf("login through %s: %d Location %q", name, resp.StatusCode, resp.Header.Get("Location"))
	}

	// Signed in: the app gets the verified identity and none of the forgeries.
	resp, body = proxyGet(t, c, fp.url+"/docs?q=1", "text/html", spoof)
	if resp.StatusCode != http.StatusOK || body != "upstream saw /docs" {
		t.Fatalf("signed-in request: %d %q", resp.StatusCode, body)
	}
	r := up.lastRequest(t)
	assertNoForgery(t, r)
	for h, v := range map[string]string{
		"X-Gatehouse-User": viewer.ID, "X-Gatehouse-Email": "viewer@example.com", "X-Gatehouse-Role": "viewer",
		"X-Gatehouse-Shared-Computer": "false", "X-Forwarded-User": viewer.ID, "X-Forwarded-Email": "viewer@example.com",
	} {
		if got := r.Header.Values(h); len(got) != 1 || got[0] != v {
			t.Errorf("app saw %s = %q, want %q", h, got, v)
		}
	}
	claims := verifyAssertion(t, g, r.Header.Get("X-Gatehouse-Assertion"), "app")
	if claims["sub"] != viewer.ID || claims["role"] != "viewer" {
		t.Errorf("assertion sub %v role %v", claims["sub"], claims["role"])
	}

	// A public route without a session: the forgeries are still removed.
	resp, _ = proxyGet(t, anon, fp.url+"/public/x", "text/html", spoof)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous public route: %d", resp.StatusCode)
	}
	r = up.lastRequest(t)
	assertNoForgery(t, r)
	if r.Header.Get("X-Gatehouse-Assertion") != "" {
		t.Error("an anonymous request on a public route carried an assertion")
	}

	// The route's policy holds through the proxy: a viewer is refused the
	// admin-only app, which an admin reaches with that route's audience.
	before := up.count()
	resp, _ = proxyGet(t, c, fp.url+"/admin-only/x", "text/html", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer on the admin-only route: %d, want 403", resp.StatusCode)
	}
	// An API client gets Gatehouse's own JSON refusal, not the proxy's page.
	resp, body = proxyGet(t, c, fp.url+"/admin-only/x", "application/json", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error"`) {
		t.Errorf("viewer API call on the admin-only route: %d %q, want a JSON 403", resp.StatusCode, body)
	}
	if up.count() != before {
		t.Error("a refused request reached the app")
	}
	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	resp, _ = proxyGet(t, admin, fp.url+"/admin-only/x", "text/html", spoof)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin on the admin-only route: %d", resp.StatusCode)
	}
	r = up.lastRequest(t)
	assertNoForgery(t, r)
	claims = verifyAssertion(t, g, r.Header.Get("X-Gatehouse-Assertion"), "admin-app")
	if claims["role"] != "admin" {
		t.Errorf("admin assertion role = %v", claims["role"])
	}
}

func assertNoForgery(t *testing.T, r *http.Request) {
	t.Helper()
	for h, vals := range r.Header {
		if slices.Contains(vals, "evil") {
			t.Errorf("spoofed header %s reached the app", h)
		}
	}
}

// Traefik is not packaged for Debian, so its example is checked by reading
// it: the middleware must ask /.gatehouse/verify, must not trust the
// client's X-Forwarded-* and must copy exactly the identity headers.
func TestForwardAuthTraefikConfig(t *testing.T) {
	var doc struct {
		HTTP struct {
			Middlewares map[string]struct {
				ForwardAuth *struct {
					Address             string   `yaml:"address"`
					TrustForwardHeader  *bool    `yaml:"trustForwardHeader"`
					AuthResponseHeaders []string `yaml:"authResponseHeaders"`
				} `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
			Routers map[string]struct {
				Rule        string   `yaml:"rule"`
				Middlewares []string `yaml:"middlewares"`
				Service     string   `yaml:"service"`
			} `yaml:"routers"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal([]byte(readExample(t, "traefik.yaml")), &doc); err != nil {
		t.Fatalf("traefik.yaml: %v", err)
	}
	mw, ok := doc.HTTP.Middlewares["gatehouse"]
	if !ok || mw.ForwardAuth == nil {
		t.Fatal("traefik.yaml: no gatehouse forwardAuth middleware")
	}
	fa := mw.ForwardAuth
	if u, err := url.Parse(fa.Address); err != nil || u.Path != "/.gatehouse/verify" {
		t.Errorf("forwardAuth address %q does not ask /.gatehouse/verify", fa.Address)
	}
	if fa.TrustForwardHeader == nil || *fa.TrustForwardHeader {
		t.Error("forwardAuth must say trustForwardHeader: false")
	}
	got := slices.Sorted(slices.Values(fa.AuthResponseHeaders))
	want := slices.Sorted(slices.Values(proxy.IdentityHeaderNames()))
	if !slices.Equal(got, want) {
		t.Errorf("authResponseHeaders = %v, want exactly %v", got, want)
	}
	var guarded, pages bool
	for _, r := range doc.HTTP.Routers {
		if slices.Contains(r.Middlewares, "gatehouse") {
			guarded = true
		} else if strings.Contains(r.Rule, "PathPrefix(`/.gatehouse/`)") && r.Service == "gatehouse" {
			pages = true
		}
	}
	if !guarded || !pages {
		t.Errorf("traefik.yaml: app router uses the middleware: %v; /.gatehouse/ served by gatehouse on the app host: %v", guarded, pages)
	}
}
