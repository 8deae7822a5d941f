package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// freshRoles is a model with one site-scoped role (viewer), so a change of
// site access shows in the `sites` claim.
const freshRoles = `name: freshness
roles:
  - name: admin
    all_sites: true
    capabilities: [view, download, comment, be_assigned_tasks, sign_documents, edit_objects,
      manage_workflows, be_responsible, receive_notifications, admin_panel, manage_users,
      exports, integration_logs]
  - name: manager
    all_sites: true
    capabilities: [view, download, comment, edit_objects]
  - name: viewer
    capabilities: [view, download, comment]
`

// echoAssertion answers every request with the assertion it carried.
func echoAssertion(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Gatehouse-Assertion"))
	}))
	t.Cleanup(up.Close)
	return up
}

// seen is what one proxied request showed: its status and, when it was
// let through, the raw assertion and its verified claims.
type seen struct {
	status int
	token  string
	claims map[string]any
}

// TestAccountChangesReachTheNextAssertion: with two gateways on one
// PostgreSQL, every kind of change to an account made through the admin
// API (or the account page, for the user's own preferences) on the first
// shows in the very next assertion the first issues, and in the second's
// within a second, although both had the identity cached beforehand. On
// SQLite (one process) the first alone.
func TestAccountChangesReachTheNextAssertion(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { accountChangesReach(t, true) })
	t.Run("sqlite", func(t *testing.T) { accountChangesReach(t, false) })
}

