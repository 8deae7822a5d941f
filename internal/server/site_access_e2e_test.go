package server_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSiteAccessListsAgree: the users list filtered on a site and the
// site's own page name the same people, under both role models: in the
// standard model every role sees every site (all members, and the page
// says why its boxes are locked and offers no Save); in the site-scoped
// model the manager sees every site and the others only those granted.
func TestSiteAccessListsAgree(t *testing.T) {
	for _, tc := range []struct {
		model, admin, member string
		granted              []string // members granted the site
		want                 []string // who reaches it
		locked               bool     // no box can change
	}{
		{account.ModelStandard, "admin", "viewer", nil,
			[]string{"a@example.com", "b@example.com", "boss@example.com", "c@example.com"}, true},
		{account.ModelSiteScoped, "manager", "user", []string{"b@example.com"},
			[]string{"b@example.com", "boss@example.com"}, false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Roles = tc.model }})
			ctx := context.Background()
			g.CreateUser(t, account.NewAccount{Email: "boss@example.com", Password: pw, CompanyID: "acme", Role: tc.admin})
			for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				g.CreateUser(t, account.NewAccount{Email: e, CompanyID: "acme", Role: tc.member})
			}
			g.CreateUser(t, account.NewAccount{Email: "elsewhere@example.com", CompanyID: "globex", Role: tc.admin})
			if err := g.Store.CreateSite(ctx, store.Site{ID: "site-tls", CompanyID: "acme", Name: "Toulouse", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.granted {
				a, err := g.Store.GetAccountByEmail(ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				if err := g.Store.GrantSite(ctx, a.ID, "site-tls"); err != nil {
					t.Fatal(err)
				}
			}
			c := servertest.Client(t)
			g.Login(t, c, "boss@example.com", pw)

			users, resp := g.Get(t, c, "/.gatehouse/admin/users?site=site-tls", "text/html")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("users: %d", resp.StatusCode)
			}
			var listed []string
			for _, m := range regexp.MustCompile(`<tr data-email="([^"]+)">`).FindAllStringSubmatch(users, -1) {
				listed = append(listed, m[1])
			}
			slices.Sort(listed)
			site, resp := g.Get(t, c, "/.gatehouse/admin/sites/site-tls", "text/html")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("site: %d", resp.StatusCode)
			}
			var reach []string
			for _, m := range regexp.MustCompile(`<tr data-email="([^"]+)" data-access="true">`).FindAllStringSubmatch(site, -1) {
				reach = append(reach, m[1])
			}
			slices.Sort(reach)
			if !slices.Equal(listed, tc.want) || !slices.Equal(reach, tc.want) {
				t.Errorf("who reaches the site: users list %v, site page %v, want %v", listed, reach, tc.want)
			}
			saveLocked := regexp.MustCompile(`id="site-members-submit" class="inline" disabled`).MatchString(site)
			explained := strings.Contains(site, `id="site-all-sites"`)
			if saveLocked != tc.locked || explained != tc.locked {
				t.Errorf("Save disabled %v, explanation shown %v, want both %v", saveLocked, explained, tc.locked)
			}
		})
	}
}
