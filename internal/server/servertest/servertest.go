// Package servertest starts a whole gateway on loopback for end-to-end
// tests: the real server, a real store (SQLite, or PostgreSQL on request)
// and real listeners, driven by a real HTTP client or browser.
package servertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Options shape the gateway under test.
type Options struct {
	// Postgres runs the gateway on an isolated schema of the test
	// PostgreSQL server instead of a SQLite file.
	Postgres bool
	// Configure edits the config before the gateway starts.
	Configure func(*config.Config)
	// Now replaces the clock.
	Now func() time.Time
	// LogTo receives the gateway's logs (default: discarded unless
	// GATEHOUSE_TEST_LOG is set).
	LogTo io.Writer
}

// Gateway is a running gateway.
type Gateway struct {
	URL    string // public URL, http://localhost:PORT
	Addr   string // 127.0.0.1:PORT
	OpsURL string
	Config config.Config
	Store  store.Store
	Server *server.Server

	stop context.CancelFunc
	done chan error
}

// TestArgon2 keeps password hashing cheap enough for tests while staying
// within what the config accepts.
var TestArgon2 = config.Argon2{MemoryKiB: 19456, Iterations: 1, Parallelism: 1}

// Start builds and runs a gateway; it stops at test cleanup.
func Start(t testing.TB, o Options) *Gateway {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pub.Addr().(*net.TCPAddr).Port
	cfg := config.Default()
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", port)
	cfg.Listen = pub.Addr().String()
	cfg.OpsListen = ops.Addr().String()
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.Secret(filepath.Join(t.TempDir(), "gatehouse.db"))}
	if o.Postgres {
		cfg.Store = config.Store{Driver: "postgres", DSN: config.Secret(storetest.PostgresDSN(t))}
	}
	cfg.Password.Argon2 = TestArgon2
	cfg.Password.HashCPUPercent = 100 // tests sign in often; the cap has tests of its own
	cfg.Mail.From = "gatehouse@localhost"
	cfg.Mail.OutboxDir = filepath.Join(t.TempDir(), "outbox")
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("test config: %v", config.Problems(problems))
	}
	return StartWith(t, cfg, pub, ops, o)
}

// StartWith runs a gateway with a finished config on given listeners
// (a restart test reuses a store and an address).
func StartWith(t testing.TB, cfg config.Config, pub, ops net.Listener, o Options) *Gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := server.OpenStore(ctx, cfg.Store, os.Environ())
	if err != nil {
		cancel()
		t.Fatalf("opening store: %v", err)
	}
	logOut := o.LogTo
	if logOut == nil {
		logOut = io.Discard
		if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
			logOut = os.Stderr
		}
	}
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(ctx, cfg, st, server.Options{Logger: logger, Now: o.Now, AccessLog: logOut})
	if err != nil {
		cancel()
		st.Close()
		t.Fatalf("building server: %v", err)
	}
	g := &Gateway{
		URL: cfg.PublicURL, Addr: pub.Addr().String(), OpsURL: "http://" + ops.Addr().String(),
		Config: cfg, Store: st, Server: srv, stop: cancel, done: make(chan error, 1),
	}
	go func() { g.done <- srv.Run(ctx, pub, ops) }()
	t.Cleanup(g.Stop)
	return g
}

// Stop shuts the gateway down and closes its store; calling it twice is fine.
func (g *Gateway) Stop() {
	if g.stop == nil {
		return
	}
	g.stop()
	g.stop = nil
	<-g.done
	g.Store.Close()
}

// CreateUser makes an active password account with a role in company
// (created when missing) and returns it.
func (g *Gateway) CreateUser(t testing.TB, in account.NewAccount) store.Account {
	t.Helper()
	if in.FirstName == "" {
		in.FirstName = "Test"
	}
	if in.LastName == "" {
		in.LastName = "User"
	}
	if in.SignIn == "" {
		in.SignIn = "password"
	}
	if in.Kind == "" {
		in.Kind = store.KindPersonal
	}
	if in.Actor == "" {
		in.Actor = "test"
	}
	in.CreateCompany = true
	a, err := g.Server.Accounts.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("creating %s: %v", in.Email, err)
	}
	return a
}

