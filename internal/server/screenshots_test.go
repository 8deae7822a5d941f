//go:build screenshots

package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestScreenshots takes pictures of the main pages, on a desktop and at
// 375 px, into $GATEHOUSE_SCREENSHOTS, for people to look at. `make
// screenshots` runs it; the build tag keeps it out of `make test`, where it
// would prove nothing the other browser tests do not.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		t.Fatal("set GATEHOUSE_SCREENSHOTS to the folder the pictures go to (make screenshots does)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Roles = account.ModelStandard }})
	g.CreateUser(t, account.NewAccount{Email: "root@example.com", FirstName: "Rosalind", LastName: "Admin", Password: panelPW, CompanyID: "acme", Role: "admin"})
	panelWorld(t, g)
	ctx := browsertest.New(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	shoot := func(name, path string) {
		t.Helper()
		for _, size := range []struct {
			suffix string
			w, h   int64
		}{{"desktop", 1280, 900}, {"375px", 375, 812}} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(g.URL+path), chromedp.WaitReady("body")); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			file := filepath.Join(dir, name+"-"+size.suffix+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", file)
		}
	}
	shoot("login", "/.gatehouse/login")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(g.URL+"/.gatehouse/login?rd=%2F.gatehouse%2Fadmin%2F"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "root@example.com"), chromedp.SendKeys("#password", panelPW),
		chromedp.Click("#login-submit"), chromedp.WaitVisible(".admin-nav")); err != nil {
		t.Fatal(err)
	}
	failLogin(t, g, "root@example.com")
	failLogin(t, g, "someone@example.com")
	root, err := g.Store.GetAccountByEmail(context.Background(), "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	shoot("account", "/.gatehouse/account/")
	shoot("dashboard", "/.gatehouse/admin/")
	shoot("users", "/.gatehouse/admin/users")
	shoot("user", "/.gatehouse/admin/users/"+root.ID)
	shoot("audit", "/.gatehouse/admin/audit")
	shoot("rules", "/.gatehouse/admin/rules")
}
