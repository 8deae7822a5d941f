package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

const panelPW = "correct horse battery staple 42"

// panelWait polls cond until it holds or the timeout passes.
func panelWait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// outboxTo lists the mails in the outbox addressed to each address.
func outboxTo(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "To: "); ok {
				v = strings.Trim(strings.TrimSpace(v), "<>")
				out[strings.ToLower(v)]++
				break
			}
		}
	}
	return out
}

func TestPanelAuthorization(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: panelPW, CompanyID: "acme", Role: "admin"})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: panelPW, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "manager@example.com", Password: panelPW, CompanyID: "acme", Role: "manager"})

	anon := servertest.Client(t)
	_, resp := g.Get(t, anon, "/.gatehouse/admin/users?status=active", "text/html")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/.gatehouse/login?rd="+url.QueryEscape("/.gatehouse/admin/users?status=active") {
		t.Fatalf("signed out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	viewer := servertest.Client(t)
	g.Login(t, viewer, "viewer@example.com", panelPW)
	if _, resp := g.Get(t, viewer, "/.gatehouse/admin/users", "text/html"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer: %d, want 403", resp.StatusCode)
	}
	// A manager has no admin_panel in the standard model.
	manager := servertest.Client(t)
	g.Login(t, manager, "manager@example.com", panelPW)
	if _, resp := g.Get(t, manager, "/.gatehouse/admin/audit", "text/html"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("manager: %d, want 403", resp.StatusCode)
	}

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", panelPW)
	for _, path := range []string{"/.gatehouse/admin/users", "/.gatehouse/admin/users/new", "/.gatehouse/admin/invite",
		"/.gatehouse/admin/companies", "/.gatehouse/admin/sites", "/.gatehouse/admin/providers",
		"/.gatehouse/admin/tokens", "/.gatehouse/admin/audit", "/.gatehouse/admin/audit?category=integration",
		"/.gatehouse/admin/export"} {
		body, resp := g.Get(t, admin, path, "text/html")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="admin-nav"`) {
			t.Fatalf("%s: %d %.300s", path, resp.StatusCode, body)
		}
	}
	body, _ := g.Get(t, admin, "/.gatehouse/admin/users", "text/html")
	if !strings.Contains(body, "viewer@example.com") || !strings.Contains(body, "/.gatehouse/api/v1/accounts.csv") {
		t.Fatalf("users page lacks an account or the export button: %.500s", body)
	}
	if _, resp := g.Get(t, admin, "/.gatehouse/admin/users/acct_nope", "text/html"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown account: %d", resp.StatusCode)
	}

	// A change without the CSRF token changes nothing.
	viewerAcc, err := g.Store.GetAccountByEmail(context.Background(), "viewer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, resp = g.PostForm(t, admin, "/.gatehouse/admin/users/"+viewerAcc.ID+"/status", url.Values{"action": {"block"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF: %d", resp.StatusCode)
	}
	if a, _ := g.Store.GetAccount(context.Background(), viewerAcc.ID); a.Status != store.StatusActive {
		t.Fatalf("blocked without CSRF: %s", a.Status)
	}
	token := g.CSRFToken(t, admin, "/.gatehouse/admin/users")
	_, resp = g.PostForm(t, admin, "/.gatehouse/admin/users/"+viewerAcc.ID+"/status", url.Values{"action": {"block"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "notice=blocked") {
		t.Fatalf("block: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a, _ := g.Store.GetAccount(context.Background(), viewerAcc.ID); a.Status != store.StatusBlocked {
		t.Fatalf("not blocked: %s", a.Status)
	}
	// The viewer's session ended with the block.
	if _, resp := g.Get(t, viewer, "/.gatehouse/whoami", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("blocked viewer still signed in: %d", resp.StatusCode)
	}
	// Refusals come back as a translated flash, not an error page.
	adminAcc, _ := g.Store.GetAccountByEmail(context.Background(), "admin@example.com")
	_, resp = g.PostForm(t, admin, "/.gatehouse/admin/users/"+adminAcc.ID+"/status", url.Values{"action": {"block"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "error=self_action") {
		t.Fatalf("self block: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	body, _ = g.Get(t, admin, resp.Header.Get("Location"), "text/html")
	if !strings.Contains(body, "You cannot do this to your own account.") {
		t.Fatalf("no flash error: %.300s", body)
	}
	// A flash code without a catalogue message shows nothing.
	body, _ = g.Get(t, admin, "/.gatehouse/admin/users?notice=<script>", "text/html")
	if strings.Contains(body, `id="notice"`) {
		t.Fatal("an unknown notice code was shown")
	}

	// API tokens: the secret is shown once, and revoking works.
	body, resp = g.PostForm(t, admin, "/.gatehouse/admin/tokens", url.Values{"name": {"ci"}, "form_id": {"first-form"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `id="token-secret"`) {
		t.Fatalf("token create: %d %.300s", resp.StatusCode, body)
	}
	body, _ = g.Get(t, admin, "/.gatehouse/admin/tokens", "text/html")
	if strings.Contains(body, `id="token-secret"`) || !strings.Contains(body, "/revoke") {
		t.Fatalf("tokens page after create: %.500s", body)
	}

	// Validation problems re-render the form with the input kept.
	body, resp = g.PostForm(t, admin, "/.gatehouse/admin/users/new", url.Values{
		"email": {"not-an-email"}, "first_name": {"Ada"}, "last_name": {""}, "company": {"acme"}, "role": {"viewer"},
		"sign_in": {"password"}, "kind": {"personal"}, "language": {"en"}, "csrf_token": {token},
	})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="problems"`) || !strings.Contains(body, `value="Ada"`) {
		t.Fatalf("invalid create: %d %.500s", resp.StatusCode, body)
	}

	// The audit log shows what happened, searchable by email.
	body, _ = g.Get(t, admin, "/.gatehouse/admin/audit?actor=admin%40example.com&action=account.block", "text/html")
	if !strings.Contains(body, "account.block") || !strings.Contains(body, "viewer@example.com") {
		t.Fatalf("audit page: %.800s", body)
	}
}

