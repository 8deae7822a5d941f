package server_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// dashboardCount reads one number of the dashboard's cards.
func dashboardCount(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"><span class="count">([0-9+]+)</span>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("dashboard: no %s card in %.2000s", id, body)
	}
	return m[1]
}

// TestPanelDashboardScoped: the panel opens on the dashboard, whose
// numbers and lists are those of the caller's companies only: acme's
// administrator never counts beta's people, sessions or failed sign-ins,
// nor sees its invitations, and the other way round.
func TestPanelDashboardScoped(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	g.CreateUser(t, account.NewAccount{Email: "boss@acme.test", Password: pw, CompanyID: "acme", Role: "admin"})
	g.CreateUser(t, account.NewAccount{Email: "alice@acme.test", Password: pw, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "new@acme.test", CompanyID: "acme", Role: "viewer"}) // invited

	g.CreateUser(t, account.NewAccount{Email: "boss@beta.test", Password: pw, CompanyID: "beta", Role: "admin"})
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@beta.test", Password: pw, CompanyID: "beta", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "carol@beta.test", CompanyID: "beta", Role: "viewer"}) // invited
	g.CreateUser(t, account.NewAccount{Email: "dave@beta.test", CompanyID: "beta", Role: "viewer"})  // invited
	if _, err := g.Server.Accounts.Block(ctx, "test", bob.ID); err != nil {
		t.Fatal(err)
	}

	// Sessions: beta's people sign in more than acme's.
	for range 2 {
		g.Login(t, servertest.Client(t), "boss@beta.test", pw)
	}
	failLogin(t, g, "alice@acme.test")
	failLogin(t, g, "carol@beta.test")
	failLogin(t, g, "dave@beta.test")

	acme := servertest.Client(t)
	g.Login(t, acme, "boss@acme.test", pw)
	beta := servertest.Client(t)
	g.Login(t, beta, "boss@beta.test", pw)

	for _, tc := range []struct {
		who, self                                    string
		c                                            *http.Client
		active, invited, blocked, sessions, failures string
		mine, others                                 []string
	}{
		{"acme's admin", "boss@acme.test", acme, "2", "1", "0", "1", "1", []string{"new@acme.test", "alice@acme.test"}, []string{"beta.test"}},
		{"beta's admin", "boss@beta.test", beta, "1", "2", "1", "3", "2", []string{"carol@beta.test", "dave@beta.test"}, []string{"acme.test"}},
	} {
		body, resp := g.Get(t, tc.c, "/.gatehouse/admin/", "text/html")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="dashboard-counts"`) {
			t.Fatalf("%s: the panel's first page is not the dashboard: %d %.500s", tc.who, resp.StatusCode, body)
		}
		for id, want := range map[string]string{"count-active": tc.active, "count-invited": tc.invited, "count-blocked": tc.blocked,
			"count-sessions": tc.sessions, "count-failures": tc.failures} {
			if got := dashboardCount(t, body, id); got != want {
				t.Errorf("%s: %s = %s, want %s", tc.who, id, got, want)
			}
		}
		for _, s := range tc.mine {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the dashboard does not show %s", tc.who, s)
			}
		}
		// The page's own account menu names the caller; no other address
		// of the other company may appear.
		for _, s := range tc.others {
			if strings.Contains(strings.ReplaceAll(body, tc.self, ""), s) {
				t.Errorf("%s: the dashboard shows something of %s", tc.who, s)
			}
		}
	}
}