// Client is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every hop.
func Client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// CSRFToken fetches a gateway page and returns its csrf-token meta value
// (the client's jar keeps the cookie it derives from).
func (g *Gateway) CSRFToken(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	body, _ := g.Get(t, c, path, "text/html")
	const marker = `<meta name="csrf-token" content="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no csrf-token meta on %s", path)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// Get fetches path with an Accept header and returns body and response.
func (g *Gateway) Get(t testing.TB, c *http.Client, path, accept string) (string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp
}

// PostForm posts a form to path and returns the response (body read).
func (g *Gateway) PostForm(t testing.TB, c *http.Client, path string, form url.Values) (string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp
}

// Login signs c in with a password and fails the test unless it worked.
func (g *Gateway) Login(t testing.TB, c *http.Client, email, password string) {
	t.Helper()
	token := g.CSRFToken(t, c, "/.gatehouse/login")
	body, resp := g.PostForm(t, c, "/.gatehouse/login", url.Values{
		"email": {email}, "password": {password}, "csrf_token": {token}, "rd": {"/"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d: %.300s", email, resp.StatusCode, body)
	}
}

// SessionEndReaches signs email in on g, checks that g and other both let
// the session through to path (so other has it in its cache), runs end
// with the signed-in client, and then asks other with the session's cookie
// until it refuses it (401). It returns how long that took and fails the
// test past within, or on any answer other than 200 or 401.
func (g *Gateway) SessionEndReaches(t testing.TB, other *Gateway, email, password, path string, within time.Duration, end func(c *http.Client)) time.Duration {
	t.Helper()
	return g.SignedInEndReaches(t, other, func(c *http.Client) { g.Login(t, c, email, password) }, path, within, end)
}

// SignedInEndReaches is SessionEndReaches with any sign-in: signIn
// leaves c signed in on g (with Login, or SSO through SignInSSO).
func (g *Gateway) SignedInEndReaches(t testing.TB, other *Gateway, signIn func(c *http.Client), path string, within time.Duration, end func(c *http.Client)) time.Duration {
	t.Helper()
	c := Client(t)
	signIn(c)
	for _, gw := range []*Gateway{g, other} {
		if _, resp := gw.Get(t, c, path, "application/json"); resp.StatusCode != http.StatusOK {
			t.Fatalf("signed-in request to %s on %s: %d", path, gw.URL, resp.StatusCode)
		}
	}
	// Keep the session's cookie: a logout clears it from c's jar.
	gURL, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	otherURL, err := url.Parse(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	replay := Client(t)
	replay.Jar.SetCookies(otherURL, c.Jar.Cookies(gURL))
	end(c)
	start := time.Now()
	for {
		_, resp := other.Get(t, replay, path, "application/json")
		d := time.Since(start)
		switch {
		// 403 may come between the two: an end that also changes the
		// account (blocking it) announces the account change and the
		// session end separately, and when the account change lands
		// first the still-known session is refused, as a blocked
		// account's. Anything else is wrong.
		case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized:
			t.Fatalf("GET %s on %s: %d, want 200 (or 403) then 401", path, other.URL, resp.StatusCode)
		case resp.StatusCode == http.StatusUnauthorized:
			return d
		case d > within:
			t.Fatalf("%s still answered %d, not 401, to the ended session after %s", other.URL, resp.StatusCode, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Logout signs c out of g through the logout form.
func (g *Gateway) Logout(t testing.TB, c *http.Client) {
	t.Helper()
	token := g.CSRFToken(t, c, "/.gatehouse/logout")
	if _, resp := g.PostForm(t, c, "/.gatehouse/logout", url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
}

// SignInSSO signs c in on g through the provider's sign-in flow, following
// every redirect between the gateway and the provider, and fails the test
// unless it ends on the gateway with a session (a 303 out of the callback).
func (g *Gateway) SignInSSO(t testing.TB, c *http.Client, provider string) {
	t.Helper()
	next := g.URL + "/.gatehouse/sso/" + provider + "/start?rd=%2F"
	for range 10 {
		req, err := http.NewRequest(http.MethodGet, next, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", next, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			t.Fatalf("SSO sign-in through %s: %d at %s: %.300s", provider, resp.StatusCode, next, body)
		}
		if strings.HasPrefix(req.URL.Path, "/.gatehouse/sso/"+provider+"/callback") {
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("SSO callback: %d", resp.StatusCode)
			}
			return
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	t.Fatalf("SSO sign-in through %s: too many redirects", provider)
}
