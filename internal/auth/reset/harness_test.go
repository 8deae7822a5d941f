package reset_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/login"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/i18n"
	gmail "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/web"
)

// env is a gateway in miniature: the real login, sessions, throttle, mail
// queue and SMTP delivery, with the reset handler mounted.
type env struct {
	t      *testing.T
	ctx    context.Context
	URL    string
	st     store.Store
	svc    *account.Service
	clock  *clocktest.Clock
	reset  *reset.Handler
	queue  *gmail.Queue
	mailQ  *mailtest.Queue
	smtp   *mailtest.Server
	guard  *throttle.Guard
	server *httptest.Server
}

type envOptions struct {
	lockout throttle.Options
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := clocktest.New(time.Now().UTC().Truncate(time.Second))
	logger := slog.New(slog.DiscardHandler)
	hasher := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, nil)
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := web.NewRenderer(catalog, logger)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.NewManager(st, session.Options{HashKey: []byte(strings.Repeat("k", 32))}, c.Now, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc := account.NewService(st, sessions, account.Standard(), hasher, c.Now, rand.Reader)
	csrf := web.NewCSRF([]byte(strings.Repeat("c", 32)), false, rand.Reader)
	clientIP := func(r *http.Request) string {
		if ip := r.Header.Get("X-Test-IP"); ip != "" {
			return ip
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	if o.lockout.IPLimit == 0 {
		o.lockout.IPLimit = 1000
	}
	guard := throttle.New(st, o.lockout, clientIP, c.Now, logger)

	smtpSrv := mailtest.StartServer(t)
	sender, err := gmail.NewSMTP(gmail.SMTPOptions{Host: smtpSrv.Host, Port: smtpSrv.Port, From: "gatehouse@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mailQ := mailtest.NewQueue()
	queue := gmail.NewQueue(mailQ, st, sender, c.Now, logger)
	tpl, err := gmail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}

	// The server first: reset's links are built on its URL.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// localhost, so Chromium treats the origin as the browser tests expect.
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	login.New(login.Deps{
		Renderer: renderer, CSRF: csrf, Accounts: st, Audit: st, Passwords: hasher, Sessions: sessions,
		Guard: guard, Redirect: func(string) string { return "/" }, ClientIP: clientIP, Logger: logger,
	}).Mount(mux)
	h := reset.New(reset.Deps{
		Renderer: renderer, CSRF: csrf, Accounts: st, Tokens: st, Audit: st,
		Passwords: svc, Sessions: sessions, Mail: queue, Templates: tpl, Limiter: guard, PublicURL: u,
		ResetTTL: 30 * time.Minute, InviteTTL: 72 * time.Hour,
		ClientIP: clientIP, Now: c.Now, Logger: logger,
	})
	h.Mount(mux)
	// The "app": who is signed in.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, err := sessions.Lookup(r.Context(), r)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "<p id=\"who\">signed in as "+s.AccountID+"</p>")
	})
	t.Cleanup(h.Wait)
	return &env{t: t, ctx: ctx, URL: u, st: st, svc: svc, clock: c, reset: h, queue: queue, mailQ: mailQ, smtp: smtpSrv, guard: guard, server: srv}
}

func (e *env) createAccount(email, pw string) store.Account {
	e.t.Helper()
	a, err := e.svc.Create(e.ctx, account.NewAccount{Email: email, FirstName: "Ada", LastName: "Lovelace", Password: pw, Role: "viewer", Language: "en"})
	if err != nil {
		e.t.Fatalf("create %s: %v", email, err)
	}
	return a
}

// deliver waits for background forgot work and sends what is queued.
func (e *env) deliver() {
	e.t.Helper()
	e.reset.Wait()
	if _, err := e.queue.Flush(e.ctx); err != nil {
		e.t.Fatalf("flush: %v", err)
	}
}

// client is a browser without JavaScript: a cookie jar, no redirects followed.
type client struct {
	t   *testing.T
	e   *env
	hc  *http.Client
	ip  string
	jar http.CookieJar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, hc: &http.Client{
		Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	req.Header.Set("Accept", "text/html")
	if c.ip != "" {
		req.Header.Set("X-Test-IP", c.ip)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (c *client) get(u string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.abs(u), nil)
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post fetches the page first for its CSRF token, as a browser would.
func (c *client) post(u string, form url.Values, mutate ...func(*http.Request)) (*http.Response, string) {
	c.t.Helper()
	_, page := c.get(u)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		// A page without a form (an invalid link): the token is per
		// browser, so any form page gives it.
		_, page = c.get("/.gatehouse/password/forgot")
		m = csrfRE.FindStringSubmatch(page)
	}
	if m == nil {
		c.t.Fatalf("no CSRF token on %s:\n%s", u, page)
	}
	form.Set("csrf_token", m[1])
	req, _ := http.NewRequest("POST", c.abs(u), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, f := range mutate {
		f(req)
	}
	return c.do(req)
}

func (c *client) abs(u string) string {
	if strings.HasPrefix(u, "http") {
		return u
	}
	return c.e.URL + u
}

func (c *client) login(email, pw string) int {
	c.t.Helper()
	resp, _ := c.post("/.gatehouse/login", url.Values{"email": {email}, "password": {pw}})
	return resp.StatusCode
}

// linkIn returns the set-password link in a received mail's text part.
func linkIn(t *testing.T, raw []byte) string {
	t.Helper()
	text := textPart(t, raw)
	m := regexp.MustCompile(`https?://\S+/\.gatehouse/password/reset\?token=[A-Za-z0-9_-]+`).FindString(text)
	if m == "" {
		t.Fatalf("no link in mail:\n%s", text)
	}
	return m
}

func textPart(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		return string(b)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			// multipart.Reader decodes quoted-printable parts itself.
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

func (e *env) audit(action string) []store.AuditEvent {
	evs, err := e.st.ListAudit(e.ctx, store.AuditQuery{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}