func accountChangesReach(t *testing.T, postgres bool) {
	up := echoAssertion(t)
	roles := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(roles, []byte(freshRoles), 0o600); err != nil {
		t.Fatal(err)
	}
	route := func(prefix, audience, company string, allow ...string) config.Route {
		return config.Route{PathPrefix: prefix, Upstream: up.URL, Audience: audience, Company: company,
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16, Allow: config.Allow{Roles: allow}}
	}
	g1 := servertest.Start(t, servertest.Options{Postgres: postgres, Configure: func(c *config.Config) {
		c.Roles = roles
		c.Routes = []config.Route{
			route("/", "app", "acme"),
			route("/managers", "managers-app", "acme", "manager"),
			route("/beta", "beta-app", "beta"),
		}
	}})
	gateways := []*servertest.Gateway{g1}
	var g2 *servertest.Gateway
	if postgres {
		g2 = secondGateway(t, g1)
		gateways = append(gateways, g2)
	}
	ctx := context.Background()

	adminAcct := g1.CreateUser(t, account.NewAccount{Email: "root@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	if err := g1.Store.CreateCompany(ctx, store.Company{ID: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	if err := g1.Store.SetMembership(ctx, store.Membership{AccountID: adminAcct.ID, CompanyID: "beta", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := g1.Store.CreateSite(ctx, store.Site{ID: "site_tls", CompanyID: "acme", Name: "Toulouse"}); err != nil {
		t.Fatal(err)
	}
	ada := g1.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Password: pw, CompanyID: "acme", Role: "manager"})

	admin := servertest.Client(t)
	g1.Login(t, admin, "root@example.com", pw)
	csrf := g1.CSRFToken(t, admin, "/.gatehouse/logout")
	api := func(t *testing.T, method, path, body string, want int) {
		t.Helper()
		st, out := apiCall(t, g1, admin, csrf, method, "/.gatehouse/api/v1/"+path, "application/json", body)
		mustStatus(t, method+" "+path, st, want, out)
	}
	api(t, "POST", "properties?company=acme", `{"key":"dept","labels":{"en":"Department"},"type":"text"}`, http.StatusCreated)

	// Ada is signed in on each gateway with a session of its own.
	email := "ada@example.com"
	on := map[*servertest.Gateway]*http.Client{}
	signIn := func(t *testing.T) {
		for _, g := range gateways {
			on[g] = servertest.Client(t)
			g.Login(t, on[g], email, pw)
		}
	}
	signIn(t)
	look := func(t *testing.T, g *servertest.Gateway, path string) seen {
		t.Helper()
		body, resp := g.Get(t, on[g], path, "application/json")
		s := seen{status: resp.StatusCode}
		if s.status == http.StatusOK {
			audience := map[string]string{"/": "app", "/managers": "managers-app", "/beta": "beta-app"}[path]
			s.token, s.claims = body, verifyAssertion(t, g, body, audience)
		}
		return s
	}
	preferences := func(t *testing.T, language, dateFormat string) {
		t.Helper()
		token := g1.CSRFToken(t, on[g1], "/.gatehouse/account/")
		_, resp := g1.PostForm(t, on[g1], "/.gatehouse/account/preferences", url.Values{
			"csrf_token": {token}, "language": {language}, "date_format": {dateFormat}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("account preferences: %d", resp.StatusCode)
		}
	}
	claim := func(name string, want any) func(seen, seen) bool {
		return func(_, s seen) bool { return s.status == http.StatusOK && s.claims[name] == want }
	}
	status := func(want int) func(seen, seen) bool {
		return func(_, s seen) bool { return s.status == want }
	}

	for _, tc := range []struct {
		name   string
		before func(t *testing.T) // makes the change possible (not timed)
		change func(t *testing.T)
		path   string
		// shows reports whether the request after the change reflects
		// it, given the request before.
		shows func(before, after seen) bool
	}{
		{name: "language", path: "/", change: func(t *testing.T) { preferences(t, "fr", "MM/DD/YYYY") }, shows: claim("locale", "fr")},
		{name: "date format", path: "/", change: func(t *testing.T) { preferences(t, "fr", "DD/MM/YYYY") },
			// Not a claim: the assertion issued after the change is a new
			// one, built from the changed account.
			shows: func(before, s seen) bool { return s.status == http.StatusOK && s.token != before.token }},
		{name: "names", path: "/", change: func(t *testing.T) {
			api(t, "PATCH", "accounts/"+ada.ID, `{"first_name":"Augusta","last_name":"King"}`, http.StatusOK)
		}, shows: func(_, s seen) bool { return s.claims["given_name"] == "Augusta" && s.claims["name"] == "Augusta King" }},
		{name: "email", path: "/", change: func(t *testing.T) {
			api(t, "PATCH", "accounts/"+ada.ID, `{"email":"ada.king@example.com"}`, http.StatusOK)
			email = "ada.king@example.com"
		}, shows: claim("email", "ada.king@example.com")},
		{name: "membership added", path: "/beta", change: func(t *testing.T) {
			api(t, "PUT", "accounts/"+ada.ID+"/memberships/beta", `{"role":"viewer"}`, http.StatusOK)
		}, shows: claim("role", "viewer")},
		{name: "membership removed", path: "/beta", change: func(t *testing.T) {
			api(t, "DELETE", "accounts/"+ada.ID+"/memberships/beta", "", http.StatusOK)
		}, shows: status(http.StatusForbidden)},
		{name: "role on a route that needs it", path: "/managers", change: func(t *testing.T) {
			api(t, "PUT", "accounts/"+ada.ID+"/memberships/acme", `{"role":"viewer"}`, http.StatusOK)
		}, shows: status(http.StatusForbidden)},
		{name: "role claim", path: "/", change: func(t *testing.T) {
			api(t, "PUT", "accounts/"+ada.ID+"/memberships/acme", `{"role":"manager"}`, http.StatusOK)
		}, shows: claim("role", "manager")},
		{name: "sites", path: "/", before: func(t *testing.T) {
			api(t, "PUT", "accounts/"+ada.ID+"/memberships/acme", `{"role":"viewer","sites":["site_tls"]}`, http.StatusOK)
		}, change: func(t *testing.T) {
			api(t, "PUT", "sites/site_tls/members", `{"accounts":[]}`, http.StatusOK)
		}, shows: func(_, s seen) bool {
			// Before: the viewer's one site (checked not to show).
			return s.status == http.StatusOK && len(anyStrings(s.claims["sites"])) == 0
		}},
		{name: "property values", path: "/", change: func(t *testing.T) {
			api(t, "PATCH", "accounts/"+ada.ID+"/properties?company=acme", `{"dept":"ops"}`, http.StatusOK)
		}, shows: func(_, s seen) bool { props, _ := s.claims["props"].(map[string]any); return props["dept"] == "ops" }},
		{name: "access rules", path: "/", change: func(t *testing.T) {
			api(t, "POST", "access-rules?company=acme",
				`{"name":"Ops","capability":"view","tag":"dept:ops","condition":{"property":"dept","op":"equals","value":"ops"}}`, http.StatusCreated)
		}, shows: func(_, s seen) bool { return slices.Contains(grantsOf(s.claims), "view@dept:ops") }},
		{name: "status blocked", path: "/", change: func(t *testing.T) {
			api(t, "POST", "accounts/"+ada.ID+"/block", "", http.StatusOK)
		}, shows: status(http.StatusUnauthorized)},
		{name: "status deactivated", path: "/", before: func(t *testing.T) {
			api(t, "POST", "accounts/"+ada.ID+"/unblock", "", http.StatusOK)
			signIn(t)
		}, change: func(t *testing.T) {
			api(t, "POST", "accounts/"+ada.ID+"/deactivate", "", http.StatusOK)
		}, shows: status(http.StatusUnauthorized)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			// Both gateways have the identity cached before the change.
			was := map[*servertest.Gateway]seen{}
			for _, g := range gateways {
				was[g] = look(t, g, tc.path)
				if tc.shows(was[g], was[g]) {
					t.Fatalf("on %s the change shows before it is made", g.URL)
				}
			}
			tc.change(t)
			if s := look(t, g1, tc.path); !tc.shows(was[g1], s) {
				t.Errorf("the gateway that made the change: the next request is still stale: status %d, claims %v", s.status, s.claims)
			}
			if g2 == nil {
				return
			}
			start := time.Now()
			for {
				s := look(t, g2, tc.path)
				if tc.shows(was[g2], s) {
					t.Logf("the other gateway saw it in %s", time.Since(start))
					break
				}
				if time.Since(start) > time.Second {
					t.Fatalf("the other gateway still stale after 1s: status %d, claims %v", s.status, s.claims)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
