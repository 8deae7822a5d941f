package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// panelBrowser signs an administrator of acme in through the login page
// of a fresh gateway and returns the tab, on the users page.
func panelBrowser(t *testing.T, model string) (*servertest.Gateway, context.Context) {
	t.Helper()
	g := gatewayWith(t, newUpstream(t), func(c *config.Config) { c.Roles = model })
	g.CreateUser(t, account.NewAccount{Email: "root@example.com", FirstName: "Root", LastName: "Admin", Password: panelPW, CompanyID: "acme", Role: "admin"})
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "root@example.com"),
		chromedp.SendKeys("#password", panelPW),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#users-table"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "panel-login")
		t.Fatal(err)
	}
	return g, ctx
}

// columnTexts lists the text of one column of a table on the page.
func columnTexts(t *testing.T, ctx context.Context, table string, col int) []string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("#%s tbody tr")).map(r => r.cells[%d].innerText.trim())`, table, col)))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// followPages walks a paged table by clicking its "next" link until the
// last page, returning every page's values of one column.
func followPages(t *testing.T, ctx context.Context, start, table string, col int) [][]string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(start), chromedp.WaitVisible("#"+table)); err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	for len(pages) < 10 {
		pages = append(pages, columnTexts(t, ctx, table, col))
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("next-page")||{}).href||""`))
		if err != nil {
			t.Fatal(err)
		}
		if href == "" {
			return pages
		}
		// Navigate to what the link says, as a click would, and wait for
		// the table of that page.
		if err := chromedp.Do(ctx, chromedp.Navigate(href), chromedp.WaitVisible("#"+table)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: more than 10 pages", table)
	return nil
}

// TestBrowserPanelPagination: with 120 accounts, "Next page" on the users
// list walks to the last account and "Older events" on the audit log
// shows older events, never page one again.
func TestBrowserPanelPagination(t *testing.T) {
	g, ctx := panelBrowser(t, account.ModelStandard)
	const n = 120
	for i := 1; i <= n; i++ {
		// Invited accounts (no password) spare the password hashing.
		g.CreateUser(t, account.NewAccount{Email: fmt.Sprintf("user%03d@example.com", i), CompanyID: "acme", Role: "viewer"})
	}

	pages := followPages(t, ctx, g.URL+"/.gatehouse/admin/users", "users-table", 1)
	seen := map[string]bool{}
	for _, p := range pages {
		for _, email := range p {
			if seen[email] {
				browsertest.Screenshot(t, ctx, "users-pages")
				t.Fatalf("users: %s shown twice over %d pages", email, len(pages))
			}
			seen[email] = true
		}
	}
	if len(seen) != n+1 || !seen[fmt.Sprintf("user%03d@example.com", n)] {
		browsertest.Screenshot(t, ctx, "users-pages")
		t.Fatalf("users: %d pages reach %d accounts, want %d", len(pages), len(seen), n+1)
	}

	// Every creation is an audit event naming its account as the target.
	pages = followPages(t, ctx, g.URL+"/.gatehouse/admin/audit", "audit-table", 3)
	if len(pages) < 2 {
		t.Fatalf("audit: %d page(s) for more than %d events", len(pages), n)
	}
	first := map[string]bool{}
	for _, target := range pages[0] {
		first[target] = true
	}
	older := 0
	for _, target := range pages[1] {
		if strings.HasPrefix(target, "user") && !first[target] {
			older++
		}
	}
	if older == 0 {
		browsertest.Screenshot(t, ctx, "audit-older")
		t.Fatalf("audit: \"Older events\" shows no event missing from the first page: %q", pages[1])
	}
}
