package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
