package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestPanelErrorsKeepTheLayout: an unknown account, an unknown panel
// address and a signed-in visitor who is no administrator all get their
// error inside the panel's layout, with its navigation and a way on that
// fits a signed-in person, never "Back to the sign-in page".
func TestPanelErrorsKeepTheLayout(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	viewer := servertest.Client(t)
	g.Login(t, viewer, "viewer@example.com", pw)

	for _, tc := range []struct {
		who    string
		c      *http.Client
		path   string
		status int
		want   []string
		not    []string
	}{
		{"admin", admin, "/.gatehouse/admin/users/acct_nope", http.StatusNotFound,
			[]string{`class="admin-nav"`, `href="/.gatehouse/admin/users"`, `href="/.gatehouse/admin/">Back to the dashboard`, "does not exist"}, nil},
		{"admin", admin, "/.gatehouse/admin/no/such/page", http.StatusNotFound,
			[]string{`class="admin-nav"`, `href="/.gatehouse/admin/audit"`, "Back to the dashboard"}, []string{"no application"}},
		{"viewer", viewer, "/.gatehouse/admin/users", http.StatusForbidden,
			[]string{`class="admin-nav"`, `href="/.gatehouse/account/"`, `href="/.gatehouse/logout"`, "Ask your IT team"},
			[]string{`href="/.gatehouse/admin/users"`, `href="/.gatehouse/admin/audit"`}},
		{"viewer", viewer, "/.gatehouse/admin/", http.StatusForbidden, []string{`class="admin-nav"`, `href="/.gatehouse/account/"`}, nil},
	} {
		body, resp := g.Get(t, tc.c, tc.path, "text/html")
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.who, tc.path, resp.StatusCode, tc.status)
		}
		if strings.Contains(body, "Back to the sign-in page") || !strings.Contains(body, `name="csrf-token"`) {
			t.Errorf("%s %s: not a signed-in page: %.1500s", tc.who, tc.path, body)
		}
		for _, s := range tc.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s %s: no %s in %.3000s", tc.who, tc.path, s, body)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(body, s) {
				t.Errorf("%s %s: %s shown", tc.who, tc.path, s)
			}
		}
	}
}

// TestSignedOutPagesNameTheirIcon: the gateway's pages name an icon under
// /.gatehouse/static/, served to anyone, so a browser on the sign-in page
// never asks the app's /favicon.ico (a 401 before sign-in); /favicon.ico
// itself stays the apps' path, as every path outside /.gatehouse/ is.
func TestSignedOutPagesNameTheirIcon(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	anon := servertest.Client(t)
	for _, path := range []string{"/.gatehouse/login", "/.gatehouse/password/forgot", "/.gatehouse/logout"} {
		body, resp := g.Get(t, anon, path, "text/html")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<link rel="icon" href="/.gatehouse/static/favicon.svg"`) {
			t.Errorf("%s: %d, no icon link in %.600s", path, resp.StatusCode, body)
		}
	}
	body, resp := g.Get(t, anon, "/.gatehouse/static/favicon.svg", "image/*")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(body, "<svg") {
		t.Errorf("the icon signed out: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
