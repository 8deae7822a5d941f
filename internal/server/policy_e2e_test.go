package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestEachRoutesPolicyWhateverTheOrder: routes that share an audience and
// a company share the identity cache, never each other's decision. Every
// ordered pair of routes is visited by every role, through the proxy and
// through /.gatehouse/verify, with the cache on and emptied before each
// pair so both orders start cold.
func TestEachRoutesPolicyWhateverTheOrder(t *testing.T) {
	up := newUpstream(t)
	route := func(prefix, audience, company string, allow config.Allow, public bool) config.Route {
		return config.Route{PathPrefix: prefix, Upstream: up.URL, Audience: audience, Company: company, Allow: allow, Public: public,
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}
	}
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{
			route("/admin-only/", "app", "acme", config.Allow{Roles: []string{"admin"}}, false),
			route("/edit/", "app", "acme", config.Allow{Capabilities: []string{"edit_objects"}}, false),
			route("/public/", "app", "acme", config.Allow{}, true),
			route("/globex/", "app", "globex", config.Allow{}, false),
			route("/", "app", "acme", config.Allow{}, false),
		}
	}})
	paths := []string{"/admin-only/x", "/edit/x", "/public/x", "/globex/x", "/x"}
	// The standard role model: a manager may edit, a viewer may not.
	want := map[string][]int{
		"viewer":  {403, 403, 200, 403, 200},
		"manager": {403, 200, 200, 403, 200},
		"admin":   {200, 200, 200, 403, 200},
		"globex":  {403, 403, 200, 200, 403},
	}
	clients := map[string]*http.Client{}
	for who := range want {
		company, role := "acme", who
		if who == "globex" {
			company, role = "globex", "admin"
		}
		email := who + "@example.com"
		g.CreateUser(t, account.NewAccount{Email: email, Password: pw, CompanyID: company, Role: role})
		clients[who] = servertest.Client(t)
		g.Login(t, clients[who], email, pw)
	}
	viaProxy := func(c *http.Client, path string) int { return status(t, c, g.URL+path) }
	viaVerify := func(c *http.Client, path string) int {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", "localhost")
		req.Header.Set("X-Forwarded-Uri", path)
		req.Header.Set("Accept", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ways := []struct {
		name string
		ask  func(*http.Client, string) int
	}{{"proxy", viaProxy}, {"verify", viaVerify}}
	for who, codes := range want {
		c := clients[who]
		for i := range paths {
			for j := range paths {
				if i == j {
					continue
				}
				for _, first := range ways {
					for _, second := range ways {
						g.Server.Gate.ForgetAll()
						for _, step := range []struct {
							k   int
							ask func(*http.Client, string) int
						}{{i, first.ask}, {j, second.ask}, {i, second.ask}} {
							if got := step.ask(c, paths[step.k]); got != codes[step.k] {
								t.Errorf("%s: %s via %s, then %s via %s: %s answered %d, want %d",
									who, paths[i], first.name, paths[j], second.name, paths[step.k], got, codes[step.k])
							}
						}
					}
				}
			}
		}
	}
	// The same with an anonymous browser: sign-in wherever it is not public.
	anon := servertest.Client(t)
	for k, p := range paths {
		wantCode := http.StatusUnauthorized
		if k == 2 {
			wantCode = http.StatusOK
		}
		if got := viaProxy(anon, p); got != wantCode {
			t.Errorf("anonymous %s: %d, want %d", p, got, wantCode)
		}
	}
}
