package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// browserSignIn signs the tab in through the login page and waits for the
// app behind the gateway.
func browserSignIn(t *testing.T, ctx context.Context, g *servertest.Gateway, email string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/.gatehouse/login?rd=/docs"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email),
		chromedp.SendKeys("#password", pw),
		chromedp.Click("#login-submit"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "mysessions-login")
		t.Fatal(err)
	}
	pkWaitPath(t, ctx, "/docs")
}

// signedInToApp opens the app and reports whether the tab got it (true) or
// was sent to the login page (false).
func signedInToApp(t *testing.T, ctx context.Context, g *servertest.Gateway) bool {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/docs?check=1")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	switch u.Path {
	case "/docs":
		return true
	case "/.gatehouse/login":
		return false
	}
	browsertest.Screenshot(t, ctx, "mysessions-app")
	t.Fatalf("opening the app landed on %s", loc)
	return false
}

// sessionsTable opens the account page and returns the text of each row
// of the sessions table, the current session's first.
func sessionsTable(t *testing.T, ctx context.Context, g *servertest.Gateway) []string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/account/"), chromedp.WaitVisible("#sessions")); err != nil {
		browsertest.Screenshot(t, ctx, "mysessions-account")
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#sessions tbody tr")).
		sort((a, b) => (b.dataset.current ? 1 : 0) - (a.dataset.current ? 1 : 0)).map(r => r.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// waitNoticeText waits for the page's status message to contain want.
func waitNoticeText(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".alert.ok")||{}).textContent||""`))
		if err == nil && strings.Contains(text, want) {
			return
		}
		if time.Now().After(deadline) {
			browsertest.Screenshot(t, ctx, "mysessions-notice")
			t.Fatalf("no notice %q (have %q, %v)", want, text, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserMySessions: one person signs in from two browser profiles
// (separate cookie jars, the second one presenting itself as Firefox on
// Windows). The account page in the first lists both sessions with device
// and address; "Sign out everywhere else" signs the second out and keeps
// the first; then a new session of the second is ended from its row.
func TestBrowserMySessions(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Password: pw, CompanyID: "acme", Role: "viewer"})

	here := browsertest.New(t)
	other, cancel := chromedp.NewContext(here, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(other, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: uaFirefoxWindows})
		return err
	})); err != nil {
		t.Fatalf("second browser profile: %v", err)
	}

	browserSignIn(t, here, g, "ada@example.com")
	browserSignIn(t, other, g, "ada@example.com")

	rows := sessionsTable(t, here, g)
	if len(rows) != 2 {
		t.Fatalf("sessions table has %d rows, want 2: %q", len(rows), rows)
	}
	// Headless Chromium on Linux here, the overridden header there; both
	// signed in with a password from loopback.
	if r := rows[0]; !strings.Contains(r, "Chrome on Linux") || !strings.Contains(r, "This session") || !strings.Contains(r, "127.0.0.1") || !strings.Contains(r, "Password") {
		t.Errorf("current session row: %q", r)
	}
	if r := rows[1]; !strings.Contains(r, "Firefox on Windows") || strings.Contains(r, "This session") || !strings.Contains(r, "127.0.0.1") || !strings.Contains(r, "Password") {
		t.Errorf("other session row: %q", r)
	}

	if err := chromedp.Do(here, chromedp.Click("#end-others")); err != nil {
		t.Fatal(err)
	}
	waitNoticeText(t, here, "Signed out everywhere else")
	if rows := sessionsTable(t, here, g); len(rows) != 1 || !strings.Contains(rows[0], "This session") {
		t.Fatalf("after signing out everywhere else: %q", rows)
	}
	if signedInToApp(t, other, g) {
		t.Fatal("the other profile is still signed in after \"Sign out everywhere else\"")
	}
	if !signedInToApp(t, here, g) {
		t.Fatal("the profile that signed out everywhere else was signed out itself")
	}

	// Ending one session from its row.
	browserSignIn(t, other, g, "ada@example.com")
	if rows := sessionsTable(t, here, g); len(rows) != 2 {
		t.Fatalf("after signing in again: %q", rows)
	}
	if err := chromedp.Do(here, chromedp.Click(`#sessions tr:not([data-current]) button.session-end`)); err != nil {
		t.Fatal(err)
	}
	waitNoticeText(t, here, "Session ended")
	if rows := sessionsTable(t, here, g); len(rows) != 1 {
		t.Fatalf("after ending one: %q", rows)
	}
	if signedInToApp(t, other, g) {
		t.Fatal("the ended session still reaches the app")
	}
	if !signedInToApp(t, here, g) {
		t.Fatal("ending another session signed this one out")
	}
}
