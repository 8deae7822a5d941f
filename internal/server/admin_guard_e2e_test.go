package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// bearerCall sends an admin API request with an API token and no cookies.
func bearerCall(t *testing.T, g *servertest.Gateway, secret, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := servertest.Client(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestAdminGuardOnPasskeysAndProperties: the passkey admin endpoints and the
// properties API take API tokens and refuse viewers exactly as the rest of
// the admin API does, and allowed networks survive in the store.
func TestAdminGuardOnPasskeysAndProperties(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	g.CreateUser(t, account.NewAccount{Email: "viewer@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	ws := g.CreateUser(t, account.NewAccount{Email: "ws@example.com", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: store.KindSharedComputer})

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/logout")
	st, body := apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/api-tokens", "application/json", `{"name":"ci"}`)
	mustStatus(t, "create token", st, http.StatusCreated, body)
	secret := body["secret"].(string)

	// A token reaches a passkey admin route and a properties route.
	st, body = bearerCall(t, g, secret, "GET", "/.gatehouse/api/v1/accounts/"+ws.ID+"/credentials", "")
	mustStatus(t, "token lists credentials", st, http.StatusOK, body)
	st, body = bearerCall(t, g, secret, "PUT", "/.gatehouse/api/v1/accounts/"+ws.ID+"/allowed-networks", `{"allowed_networks":["10.20.0.0/16"]}`)
	mustStatus(t, "token sets networks", st, http.StatusOK, body)
	st, body = bearerCall(t, g, secret, "POST", "/.gatehouse/api/v1/properties?company=acme", `{"key":"site","labels":{"en":"Site"},"type":"choice","choices":["Toulouse","Lyon"]}`)
	mustStatus(t, "token creates a property", st, http.StatusCreated, body)
	st, body = bearerCall(t, g, secret, "GET", "/.gatehouse/api/v1/properties?company=acme", "")
	mustStatus(t, "token lists properties", st, http.StatusOK, body)
	// And PATCH accounts/{id} sets properties like accounts/{id}/properties.
	st, body = bearerCall(t, g, secret, "PATCH", "/.gatehouse/api/v1/accounts/"+ws.ID, `{"properties":{"company":"acme","values":{"site":"Paris"}}}`)
	mustStatus(t, "unknown choice through PATCH accounts/{id}", st, http.StatusUnprocessableEntity, body)
	if _, ok := body["error"].(map[string]any)["fields"].(map[string]any)["properties.values.site"]; !ok {
		t.Errorf("error does not name properties.values.site: %v", body)
	}
	st, body = bearerCall(t, g, secret, "PATCH", "/.gatehouse/api/v1/accounts/"+ws.ID, `{"properties":{"company":"acme","values":{"site":"Lyon"}}}`)
	mustStatus(t, "properties through PATCH accounts/{id}", st, http.StatusOK, body)
	st, body = bearerCall(t, g, secret, "GET", "/.gatehouse/api/v1/accounts/"+ws.ID+"/properties?company=acme", "")
	if st != http.StatusOK || body["properties"].(map[string]any)["site"] != "Lyon" {
		t.Fatalf("properties after PATCH: %d %v", st, body)
	}
	// A wrong token is 401 on both.
	for _, path := range []string{"/.gatehouse/api/v1/accounts/" + ws.ID + "/credentials", "/.gatehouse/api/v1/properties?company=acme"} {
		st, body = bearerCall(t, g, "ghk_not-a-token", "GET", path, "")
		mustStatus(t, "wrong token on "+path, st, http.StatusUnauthorized, body)
	}

	// A viewer's session gets 403 on both, with or without the CSRF header.
	viewer := servertest.Client(t)
	g.Login(t, viewer, "viewer@example.com", pw)
	vcsrf := g.CSRFToken(t, viewer, "/.gatehouse/logout")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/.gatehouse/api/v1/accounts/" + ws.ID + "/credentials", ""},
		{"PUT", "/.gatehouse/api/v1/accounts/" + ws.ID + "/allowed-networks", `{"allowed_networks":[]}`},
		{"POST", "/.gatehouse/api/v1/accounts/" + ws.ID + "/enrolments", ""},
		{"GET", "/.gatehouse/api/v1/properties?company=acme", ""},
		{"PATCH", "/.gatehouse/api/v1/accounts/" + ws.ID + "/properties?company=acme", `{"site":"Toulouse"}`},
	} {
		st, body := apiCall(t, g, viewer, vcsrf, c.method, c.path, "application/json", c.body)
		mustStatus(t, "viewer "+c.method+" "+c.path, st, http.StatusForbidden, body)
		if code := body["error"].(map[string]any)["code"]; code != "forbidden" {
			t.Errorf("viewer %s %s: code %v", c.method, c.path, code)
		}
	}
	// An admin's session without the CSRF header is refused a change.
	st, body = apiCall(t, g, admin, "", "PUT", "/.gatehouse/api/v1/accounts/"+ws.ID+"/allowed-networks", "application/json", `{"allowed_networks":[]}`)
	mustStatus(t, "admin without CSRF", st, http.StatusForbidden, body)

	// The networks are in the store: a restart keeps them.
	nets, err := g.Store.AllowedNetworks(t.Context(), ws.ID)
	if err != nil || len(nets) != 1 || nets[0] != "10.20.0.0/16" {
		t.Fatalf("stored networks: %v %v", nets, err)
	}
}
