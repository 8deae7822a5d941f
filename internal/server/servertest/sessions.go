package servertest

import (
	"net/http"
	"net/url"
	"testing"
)

// SignOutEverywhereElse signs email in on g with a new client and presses
// the account page's "Sign out everywhere else", which ends every other
// session of the account. It returns that client, still signed in.
func (g *Gateway) SignOutEverywhereElse(t testing.TB, email, password string) *http.Client {
	t.Helper()
	c := Client(t)
	g.Login(t, c, email, password)
	token := g.CSRFToken(t, c, "/.gatehouse/account/")
	_, resp := g.PostForm(t, c, "/.gatehouse/account/sessions/end-others", url.Values{"csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere else: %d", resp.StatusCode)
	}
	return c
}
