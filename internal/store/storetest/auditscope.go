package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testAuditCompanies: an event records the companies it concerns, either
// those it names or, when it names none, those its target account belongs
// to when it is written; a scope admits exactly the events of its
// companies, and a category scope narrows it.
func testAuditCompanies(t *testing.T, s store.Store) {
	c := ctx(t)
	for _, id := range []string{"acme", "beta", "gamma"} {
		mustCompany(t, s, id)
	}
	mustCreateAccount(t, s, account("dual", "Dual@X.test"))
	mustAccounts(t, s, "bob", "loner")
	for _, m := range []store.Membership{
		{AccountID: "dual", CompanyID: "acme", Role: "admin", CreatedAt: t0},
		{AccountID: "dual", CompanyID: "gamma", Role: "viewer", CreatedAt: t0},
		{AccountID: "bob", CompanyID: "beta", Role: "admin", CreatedAt: t0},
	} {
		noErr(t, "SetMembership", s.SetMembership(c, m))
	}
	named := audit(t0, "bob", "account.membership.set", "dual", "admin")
	named.Companies = []string{"beta", "beta", ""}
	integration := audit(t0, "system", "mail.failed", "dual", "integration")
	for _, e := range []store.AuditEvent{
		audit(t0, "dual", "login.success", "dual", "auth"),             // the target's companies
		audit(t0, "anonymous", "login.failure", "dual@x.test", "auth"), // an account named by its email
		named, // the companies it names, and only those
		audit(t0, "anonymous", "login.failure", "nobody@x.test", "auth"), // no account: no company
		audit(t0, "admin", "account.update", "loner", "admin"),           // an account with no membership
		audit(t0, "system", "logins.purge", "", "auth"),
		integration,
	} {
		noErr(t, "AppendAudit", s.AppendAudit(c, e))
	}
	// A later change of memberships does not rewrite what was recorded.
	noErr(t, "RemoveMembership", s.RemoveMembership(c, "dual", "gamma"))
	noErr(t, "AppendAudit", s.AppendAudit(c, audit(t0, "dual", "logout", "dual", "auth")))

	all, err := s.ListAudit(c, store.AuditQuery{})
	noErr(t, "ListAudit", err)
	got := map[string][]string{}
	for _, e := range all {
		got[fmt.Sprintf("%s %s", e.Action, e.Target)] = e.Companies
	}
	for key, want := range map[string][]string{
		"login.success dual":          {"acme", "gamma"},
		"login.failure dual@x.test":   {"acme", "gamma"},
		"account.membership.set dual": {"beta"},
		"login.failure nobody@x.test": nil,
		"account.update loner":        nil,
		"logins.purge ":               nil,
		"mail.failed dual":            {"acme", "gamma"},
		"logout dual":                 {"acme"},
	} {
		if !slices.Equal(got[key], want) {
			t.Errorf("%s: companies %q, want %q", key, got[key], want)
		}
	}

	list := func(q store.AuditQuery) []string {
		t.Helper()
		es, err := s.ListAudit(c, q)
		noErr(t, "ListAudit", err)
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Action + " " + e.Target
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"gamma", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"gamma"}}},
			[]string{"mail.failed dual", "login.failure dual@x.test", "login.success dual"}},
		{"beta", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"beta"}}},
			[]string{"account.membership.set dual"}},
		{"beta and gamma count an event once", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"gamma", "beta", "acme"}}, Category: "auth"},
			[]string{"logout dual", "login.failure dual@x.test", "login.success dual"}},
		{"no company", store.AuditQuery{Scope: &store.AuditScope{Unattached: true}},
			[]string{"logins.purge ", "account.update loner", "login.failure nobody@x.test"}},
		{"nothing", store.AuditQuery{Scope: &store.AuditScope{}}, []string{}},
		{"a blank company is none", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{""}}}, []string{}},
		{"integration narrowed away", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"gamma"}},
			ByCategory: map[string]store.AuditScope{"integration": {}}},
			[]string{"login.failure dual@x.test", "login.success dual"}},
		{"integration in another scope", store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"beta"}},
			ByCategory: map[string]store.AuditScope{"integration": {Companies: []string{"acme"}}}},
			[]string{"mail.failed dual", "account.membership.set dual"}},
		{"only a category scope", store.AuditQuery{Actor: "system", ByCategory: map[string]store.AuditScope{"integration": {Companies: []string{"beta"}}}},
			[]string{"logins.purge "}},
	} {
		if got := list(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}

	// An event rolled back takes its companies with it.
	noErr(t, "InTx", func() error {
		err := s.InTx(c, func(tx store.Store) error {
			if err := tx.AppendAudit(c, audit(t0, "dual", "rolled.back", "dual", "auth")); err != nil {
				return err
			}
			return errRollback
		})
		if err == errRollback {
			return nil
		}
		return err
	}())
	if got := list(store.AuditQuery{Action: "rolled.back"}); len(got) != 0 {
		t.Fatalf("a rolled back event was kept: %q", got)
	}
}

var errRollback = fmt.Errorf("roll back")

// testPurgeAudit: events older than the cutoff go, with their companies,
// however many there are; newer ones stay; a second purge finds nothing.
func testPurgeAudit(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustAccounts(t, s, "u1")
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "acme", Role: "viewer", CreatedAt: t0}))
	cutoff := t0.Add(400 * 24 * time.Hour)
	// More than one batch of old events, written in one transaction so
	// the suite stays quick on PostgreSQL.
	const old = 1203
	noErr(t, "InTx", s.InTx(c, func(tx store.Store) error {
		for i := range old {
			if err := tx.AppendAudit(c, audit(t0.Add(time.Duration(i)*time.Second), "u1", "login.success", "u1", "auth")); err != nil {
				return err
			}
		}
		return nil
	}))
	noErr(t, "AppendAudit", s.AppendAudit(c, audit(cutoff.Add(-time.Microsecond), "u1", "login.old", "u1", "auth")))
	noErr(t, "AppendAudit", s.AppendAudit(c, audit(cutoff, "u1", "login.kept", "u1", "auth")))
	noErr(t, "AppendAudit", s.AppendAudit(c, audit(cutoff.Add(time.Hour), "u1", "login.new", "u1", "auth")))

	n, err := s.PurgeAudit(c, cutoff)
	noErr(t, "PurgeAudit", err)
	if n != old+1 {
		t.Fatalf("PurgeAudit removed %d events, want %d", n, old+1)
	}
	left, err := s.ListAudit(c, store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"acme"}}, Limit: 1000})
	noErr(t, "ListAudit", err)
	if got := auditActions(left); !slices.Equal(got, []string{"login.new", "login.kept"}) {
		t.Fatalf("after PurgeAudit: %q, want the event at the cutoff and the newer one", got)
	}
	if !slices.Equal(left[0].Companies, []string{"acme"}) {
		t.Fatalf("a kept event lost its companies: %q", left[0].Companies)
	}
	if n, err := s.PurgeAudit(c, cutoff); err != nil || n != 0 {
		t.Fatalf("a second PurgeAudit: %d, %v", n, err)
	}
}
