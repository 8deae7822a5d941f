package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// apiCall sends a JSON (or CSV) body to the admin API with the CSRF header
// and returns the status and decoded body.
func apiCall(t *testing.T, g *servertest.Gateway, c *http.Client, csrf, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

func mustStatus(t *testing.T, what string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d: %v", what, got, want, body)
	}
}

// seeAs signs in as email and returns the claims of the assertion the
// upstream received for a request to /docs.
func claimsAfter(t *testing.T, g *servertest.Gateway, up *upstream, c *http.Client) map[string]any {
	t.Helper()
	body, resp := g.Get(t, c, "/docs", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs: %d %s", resp.StatusCode, body)
	}
	return verifyAssertion(t, g, up.lastRequest(t).Header.Get("X-Gatehouse-Assertion"), "app")
}

func grantsOf(claims map[string]any) []string {
	var out []string
	gs, _ := claims["grants"].([]any)
	for _, g := range gs {
		m, _ := g.(map[string]any)
		out = append(out, m["capability"].(string)+"@"+m["tag"].(string))
	}
	return out
}

func TestPropertiesToulouseEndToEnd(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	g.CreateUser(t, account.NewAccount{Email: "admin@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	alice := g.CreateUser(t, account.NewAccount{Email: "alice@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	bob := g.CreateUser(t, account.NewAccount{Email: "bob@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	ws := g.CreateUser(t, account.NewAccount{Email: "ws@example.com", Password: pw, CompanyID: "acme", Role: "shared_computer", Kind: "shared_computer"})

	admin := servertest.Client(t)
	g.Login(t, admin, "admin@example.com", pw)
	csrf := g.CSRFToken(t, admin, "/.gatehouse/logout")

	// Without the CSRF header a change is refused and nothing is made.
	st, body := apiCall(t, g, admin, "", "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"site","labels":{"en":"Site"},"type":"choice","choices":["Toulouse","Lyon"]}`)
	mustStatus(t, "create without csrf", st, http.StatusForbidden, body)
	// A non-admin gets 403.
	alc := servertest.Client(t)
	g.Login(t, alc, "alice@example.com", pw)
	st, body = apiCall(t, g, alc, "", "GET", "/.gatehouse/api/v1/properties?company=acme", "", "")
	mustStatus(t, "viewer lists properties", st, http.StatusForbidden, body)

	// Bad definitions are refused with field errors.
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"Bad Key","labels":{},"type":"choice","choices":[]}`)
	mustStatus(t, "bad definition", st, http.StatusUnprocessableEntity, body)
	fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"key", "labels.en", "choices"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("bad definition: no error on %s: %v", f, body)
		}
	}
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json", `{"key":"site","bogus":1}`)
	mustStatus(t, "unknown field", st, http.StatusBadRequest, body)

	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"site","labels":{"en":"Site","fr":"Site","ja":"拠点"},"type":"choice","choices":["Toulouse","Lyon"]}`)
	mustStatus(t, "create site", st, http.StatusCreated, body)
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties?company=acme", "application/json",
		`{"key":"line","labels":{"en":"Production line"},"type":"relation"}`)
	mustStatus(t, "create line", st, http.StatusCreated, body)

	// Values: an unknown choice is refused naming the field; nothing changes.
	st, body = apiCall(t, g, admin, csrf, "PATCH", "/.gatehouse/api/v1/accounts/"+alice.ID+"/properties?company=acme", "application/json",
		`{"site":"Paris","line":["L1"]}`)
	mustStatus(t, "unknown choice", st, http.StatusUnprocessableEntity, body)
	if _, ok := body["error"].(map[string]any)["fields"].(map[string]any)["site"]; !ok {
		t.Errorf("unknown choice error does not name site: %v", body)
	}
	st, body = apiCall(t, g, admin, "", "GET", "/.gatehouse/api/v1/accounts/"+alice.ID+"/properties?company=acme", "", "")
	if p, _ := body["properties"].(map[string]any); st != 200 || len(p) != 0 {
		t.Fatalf("a refused change changed something: %d %v", st, body)
	}

	st, body = apiCall(t, g, admin, csrf, "PATCH", "/.gatehouse/api/v1/accounts/"+alice.ID+"/properties?company=acme", "application/json",
		`{"site":"Toulouse","line":["L1","L2"]}`)
	mustStatus(t, "set alice", st, http.StatusOK, body)
	st, body = apiCall(t, g, admin, csrf, "PUT", "/.gatehouse/api/v1/properties/site/values/"+bob.ID+"?company=acme", "application/json", `{"values":"Lyon"}`)
	mustStatus(t, "set bob", st, http.StatusOK, body)
	st, body = apiCall(t, g, admin, csrf, "PUT", "/.gatehouse/api/v1/properties/site/values/"+ws.ID+"?company=acme", "application/json", `{"values":"Toulouse"}`)
	mustStatus(t, "set workstation", st, http.StatusOK, body)

	// Bad rules are refused with field errors.
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/access-rules?company=acme", "application/json",
		`{"name":"x","capability":"edit_objects","tag":"site:Toulouse","condition":{"all":[{"property":"nope","op":"equals","value":"a"},{"property":"site","op":"equals","value":"Paris"},{"property":"site","op":"has_relation","value":"x"}]}}`)
	mustStatus(t, "bad rule", st, http.StatusUnprocessableEntity, body)
	fields, _ = body["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"condition.all[0].property", "condition.all[1].value", "condition.all[2].op"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("bad rule: no error on %s: %v", f, fields)
		}
	}

	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/access-rules?company=acme", "application/json",
		`{"name":"Toulouse editors","capability":"edit_objects","tag":"site:Toulouse","condition":{"property":"site","op":"equals","value":"Toulouse"}}`)
	mustStatus(t, "create rule", st, http.StatusCreated, body)
	ruleID := body["id"].(string)
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/access-rules?company=acme", "application/json",
		`{"name":"Toulouse notifications","capability":"receive_notifications","tag":"site:Toulouse","condition":{"property":"site","op":"in","values":["Toulouse"]}}`)
	mustStatus(t, "create rule 2", st, http.StatusCreated, body)

	// Sign in as each: the assertion carries their props and grants only.
	cases := []struct {
		email, site string
		grants      []string
	}{
		{"alice@example.com", "Toulouse", []string{"edit_objects@site:Toulouse", "receive_notifications@site:Toulouse"}},
		{"bob@example.com", "Lyon", nil},
		// A workstation never gets receive_notifications, even from a rule.
		{"ws@example.com", "Toulouse", []string{"edit_objects@site:Toulouse"}},
	}
	clients := map[string]*http.Client{}
	for _, tc := range cases {
		c := servertest.Client(t)
		g.Login(t, c, tc.email, pw)
		clients[tc.email] = c
		claims := claimsAfter(t, g, up, c)
		props, _ := claims["props"].(map[string]any)
		if props["site"] != tc.site {
			t.Errorf("%s: props = %v, want site %s", tc.email, props, tc.site)
		}
		if got := grantsOf(claims); strings.Join(got, ",") != strings.Join(tc.grants, ",") {
			t.Errorf("%s: grants = %v, want %v", tc.email, got, tc.grants)
		}
	}
	if props := claimsAfter(t, g, up, clients["alice@example.com"])["props"].(map[string]any); len(props["line"].([]any)) != 2 {
		t.Errorf("alice's relation prop: %v", props)
	}

	// Changing a value changes the next assertion of an existing session.
	st, body = apiCall(t, g, admin, csrf, "PUT", "/.gatehouse/api/v1/properties/site/values/"+bob.ID+"?company=acme", "application/json", `{"values":"Toulouse"}`)
	mustStatus(t, "move bob", st, http.StatusOK, body)
	if got := grantsOf(claimsAfter(t, g, up, clients["bob@example.com"])); len(got) != 2 {
		t.Errorf("bob after the move: grants %v", got)
	}
	// So does changing a rule.
	st, body = apiCall(t, g, admin, csrf, "PATCH", "/.gatehouse/api/v1/access-rules/"+ruleID, "application/json", `{"enabled":false}`)
	mustStatus(t, "disable rule", st, http.StatusOK, body)
	if got := grantsOf(claimsAfter(t, g, up, clients["alice@example.com"])); strings.Join(got, ",") != "receive_notifications@site:Toulouse" {
		t.Errorf("alice after disabling: grants %v", got)
	}

	// Explain.
	st, body = apiCall(t, g, admin, "", "GET", "/.gatehouse/api/v1/access-rules/explain?company=acme&account="+alice.ID+"&capability=receive_notifications&tag=site:Toulouse", "", "")
	mustStatus(t, "explain", st, http.StatusOK, body)
	if body["granted"] != true {
		t.Errorf("explain: %v", body)
	}
	if rs, _ := body["rules"].([]any); len(rs) != 1 || rs[0].(map[string]any)["matched_on"].(map[string]any)["site"].([]any)[0] != "Toulouse" {
		t.Errorf("explain rules: %v", body["rules"])
	}

	// Removing a property that rules use is refused, naming the rules.
	st, body = apiCall(t, g, admin, csrf, "DELETE", "/.gatehouse/api/v1/properties/site?company=acme", "", "")
	mustStatus(t, "delete site", st, http.StatusConflict, body)
	if rs, _ := body["error"].(map[string]any)["rules"].([]any); len(rs) != 2 {
		t.Errorf("in-use rules: %v", body)
	}

	// Relations both ways.
	st, body = apiCall(t, g, admin, "", "GET", "/.gatehouse/api/v1/relations?object=L2&company=acme&key=line", "", "")
	mustStatus(t, "relations by object", st, http.StatusOK, body)
	if rs, _ := body["relations"].([]any); len(rs) != 1 || rs[0].(map[string]any)["account"] != alice.ID {
		t.Errorf("relations by object: %v", body)
	}
	st, body = apiCall(t, g, admin, "", "GET", "/.gatehouse/api/v1/relations?account="+alice.ID, "", "")
	mustStatus(t, "relations by account", st, http.StatusOK, body)
	if rs, _ := body["relations"].([]any); len(rs) != 2 {
		t.Errorf("relations by account: %v", body)
	}

	// CSV import: the preview lists every bad row and applies nothing.
	csv := "email,site,line\nalice@example.com,Lyon,L9\nbob@example.com,Paris,\nnobody@example.com,Lyon,\n"
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties/import?company=acme", "text/csv", csv)
	mustStatus(t, "preview", st, http.StatusOK, body)
	rows, _ := body["rows"].([]any)
	if body["valid"] != false || len(rows) != 3 || rows[0].(map[string]any)["errors"] != nil ||
		rows[1].(map[string]any)["errors"] == nil || rows[2].(map[string]any)["errors"] == nil {
		t.Fatalf("preview: %v", body)
	}
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties/import?company=acme&confirm="+body["confirm"].(string), "text/csv", csv)
	mustStatus(t, "confirm a bad import", st, http.StatusUnprocessableEntity, body)
	st, body = apiCall(t, g, admin, "", "GET", "/.gatehouse/api/v1/accounts/"+alice.ID+"/properties?company=acme", "", "")
	if body["properties"].(map[string]any)["site"] != "Toulouse" {
		t.Fatalf("a refused import changed values: %v", body)
	}
	good := "email,site\nalice@example.com,Lyon\n"
	_, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties/import?company=acme", "text/csv", good)
	if body["valid"] != true {
		t.Fatalf("good preview: %v", body)
	}
	st, body = apiCall(t, g, admin, csrf, "POST", "/.gatehouse/api/v1/properties/import?company=acme&confirm="+body["confirm"].(string), "text/csv", good)
	mustStatus(t, "confirm import", st, http.StatusOK, body)
	if props := claimsAfter(t, g, up, clients["alice@example.com"])["props"].(map[string]any); props["site"] != "Lyon" {
		t.Errorf("after import alice's props: %v", props)
	}

	// Every change is audited with before and after.
	events, err := g.Store.ListAudit(t.Context(), storeAuditQuery("property."))
	if err != nil || len(events) == 0 {
		t.Fatalf("audit: %v %v", events, err)
	}
	for _, e := range events {
		// Refused calls are audited too (outcome denied or error, with the
		// reason), as everywhere in the admin API; changes carry before/after.
		if e.Outcome != "ok" {
			continue
		}
		if _, ok := e.Details["before"]; !ok {
			t.Errorf("audit %s without before: %v", e.Action, e.Details)
		}
	}
}

func storeAuditQuery(prefix string) store.AuditQuery { return store.AuditQuery{Action: prefix} }
