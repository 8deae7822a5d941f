package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// panelWorld fills a gateway with something on every panel page: people
// with long addresses, a site, a property, an access rule, an API token
// and the audit events all that made. It returns the panel's pages.
func panelWorld(t *testing.T, g *servertest.Gateway) []string {
	t.Helper()
	ctx := context.Background()
	var last store.Account
	for i := range 12 {
		last = g.CreateUser(t, account.NewAccount{
			Email:     fmt.Sprintf("a.very.long.address.for.person.number.%02d@manufacturing-division.example.com", i),
			FirstName: "Maximiliane-Josephine", LastName: "Oberhausen-Wittgenstein", CompanyID: "acme", Role: "viewer",
		})
	}
	if err := g.Store.CreateSite(ctx, store.Site{ID: "site-toulouse", CompanyID: "acme", Name: "Toulouse", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rs := g.Server.Rules
	if _, err := rs.CreateDef(ctx, rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: "acme", Key: "site",
		Type: store.PropertyChoice, Choices: []string{"Toulouse", "Hamburg"}, Labels: map[string]string{"en": "Site"}}); err != nil {
		t.Fatal(err)
	}
	name, capability, tag := "Toulouse engineers edit Toulouse drawings", account.CapEditObjects, "site:Toulouse"
	r, err := rs.CreateRule(ctx, rules.Actor{ID: "test"}, "acme", rules.RuleInput{Name: &name, Capability: &capability, Tag: &tag,
		Condition: json.RawMessage(`{"all":[{"property":"site","op":"equals","value":"Toulouse"},{"role":true,"op":"in","values":["viewer","manager"]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	root, err := g.Store.GetAccountByEmail(ctx, "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Store.CreateAPIToken(ctx, store.APIToken{ID: "tok_deploy", Hash: []byte("h"), Name: "Nightly deployment of the manufacturing execution system",
		AccountID: root.ID, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return []string{"", "users", "users?status=invited", "users/new", "users/" + last.ID, "users/" + root.ID, "invite", "companies", "sites",
		"sites/site-toulouse", "providers", "tokens", "audit", "properties", "rules", "rules/" + r.ID,
		"explain?company=acme&account=root%40example.com&capability=edit_objects&tag=site%3AToulouse", "import", "export"}
}

// TestBrowserSmallScreen: at 375 px wide, no panel page and not the
// account page scrolls sideways as a whole; wide tables scroll inside their
// own box.
func TestBrowserSmallScreen(t *testing.T) {
	g, ctx := panelBrowser(t, account.ModelStandard, false)
	paths := []string{}
	for _, p := range panelWorld(t, g) {
		paths = append(paths, "/.gatehouse/admin/"+p)
	}
	paths = append(paths, "/.gatehouse/account/")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812)); err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+path), chromedp.WaitReady("body")); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		widths := eval[struct{ Scroll, Inner int }](t, ctx, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
		errorPage := eval[bool](t, ctx, `!!document.getElementById("panel-error-links")`)
		if errorPage {
			t.Errorf("%s: an error page", path)
		}
		if widths.Inner != 375 || widths.Scroll > widths.Inner {
			browsertest.Screenshot(t, ctx, "small-"+strings.NewReplacer("/", "_", "?", "_").Replace(path))
			t.Errorf("%s: the page is %d px wide in a %d px window", path, widths.Scroll, widths.Inner)
		}
	}
}

// TestBrowserErrorSummaryTakesFocus: after a refused form the focus is on
// the error summary, and the field it is about says it is invalid and is
// described by it; the skip link leads past the navigation.
func TestBrowserErrorSummaryTakesFocus(t *testing.T) {
	g, ctx := panelBrowser(t, account.ModelStandard, false)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users/new"),
		chromedp.WaitVisible("#new-user-form"),
		chromedp.SendKeys("#email", "root@example.com"), // taken
		chromedp.SendKeys("#first_name", "Second"),
		chromedp.SendKeys("#last_name", "Root"),
		chromedp.Click("#create-submit"),
		chromedp.WaitVisible("#problems"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "error-summary")
		t.Fatal(err)
	}
	active := eval[string](t, ctx, `document.activeElement.id`)
	invalid := eval[string](t, ctx, `document.getElementById("email").getAttribute("aria-invalid") || ""`)
	describedBy := eval[string](t, ctx, `document.getElementById("email").getAttribute("aria-describedby") || ""`)
	skipTarget := eval[string](t, ctx, `(document.querySelector("a.skip-link")||{}).hash || ""`)
	if active != "problems" {
		browsertest.Screenshot(t, ctx, "error-summary")
		t.Errorf("focus on %q after a refused form, want the error summary", active)
	}
	if invalid != "true" || !strings.Contains(describedBy, "problems") {
		t.Errorf("the email field: aria-invalid %q, aria-describedby %q", invalid, describedBy)
	}
	// The skip link is the first thing a keyboard reaches, and leads to
	// the content after the navigation.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users"),
		chromedp.WaitVisible("#users-table"),
		chromedp.KeyEvent("\t"),
	); err != nil {
		t.Fatal(err)
	}
	first := eval[string](t, ctx, `document.activeElement.className`)
	after := eval[bool](t, ctx, `!!(document.querySelector("nav.admin-nav").compareDocumentPosition(document.getElementById("content")) & Node.DOCUMENT_POSITION_FOLLOWING)`)
	if first != "skip-link" || skipTarget != "#content" || !after {
		t.Errorf("first tab stop %q, skip link to %q (after the navigation: %v)", first, skipTarget, after)
	}
}

// eval runs a script in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return v
}
