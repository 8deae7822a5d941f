package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// panelBrowser signs an administrator of acme in through the login page
// of a fresh gateway and returns the tab, on the users page.
func panelBrowser(t *testing.T, model string, postgres bool) (*servertest.Gateway, context.Context) {
	t.Helper()
	g := servertest.Start(t, servertest.Options{Postgres: postgres, Configure: func(c *config.Config) { c.Roles = model }})
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
	g, ctx := panelBrowser(t, account.ModelStandard, false)
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

// evalString evaluates a JavaScript expression of the page.
func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// TestBrowserPanelForms, on PostgreSQL: a second "Toulouse" in the same
// company is refused on the sites page; reloading the page that showed a
// new API token's secret creates no second token, and a token expires
// in 90 days unless "never" is ticked; role choices follow the account
// kind, the least privileged personal role first.
func TestBrowserPanelForms(t *testing.T) {
	g, ctx := panelBrowser(t, account.ModelStandard, true)
	bg := context.Background()
	fail := func(name string, err error) {
		t.Helper()
		browsertest.Screenshot(t, ctx, name)
		t.Fatalf("%s: %v", name, err)
	}

	// Sites: the second Toulouse, in another case and with spaces, is
	// refused with the reason, and the company keeps one.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/sites"),
		chromedp.WaitVisible("#site-form"),
		chromedp.SendKeys("#site-name", "Toulouse"),
		chromedp.Click("#site-submit"),
		waitNotice("site_created"),
		chromedp.Navigate(g.URL+"/.gatehouse/admin/sites"),
		chromedp.WaitVisible("#site-form"),
		chromedp.SendKeys("#site-name", " toulouse "),
		chromedp.Click("#site-submit"),
		// The problems, or the page of a second site created.
		chromedp.WaitVisible("#problems, #site-members"),
	); err != nil {
		fail("site-duplicate", err)
	}
	if msg := evalString(t, ctx, `(document.getElementById("problems")||{}).innerText||""`); !strings.Contains(msg, "The company already has a site with this name") {
		fail("site-duplicate", errString("problem shown: "+msg))
	}
	if sites, err := g.Store.ListSites(bg, "acme"); err != nil || len(sites) != 1 {
		fail("site-duplicate", fmt.Errorf("acme has %d sites (%v)", len(sites), err))
	}

	// Tokens: the secret shows once; a reload of that page resubmits the
	// form and gets the tokens page with a notice, not a second token.
	tokens := g.Store.(store.APITokens)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/tokens"),
		chromedp.WaitVisible("#token-form"),
	); err != nil {
		fail("token-page", err)
	}
	today := time.Now().UTC()
	if got, want := evalString(t, ctx, `document.getElementById("token-expires").value`), today.Add(90*24*time.Hour).Format(time.DateOnly); got != want {
		fail("token-default-expiry", errString("expiry offered "+got+", want "+want))
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#token-name", "ci"),
		chromedp.Click("#token-submit"),
		chromedp.WaitVisible("#token-secret"),
	); err != nil {
		fail("token-create", err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#token-form")); err != nil {
		fail("token-reload", err)
	}
	var ts []store.APIToken
	panelWait(t, 10*time.Second, "the reloaded tokens page", func() bool {
		var err error
		if ts, err = tokens.ListAPITokens(bg); err != nil {
			t.Fatal(err)
		}
		return len(ts) != 1 || strings.Contains(evalString(t, ctx, `location.search`), "notice=token_already_created")
	})
	if len(ts) != 1 {
		fail("token-reload", fmt.Errorf("%d tokens after a reload, want 1", len(ts)))
	}
	if err := chromedp.Do(ctx, waitNotice("token_already_created")); err != nil {
		fail("token-reload", err)
	}
	if evalString(t, ctx, `document.getElementById("token-secret") ? "shown" : ""`) != "" {
		fail("token-reload", errString("the secret is shown again"))
	}
	if d := ts[0].ExpiresAt.Sub(today); d < 89*24*time.Hour || d > 92*24*time.Hour {
		fail("token-expiry", fmt.Errorf("the token expires in %s", d))
	}
	// "Never" stays a deliberate choice.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#token-name", "forever"),
		chromedp.Click("#token-never"),
		chromedp.Click("#token-submit"),
		chromedp.WaitVisible("#token-secret"),
	); err != nil {
		fail("token-never", err)
	}
	ts, _ = tokens.ListAPITokens(bg)
	never := 0
	for _, tk := range ts {
		if tk.ExpiresAt.IsZero() {
			never++
		}
	}
	if len(ts) != 2 || never != 1 {
		fail("token-never", fmt.Errorf("%d tokens, %d never expiring; want 2 and 1", len(ts), never))
	}

	// Roles follow the account kind; the least privileged personal role
	// comes first chosen.
	roleOptions := `Array.from(document.querySelectorAll("#ROLE option:not([disabled])")).map(o => o.value).join(",")`
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/admin/invite"), chromedp.WaitVisible("#invite-form")); err != nil {
		fail("invite-roles", err)
	}
	if got := evalString(t, ctx, strings.ReplaceAll(roleOptions, "ROLE", "role")); got != "viewer,manager,admin" {
		fail("invite-roles", errString("invite offers "+got))
	}
	if got := evalString(t, ctx, `document.getElementById("role").value`); got != "viewer" {
		fail("invite-roles", errString("invite chooses "+got))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/admin/users/new"), chromedp.WaitVisible("#new-user-form")); err != nil {
		fail("new-user-roles", err)
	}
	if got := evalString(t, ctx, `document.getElementById("role").value + "|" + `+strings.ReplaceAll(roleOptions, "ROLE", "role")); got != "viewer|viewer,manager,admin" {
		fail("new-user-roles", errString("new personal user: "+got))
	}
	chooseKind := func(kind string) {
		t.Helper()
		evalString(t, ctx, `(() => { const k = document.getElementById("kind"); k.value = "`+kind+`";
			k.dispatchEvent(new Event("change", {bubbles: true})); return k.value })()`)
	}
	chooseKind("shared_computer")
	if got := evalString(t, ctx, `document.getElementById("role").value + "|" + `+strings.ReplaceAll(roleOptions, "ROLE", "role")); got != "shared_computer|shared_computer" {
		fail("new-user-roles", errString("new shared computer: "+got))
	}
	// A personal account given the shared-computer role anyway (a forged
	// form) is refused with the reason, and nothing is created.
	chooseKind("personal")
	evalString(t, ctx, `(() => { const o = document.querySelector('#role option[value="shared_computer"]'); o.disabled = false; o.selected = true; return o.value })()`)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#email", "pat@example.com"),
		chromedp.SendKeys("#first_name", "Pat"),
		chromedp.SendKeys("#last_name", "Person"),
		chromedp.Click("#create-submit"),
		chromedp.WaitVisible("#problems"),
	); err != nil {
		fail("new-user-forged", err)
	}
	if msg := evalString(t, ctx, `document.getElementById("problems").innerText`); !strings.Contains(msg, "for shared-computer accounts only") {
		fail("new-user-forged", errString("problem shown: "+msg))
	}
	if _, err := g.Store.GetAccountByEmail(bg, "pat@example.com"); !errors.Is(err, store.ErrNotFound) {
		fail("new-user-forged", fmt.Errorf("the refused account exists (%v)", err))
	}
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@example.com", CompanyID: "acme", Role: "manager"})
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/admin/users/"+bob.ID), chromedp.WaitVisible("#membership-form")); err != nil {
		fail("user-roles", err)
	}
	if got := evalString(t, ctx, `document.getElementById("m-role").value + "|" + `+strings.ReplaceAll(roleOptions, "ROLE", "m-role")); got != "viewer|viewer,manager,admin" {
		fail("user-roles", errString("set the role offers "+got))
	}
}