func TestTermsInterstitial(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("app:" + r.Header.Get("X-Gatehouse-Email")))
	}))
	t.Cleanup(app.Close)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Terms = config.Terms{Version: "2026-01", URL: "https://example.com/terms"}
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: app.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 4}}
	}})
	acc := g.CreateUser(t, account.NewAccount{Email: "ann@example.com", Password: panelPW, CompanyID: "acme", Role: "viewer", Language: "fr"})
	c := servertest.Client(t)
	g.Login(t, c, "ann@example.com", panelPW)

	_, resp := g.Get(t, c, "/reports?y=1", "text/html")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/.gatehouse/terms?rd="+url.QueryEscape("/reports?y=1") {
		t.Fatalf("browser before acceptance: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	body, resp := g.Get(t, c, "/reports", "application/json")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "terms_not_accepted" {
		t.Fatalf("API before acceptance: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
	req.Header.Set("X-Forwarded-Host", "localhost")
	req.Header.Set("X-Forwarded-Uri", "/reports")
	vr, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	vr.Body.Close()
	if vr.StatusCode != http.StatusForbidden {
		t.Fatalf("verify before acceptance: %d", vr.StatusCode)
	}

	body, resp = g.Get(t, c, "/.gatehouse/terms?rd=%2Freports%3Fy%3D1", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "https://example.com/terms") || !strings.Contains(body, "J&#39;accepte") {
		t.Fatalf("terms page (fr): %d %.500s", resp.StatusCode, body)
	}
	token := g.CSRFToken(t, c, "/.gatehouse/terms?rd=%2Freports")
	_, resp = g.PostForm(t, c, "/.gatehouse/terms", url.Values{"rd": {"/reports?y=1"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("accept without CSRF: %d", resp.StatusCode)
	}
	_, resp = g.PostForm(t, c, "/.gatehouse/terms", url.Values{"rd": {"/reports?y=1"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports?y=1" {
		t.Fatalf("accept: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a, _ := g.Store.GetAccount(context.Background(), acc.ID); a.TermsVersion != "2026-01" {
		t.Fatalf("terms version stored: %q", a.TermsVersion)
	}
	body, resp = g.Get(t, c, "/reports?y=1", "text/html")
	if resp.StatusCode != http.StatusOK || body != "app:ann@example.com" {
		t.Fatalf("app after acceptance: %d %q", resp.StatusCode, body)
	}
	// Accepted already: the page just sends people on.
	_, resp = g.Get(t, c, "/.gatehouse/terms?rd=%2Freports", "text/html")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports" {
		t.Fatalf("terms page after acceptance: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestBrowserAdminPanel drives the panel in headless Chromium: an admin
// signs in, creates a password account (its invitation arrives), invites
// three addresses, grants site access, blocks and unblocks, exports CSV,
// and the login and users pages render in French and Japanese.
func TestBrowserAdminPanel(t *testing.T) {
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Roles = account.ModelSiteScoped }})
	g.CreateUser(t, account.NewAccount{Email: "boss@example.com", FirstName: "Bea", LastName: "Boss", Password: panelPW, CompanyID: "acme", Role: "manager"})
	ctx := browsertest.New(t)
	start := time.Now()
	fail := func(name string, err error) {
		t.Helper()
		t.Logf("failed after %s", time.Since(start))
		browsertest.Screenshot(t, ctx, name)
		t.Fatalf("%s: %v", name, err)
	}
	// Destructive forms ask window.confirm; the test answers yes.
	dialogs := make(chan struct{}, 8)
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialogs:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}
		}
	}()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "boss@example.com"),
		chromedp.SendKeys("#password", panelPW),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#users-table"),
	); err != nil {
		fail("admin-login", err)
	}

	// Create a password account: its invitation mail arrives.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users/new"),
		chromedp.WaitVisible("#new-user-form"),
		chromedp.SendKeys("#email", "nora@example.com"),
		chromedp.SendKeys("#first_name", "Nora"),
		chromedp.SendKeys("#last_name", "North"),
		chromedp.SetValue("#role", "user"),
		chromedp.Click("#create-submit"),
		waitNotice("created_invited"),
	); err != nil {
		fail("create-user", err)
	}
	nora, err := g.Store.GetAccountByEmail(context.Background(), "nora@example.com")
	if err != nil || nora.Status != store.StatusInvited {
		fail("create-user", err)
	}
	panelWait(t, 10*time.Second, "nora's invitation", func() bool { return outboxTo(t, g.Config.Mail.OutboxDir)["nora@example.com"] == 1 })

	// Invite three addresses at once.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/invite"),
		chromedp.WaitVisible("#invite-form"),
		chromedp.SendKeys("#emails", "ann@example.com; bob@example.com;\ncy@example.com"),
		chromedp.SetValue("#role", "user"),
		chromedp.Click("#invite-submit"),
		waitNotice("invited"),
	); err != nil {
		fail("invite", err)
	}
	notice, _ := chromedp.Run(ctx, chromedp.Text("#notice"))
	if !strings.HasPrefix(notice, "3 ") {
		fail("invite-notice", errString("notice: "+notice))
	}
	panelWait(t, 10*time.Second, "three invitations", func() bool {
		got := outboxTo(t, g.Config.Mail.OutboxDir)
		return got["ann@example.com"] == 1 && got["bob@example.com"] == 1 && got["cy@example.com"] == 1
	})

	// Create a site and grant it to Nora by checking her box.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/sites"),
		chromedp.WaitVisible("#site-form"),
		chromedp.SendKeys("#site-name", "Toulouse"),
		chromedp.Click("#site-submit"),
		chromedp.WaitVisible("#site-members"),
		chromedp.Click(`input[data-email="nora@example.com"]`),
		chromedp.Click("#site-members-submit"),
		waitNotice("access_saved"),
	); err != nil {
		fail("site-access", err)
	}
	sites, err := g.Store.ListSiteAccess(context.Background(), nora.ID)
	if err != nil || len(sites) != 1 {
		fail("site-access", errString("nora's sites: "+strings.Join(sites, ",")))
	}
	// The manager sees every site: shown checked and disabled.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#site-members input[disabled]:checked").length`)); err != nil || n != 1 {
		fail("site-all-sites", errString("all-sites boxes"))
	}

	// Nora sets her password from the invitation, which activates her.
	if err := g.Server.Accounts.SetPassword(context.Background(), nora.ID, panelPW); err != nil {
		t.Fatal(err)
	}
	// Block, then unblock.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/admin/users/"+nora.ID),
		chromedp.WaitVisible("#block-submit"),
		chromedp.Click("#block-submit"),
		waitNotice("blocked"),
	); err != nil {
		fail("block", err)
	}
	if a, _ := g.Store.GetAccount(context.Background(), nora.ID); a.Status != store.StatusBlocked {
		fail("block", errString("status "+a.Status))
	}
	if err := chromedp.Do(ctx, chromedp.Click("#unblock-submit"), waitNotice("unblocked")); err != nil {
		fail("unblock", err)
	}
	if a, _ := g.Store.GetAccount(context.Background(), nora.ID); a.Status != store.StatusActive {
		fail("unblock", errString("still blocked"))
	}

	// Export: the button's CSV, fetched with the admin's session.
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/admin/export"), chromedp.WaitVisible("#export-button")); err != nil {
		fail("export", err)
	}
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch(document.getElementById("export-button").getAttribute("href")).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(csv, "First Name,Last Name,Email") || !strings.Contains(csv, "nora@example.com") ||
		!strings.Contains(csv, "Toulouse") || !strings.Contains(csv, "cy@example.com") {
		fail("export", errString("csv: "+csv))
	}

	// The users page follows the admin's language.
	for _, tc := range []struct{ lang, heading string }{{"fr", "Utilisateurs"}, {"ja", "ユーザー"}} {
		boss, _ := g.Store.GetAccountByEmail(context.Background(), "boss@example.com")
		if _, err := g.Store.UpdateAccount(context.Background(), boss.ID, func(a *store.Account) error { a.Language = tc.lang; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/admin/users"), chromedp.WaitVisible("#users-table")); err != nil {
			fail("users-"+tc.lang, err)
		}
		h1, _ := chromedp.Run(ctx, chromedp.Text("h1"))
		if h1 != tc.heading {
			fail("users-"+tc.lang, errString("heading "+h1))
		}
	}

	// The login page follows Accept-Language.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, heading string }{{"fr", "Connexion"}, {"ja", "サインイン"}} {
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": tc.lang}}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/login"), chromedp.WaitVisible("#login-submit")); err != nil {
			fail("login-"+tc.lang, err)
		}
		h1, _ := chromedp.Run(ctx, chromedp.Text("h1"))
		if h1 != tc.heading {
			fail("login-"+tc.lang, errString("heading "+h1))
		}
	}
}

// waitNotice waits for the page a change redirected to, with its notice.
// It polls from Go: an evaluation in the page dies with the navigation.
func waitNotice(code string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			q, err := chromedp.Evaluate[string](`location.search + (document.getElementById("notice") ? "#shown" : "")`)(ctx, tg)
			if err == nil {
				v, _ := url.ParseQuery(strings.TrimSuffix(strings.TrimPrefix(q, "?"), "#shown"))
				if v.Get("notice") == code && strings.HasSuffix(q, "#shown") {
					return nil
				}
				if e := v.Get("error"); e != "" {
					return errString("refused: " + e)
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }
