package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// ssoGateway runs a gateway with one OpenID provider, the fake IdP.
func ssoGateway(t *testing.T, up *upstream, idp *providertest.Server) *servertest.Gateway {
	return servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Providers = []config.Provider{{
			ID: "corp", Type: "oidc", DisplayName: "Corp SSO", Issuer: idp.Issuer,
			ClientID: idp.ClientID(), ClientSecret: config.Secret(idp.ClientSecret()),
			Scopes: []string{"openid", "email", "profile"},
		}}
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme", Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
}

// follow walks redirects by hand with the jar, across the gateway and the
// IdP, and returns the final response (body read).
func follow(t *testing.T, c *http.Client, start string) (*http.Response, string) {
	t.Helper()
	next := start
	for range 10 {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			return resp, string(body)
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	t.Fatal("too many redirects")
	return nil, ""
}

func TestSSOThroughTheGateway(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := ssoGateway(t, up, idp)
	acct := g.CreateUser(t, account.NewAccount{Email: "linus@example.com", FirstName: "L", LastName: "T", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	idp.SetUser(providertest.User{Subject: "idp-123", Email: "linus@example.com", EmailVerified: true, GivenName: "Linus", FamilyName: "Torvalds"})

	// The login page has the provider's button.
	body, _ := g.Get(t, servertest.Client(t), "/.gatehouse/login", "text/html")
	if !strings.Contains(body, "Corp SSO") || !strings.Contains(body, "/.gatehouse/sso/corp/start") {
		t.Fatal("the login page has no button for the provider")
	}

	c := servertest.Client(t)
	resp, body := follow(t, c, g.URL+"/.gatehouse/sso/corp/start?rd="+url.QueryEscape("/reports"))
	if resp.StatusCode != http.StatusOK || body != "upstream saw /reports" {
		t.Fatalf("after SSO: %d %q", resp.StatusCode, body)
	}
	claims := verifyAssertion(t, g, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
	if claims["sub"] != acct.ID || claims["idp"] != "corp" || claims["given_name"] != "Linus" {
		t.Errorf("claims = %v", claims)
	}
	if amr, _ := claims["amr"].([]any); len(amr) != 1 || amr[0] != "fed" {
		t.Errorf("amr = %v, want [fed]", claims["amr"])
	}

	// Logout goes to the provider's end-session endpoint with id_token_hint.
	token := g.CSRFToken(t, c, "/.gatehouse/logout")
	_, resp = g.PostForm(t, c, "/.gatehouse/logout", url.Values{"csrf_token": {token}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, idp.URL) || !strings.Contains(loc, "id_token_hint=") ||
		!strings.Contains(loc, url.QueryEscape(g.URL+"/.gatehouse/login")) {
		t.Errorf("SSO logout: %d %q", resp.StatusCode, loc)
	}
	if st := status(t, c, g.URL+"/reports"); st != http.StatusUnauthorized {
		t.Errorf("after logout: %d", st)
	}

	// No account for an unknown identity: 403 with a way back.
	idp.SetUser(providertest.User{Subject: "stranger", Email: "stranger@example.com", EmailVerified: true})
	resp, body = follow(t, servertest.Client(t), g.URL+"/.gatehouse/sso/corp/start")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "/.gatehouse/login") {
		t.Errorf("unknown identity: %d", resp.StatusCode)
	}
}

func TestSSOInBrowser(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := ssoGateway(t, up, idp)
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "manager"})
	idp.SetUser(providertest.User{Subject: "ada-1", Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "L"})

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/dashboard"),
		chromedp.WaitVisible(`a[href^="/.gatehouse/sso/corp/start"]`),
		chromedp.Click(`a[href^="/.gatehouse/sso/corp/start"]`),
		chromedp.WaitVisible("body"),
	); err != nil {
		browsertest.Screenshot(t, ctx, "sso-login")
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the app page after SSO", func() bool {
		text, _ := chromedp.Run(ctx, chromedp.Text("body"))
		return strings.Contains(text, "upstream saw /dashboard")
	})
	verifyAssertion(t, g, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
}
