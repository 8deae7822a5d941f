package reset_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/browsertest"
)

// TestBrowserResetFlow walks the whole flow in headless Chromium: login
// page → "Forgot password?" → mail → reset page → new password → signed in.
func TestBrowserResetFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAccount("ada@example.com", oldPW)
	before := e.client()
	if code := before.login("ada@example.com", oldPW); code != http.StatusSeeOther {
		t.Fatalf("login before reset: %d", code)
	}

	ctx := browsertest.New(t)
	fail := func(step string, err error) {
		t.Helper()
		browsertest.Screenshot(t, ctx, "reset-"+step)
		t.Fatalf("%s: %v", step, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/.gatehouse/login"),
		chromedp.WaitVisible(`a[href="/.gatehouse/password/forgot"]`),
		chromedp.Click(`a[href="/.gatehouse/password/forgot"]`),
		chromedp.WaitVisible("#forgot-submit"),
		chromedp.SendKeys("#email", "ada@example.com"),
		chromedp.Click("#forgot-submit"),
		chromedp.WaitVisible("#forgot-sent"),
	); err != nil {
		fail("forgot", err)
	}
	e.deliver()
	link := linkIn(t, e.smtp.Wait(t, 1, 10*time.Second)[0].Data)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#reset-submit"),
		chromedp.SendKeys("#password", newPW),
		chromedp.SendKeys("#password_confirm", newPW),
		chromedp.Click("#reset-submit"),
		chromedp.WaitVisible("#login-submit"),
	); err != nil {
		fail("reset", err)
	}
	notice, err := chromedp.Run(ctx, chromedp.Text(`[role="status"]`))
	if err != nil || !strings.Contains(notice, "Your password has been changed") {
		fail("notice", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#email", "ada@example.com"),
		chromedp.SendKeys("#password", newPW),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#who"),
	); err != nil {
		fail("login", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text("#who"))
	if err != nil || !strings.Contains(who, "signed in as") {
		fail("signed in", err)
	}

	if code := e.client().login("ada@example.com", oldPW); code != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", code)
	}
	if resp, _ := before.get("/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session opened before the reset still works: %d", resp.StatusCode)
	}
}
