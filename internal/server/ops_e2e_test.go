package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestOperationsEndpointsAndQuietLogs(t *testing.T) {
	up := newUpstream(t)
	logs := &lockedBuffer{}
	g := servertest.Start(t, servertest.Options{LogTo: logs, Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	g.CreateUser(t, account.NewAccount{Email: "ops@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(t)
	g.Login(t, c, "ops@example.com", pw)
	status(t, c, g.URL+"/x?secret=query-value")
	bad := servertest.Client(t)
	token := g.CSRFToken(t, bad, "/.gatehouse/login")
	g.PostForm(t, bad, "/.gatehouse/login", url.Values{"email": {"ops@example.com"}, "password": {"wrong but long password"}, "csrf_token": {token}})

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		if st := status(t, http.DefaultClient, g.OpsURL+path); st != want {
			t.Errorf("%s: %d", path, st)
		}
	}
	resp, err := http.Get(g.OpsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{
		`gatehouse_requests_total{route="app",status="200"}`,
		`gatehouse_upstream_duration_seconds_bucket{route="app"`,
		`gatehouse_logins_total{method="password",result="success"} 1`,
		`gatehouse_logins_total{method="password",result="failure"} 1`,
		`gatehouse_active_sessions`,
	} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// The gateway's own pages are not under the public listener's routes.
	if st := status(t, http.DefaultClient, g.URL+"/metrics"); st == http.StatusOK {
		t.Error("/metrics must not be served on the public listener")
	}

	out := logs.String()
	if !strings.Contains(out, `"request_id"`) {
		t.Error("access log lines carry no request id")
	}
	var sessionCookie string
	for _, ck := range c.Jar.Cookies(mustURL(t, g.URL)) {
		if ck.Name == "gatehouse_session" {
			sessionCookie = ck.Value
		}
	}
	for _, secret := range []string{pw, "wrong but long password", sessionCookie, "query-value", up.lastRequest(t).Header.Get("X-Gatehouse-Assertion")} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("a secret reached the logs: %.30s…", secret)
		}
	}
}
