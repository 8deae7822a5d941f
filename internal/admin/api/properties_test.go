package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestUpdateAccountProperties(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	alice := e.user("alice@example.com", "acme", "viewer")
	viewer := e.user("viewer@example.com", "acme", "viewer")
	e.user("beta-admin@example.com", "beta", "admin")
	if err := e.st.SetMembership(e.ctx, store.Membership{AccountID: alice.ID, CompanyID: "beta", Role: "viewer", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// Alice's profile is the account as a whole: only an administrator of
	// both her companies changes it; acme's admin sets only acme's values.
	both := e.user("both@example.com", "acme", "admin")
	if err := e.st.SetMembership(e.ctx, store.Membership{AccountID: both.ID, CompanyID: "beta", Role: "admin", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	props := e.svc.Rules
	for _, d := range []store.PropertyDef{
		{CompanyID: "acme", Key: "site", Labels: map[string]string{"en": "Site"}, Type: store.PropertyChoice, Choices: []string{"Toulouse", "Lyon"}},
		{CompanyID: "acme", Key: "line", Labels: map[string]string{"en": "Line"}, Type: store.PropertyRelation},
		{CompanyID: "beta", Key: "site", Labels: map[string]string{"en": "Site"}, Type: store.PropertyText},
	} {
		if _, err := props.CreateDef(e.ctx, rules.Actor{ID: "test"}, d); err != nil {
			t.Fatal(err)
		}
	}
	values := func(company string) map[string]any {
		t.Helper()
		v, err := props.Values(e.ctx, alice.ID, company)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	before := e.snapshot()
	e.expect(e.do(as(admin.ID), "PATCH", "accounts/"+alice.ID,
		`{"first_name":"Alice","properties":{"company":"acme","values":{"site":"Toulouse"}}}`), http.StatusForbidden)
	e.unchanged(before)
	r := e.do(as(both.ID), "PATCH", "accounts/"+alice.ID,
		`{"first_name":"Alice","properties":{"company":"acme","values":{"site":"Toulouse","line":["L1","L2"]}}}`)
	e.expect(r, http.StatusOK)
	var out adminsvc.AccountUpdated
	r.json(t, &out)
	if out.FirstName != "Alice" || out.Properties == nil || out.Properties.Company != "acme" || out.Properties.Values["site"] != "Toulouse" {
		t.Fatalf("answer %+v %+v", out, out.Properties)
	}
	if v := values("acme"); v["site"] != "Toulouse" || !slices.Equal(v["line"].([]string), []string{"L1", "L2"}) {
		t.Fatalf("stored %v", v)
	}

	// Refused updates name the field and change nothing, profile included.
	for _, tt := range []struct {
		name, body, field string
		status            int
	}{
		{"unknown choice", `{"first_name":"X","properties":{"company":"acme","values":{"site":"Paris"}}}`, "properties.values.site", 422},
		{"unknown key", `{"properties":{"company":"acme","values":{"ghost":"x"}}}`, "properties.values.ghost", 422},
		{"wrong shape", `{"properties":{"company":"acme","values":{"site":{"a":1}}}}`, "properties.values.site", 422},
		{"no company", `{"first_name":"X","properties":{"values":{"site":"Lyon"}}}`, "properties.company", 422},
		{"unknown company", `{"properties":{"company":"gamma","values":{}}}`, "", 403},
		{"bad profile with good properties", `{"language":"de","properties":{"company":"acme","values":{"site":"Lyon"}}}`, "language", 422},
		{"company the caller does not administer", `{"properties":{"company":"beta","values":{"site":"Lyon"}}}`, "", 403},
		{"unknown member of the body", `{"properties":{"company":"acme","site":"Lyon"}}`, "", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			by := both
			if tt.name == "company the caller does not administer" {
				by = admin
			}
			r := e.do(as(by.ID), "PATCH", "accounts/"+alice.ID, tt.body)
			e.expect(r, tt.status)
			if tt.field != "" {
				var b struct {
					Error struct {
						Fields map[string]string `json:"fields"`
					} `json:"error"`
				}
				r.json(t, &b)
				if _, ok := b.Error.Fields[tt.field]; !ok {
					t.Fatalf("fields %v do not name %s", b.Error.Fields, tt.field)
				}
			}
			e.unchanged(before)
			if v := values("acme"); v["site"] != "Toulouse" {
				t.Fatalf("a refused update changed site to %v", v["site"])
			}
		})
	}

	// A viewer may not; an API token may.
	e.expect(e.do(as(viewer.ID), "PATCH", "accounts/"+alice.ID, `{"properties":{"company":"acme","values":{"site":"Lyon"}}}`), http.StatusForbidden)
	caller, err := e.svc.LoadCaller(e.ctx, admin.ID, "session", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.CreateAPIToken(e.ctx, caller, "ci", t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.expect(e.do(who{bearer: tok.Secret}, "PATCH", "accounts/"+alice.ID, `{"properties":{"company":"acme","values":{"site":"Lyon","line":null}}}`), http.StatusOK)
	if v := values("acme"); v["site"] != "Lyon" || v["line"] != nil {
		t.Fatalf("after the token's update %v", v)
	}
	// The change is audited as the properties API audits it.
	events, err := e.st.ListAudit(e.ctx, store.AuditQuery{Action: "property.values.set", Target: alice.ID})
	if err != nil || len(events) != 2 || events[0].Actor != admin.ID || events[1].Actor != both.ID {
		t.Fatalf("audit %+v %v", events, err)
	}

	// Without a properties service the call says so rather than ignoring them.
	e.svc.Rules = nil
	e.expect(e.do(as(admin.ID), "PATCH", "accounts/"+alice.ID, `{"properties":{"company":"acme","values":{"site":"Lyon"}}}`), http.StatusServiceUnavailable)
}
