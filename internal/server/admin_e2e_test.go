package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// TestAdminBlockEndsSessionAtOnce: an admin blocks an account through the
// JSON API with the browser session and CSRF header; the blocked account's
// existing session is refused on its very next request, through the proxy
// and /verify.
func TestAdminBlockEndsSessionAtOnce(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})

	adminC, bobC := servertest.Client(t), servertest.Client(t)
	g.Login(t, adminC, "admin@example.com", pw)
	g.Login(t, bobC, "bob@example.com", pw)

	verify := func() int {
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/verify", nil)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", strings.TrimPrefix(g.URL, "http://"))
		req.Header.Set("X-Forwarded-Uri", "/docs")
		resp, err := bobC.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Warm every cache with Bob's session first.
	if _, resp := g.Get(t, bobC, "/docs", "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob before the block: %d", resp.StatusCode)
	}
	if code := verify(); code != http.StatusOK {
		t.Fatalf("verify before the block: %d", code)
	}

	call := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/.gatehouse/api/v1/accounts/"+bob.ID+"/block", nil)
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := adminC.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call(""); code != http.StatusForbidden {
		t.Fatalf("block without CSRF header: %d %s", code, body)
	}
	if code, body := call(g.CSRFToken(t, adminC, "/.gatehouse/logout")); code != http.StatusOK || !strings.Contains(body, `"status":"blocked"`) {
		t.Fatalf("block: %d %s", code, body)
	}

	if _, resp := g.Get(t, bobC, "/docs", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("blocked account's next proxied request: %d, want 401", resp.StatusCode)
	}
	if code := verify(); code != http.StatusUnauthorized {
		t.Fatalf("blocked account's next /verify: %d, want 401", code)
	}
	// Anonymous API calls are 401 JSON.
	body, resp := g.Get(t, servertest.Client(t), "/.gatehouse/api/v1/accounts", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("anonymous API call: %d %s", resp.StatusCode, body)
	}
}
