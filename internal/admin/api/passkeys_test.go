package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPasskeyOperations drives the passkey and workstation operations
// through the API: who may, with which proof, and what is stored and
// recorded.
func TestPasskeyOperations(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	viewer := e.user("viewer@example.com", "acme", "viewer")
	shared := func(in *account.NewAccount) { in.Kind, in.Password = store.KindSharedComputer, "" }
	floor := e.user("floor@example.com", "acme", "shared_computer", shared)
	outsider := e.user("outsider@example.com", "other", "shared_computer", shared)
	tok, err := adminsvc.CreateToken(e.ctx, e.svc.Tokens, e.st, e.accounts.Roles(), admin.Email, "ci", t0, e.svc.Rand)
	if err != nil {
		t.Fatal(err)
	}
	bearer := who{bearer: tok}
	credentials := "accounts/" + floor.ID + "/credentials"

	r := e.do(who{}, "GET", credentials, "")
	if e.expect(r, http.StatusUnauthorized); r.code(t) != "unauthenticated" {
		t.Fatalf("anonymous: %s", r.body)
	}
	e.expect(e.do(who{bearer: "ghk_wrong"}, "GET", credentials, ""), http.StatusUnauthorized)
	e.expect(e.do(bearer, "GET", credentials, ""), http.StatusOK)
	if r := e.do(as(viewer.ID), "GET", credentials, ""); r.status != http.StatusForbidden || r.code(t) != "forbidden" {
		t.Fatalf("viewer: %d %s", r.status, r.body)
	}
	// An admin of acme does not manage an account of another company.
	e.expect(e.do(bearer, "GET", "accounts/"+outsider.ID+"/credentials", ""), http.StatusNotFound)
	e.expect(e.do(bearer, "GET", "accounts/nobody/credentials", ""), http.StatusNotFound)
	e.expect(e.do(bearer, "DELETE", credentials+"/AAAA", ""), http.StatusNotFound)

	// A change: a token needs no CSRF header, a session does.
	networks := "accounts/" + floor.ID + "/allowed-networks"
	e.expect(e.do(bearer, "PUT", networks, `{"allowed_networks":["10.20.0.0/16","192.168.1.7"]}`), http.StatusOK)
	if r := e.do(who{session: admin.ID, noCSRF: true}, "PUT", networks, `{"allowed_networks":[]}`); r.status != http.StatusForbidden || r.code(t) != "csrf" {
		t.Fatalf("without CSRF: %d %s", r.status, r.body)
	}
	e.expect(e.do(as(viewer.ID), "PUT", networks, `{"allowed_networks":[]}`), http.StatusForbidden)
	r = e.do(as(admin.ID), "PUT", networks, `{"allowed_networks":["nope"]}`)
	e.expect(r, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.body), `"allowed_networks[0]"`) {
		t.Fatalf("bad network not named: %s", r.body)
	}
	got, err := e.st.AllowedNetworks(e.ctx, floor.ID)
	if err != nil || strings.Join(got, ",") != "10.20.0.0/16,192.168.1.7/32" {
		t.Fatalf("stored networks: %v %v", got, err)
	}
	var nets struct {
		AllowedNetworks []string `json:"allowed_networks"`
	}
	e.do(as(admin.ID), "GET", networks, "").json(t, &nets)
	if len(nets.AllowedNetworks) != 2 {
		t.Fatalf("get networks: %v", nets)
	}
	// Networks and enrolment are for shared computers only.
	if r := e.do(as(admin.ID), "PUT", "accounts/"+viewer.ID+"/allowed-networks", `{"allowed_networks":[]}`); r.status != http.StatusConflict || r.code(t) != "not_shared_computer" {
		t.Fatalf("networks of a personal account: %d %s", r.status, r.body)
	}
	r = e.do(as(admin.ID), "POST", "accounts/"+floor.ID+"/enrolments", `{"name":"Press 4","allowed_networks":["10.0.0.0/8"]}`)
	e.expect(r, http.StatusCreated)
	var link struct{ URL string }
	if r.json(t, &link); !strings.HasPrefix(link.URL, "https://gate.example.com/.gatehouse/enrol?token=") {
		t.Fatalf("enrolment link %q", link.URL)
	}

	events, err := e.st.ListAudit(e.ctx, store.AuditQuery{Action: "account.allowed_networks"})
	if err != nil {
		t.Fatal(err)
	}
	var viaToken, denied bool
	for _, ev := range events {
		viaToken = viaToken || ev.Outcome == "ok" && ev.Details["via"] == authz.ViaToken
		denied = denied || ev.Outcome == "denied"
	}
	if !viaToken || !denied {
		t.Fatalf("the audit does not show the token's change and the refusals: %+v", events)
	}
	if events, _ := e.st.ListAudit(e.ctx, store.AuditQuery{Action: "enrolment.create"}); len(events) != 1 || events[0].Details["name"] != "Press 4" {
		t.Fatalf("enrolment audit: %+v", events)
	}
}
