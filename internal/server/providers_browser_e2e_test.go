package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// TestBrowserProviderTestSignIn: from a provider's page IT starts a test
// sign-in, which opens a new tab, goes through the provider and shows the
// ID token's claims and what Gatehouse would do (here: link the
// pre-created account), while no session starts for that identity, no
// link is made, and the administrator stays who they were.
func TestBrowserProviderTestSignIn(t *testing.T) {
	idp := providertest.New(providertest.Options{ClientSecret: "browser-test-secret-55ab"})
	t.Cleanup(idp.Close)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Secrets.Key = secretsKey(4) }})
	admin := newProviderAdmin(t, g)
	ada := g.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	idp.SetUser(providertest.User{Subject: "ada-1", Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "L",
		Claims: map[string]any{"groups": []string{"engineering"}}})
	admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), idp.ClientSecret(), ""), http.StatusCreated)

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/providers/corp"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "it@example.com"),
		chromedp.SendKeys("#password", pw),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#provider-test"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "provider-page")
		t.Fatal(err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, g.URL+"/.gatehouse/sso/corp/callback") || strings.Contains(page, idp.ClientSecret()) {
		t.Error("the provider page lacks the redirect URI or shows the secret")
	}

	opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
	if err := chromedp.Do(ctx, chromedp.Click("#provider-test")); err != nil {
		t.Fatal(err)
	}
	var id target.ID
	select {
	case id = <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the test sign-in opened no new tab")
	}
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	defer cancel()
	if err := chromedp.Do(tab, chromedp.WaitVisible("#test-decision")); err != nil {
		browsertest.Screenshot(t, tab, "provider-test")
		t.Fatal(err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(tab, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	if got := text("#test-outcome"); !strings.Contains(got, "link") {
		t.Errorf("decision = %q, want link", got)
	}
	if got := text("#test-account"); !strings.Contains(got, "ada@example.com") || !strings.Contains(got, ada.ID) {
		t.Errorf("account = %q", got)
	}
	claims := text("#test-claims")
	for _, want := range []string{"sub", "ada-1", "email_verified", "true", "groups", "engineering"} {
		if !strings.Contains(claims, want) {
			t.Errorf("claims lack %q: %q", want, claims)
		}
	}

	// Nothing happened for real.
	bg := context.Background()
	if ss, err := g.Store.ListAccountSessions(bg, ada.ID); err != nil || len(ss) != 0 {
		t.Errorf("sessions of the tested identity: %v, %v", ss, err)
	}
	if _, err := g.Store.GetIdentity(bg, "corp", "ada-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the test sign-in linked the identity: %v", err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(g.URL+"/.gatehouse/whoami")); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(tab, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "it@example.com") || strings.Contains(who, "ada@example.com") {
		t.Errorf("after the test the browser is %s", who)
	}
	events, _ := g.Store.ListAudit(bg, store.AuditQuery{Action: "provider.test"})
	if len(events) != 1 || events[0].Details["session_started"] != false || events[0].Details["decision"] != "link" {
		t.Errorf("audit of the test sign-in: %+v", events)
	}

	// The panel does not show another administrator's result, nor a made-up one.
	if _, resp := g.Get(t, servertest.Client(t), "/.gatehouse/admin/providers/corp/test/nope", "text/html"); resp.StatusCode == http.StatusOK {
		t.Error("a test result page answered for an unknown id")
	}
}
