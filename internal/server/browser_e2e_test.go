package server_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestBrowserSignInReachesApp signs in through the login page in headless
// Chromium and lands on the demo app, which verified the assertion.
func TestBrowserSignInReachesApp(t *testing.T) {
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &demo.App{Audience: "demo"}
	appSrv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go appSrv.Serve(appLn)
	t.Cleanup(func() { appSrv.Close() })

	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: "http://" + appLn.Addr().String(), Audience: "demo", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	app.JWKSURL, app.Issuer = "http://"+g.Addr+"/.gatehouse/jwks.json", g.URL
	g.CreateUser(t, account.NewAccount{Email: "grace@example.com", FirstName: "Grace", LastName: "Hopper", Password: pw, CompanyID: "acme", Role: "manager"})

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/reports?year=2026"),
		chromedp.WaitVisible("#email"),
	); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/.gatehouse/login?rd=") {
		browsertest.Screenshot(t, ctx, "login-redirect")
		t.Fatalf("not sent to the login page: %s", loc)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys("#email", "grace@example.com"),
		chromedp.SendKeys("#password", pw),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#verdict"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "login-submit")
		t.Fatal(err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Text("#verdict"))
	if err != nil {
		t.Fatal(err)
	}
	role, _ := chromedp.Run(ctx, chromedp.Text("#role"))
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(verdict, "Signed in as Grace Hopper") || role != "manager" || !strings.HasSuffix(loc, "/reports?year=2026") {
		browsertest.Screenshot(t, ctx, "app-page")
		t.Fatalf("app page: verdict %q, role %q, location %q", verdict, role, loc)
	}
}
