package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestAuditLogReadsWhatWasRecorded: every event records the companies it
// concerns (a sign-in and an account-wide change: the account's; a change
// in a company: that one; an unknown address: none), and each admin's page
// of the log is exactly the events of their companies.
func TestAuditLogReadsWhatWasRecorded(t *testing.T) {
	w := newAuditWorld(t)
	all, err := w.g.Store.ListAudit(context.Background(), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	recorded := func(action, target string, want ...string) {
		t.Helper()
		for _, e := range all {
			if e.Action == action && e.Target == target {
				if !slices.Equal(e.Companies, want) {
					t.Errorf("%s of %s recorded for %q, want %q", action, target, e.Companies, want)
				}
				return
			}
		}
		t.Errorf("no %s of %s in the audit log", action, target)
	}
	recorded("login.success", w.alice.ID, "acme")
	recorded("login.failure", "alice@acme.test", "acme")
	recorded("login.failure", "nobody@nowhere.test")
	recorded("account.update", w.alice.ID, "acme")
	recorded("login.success", w.shared.ID, "acme", "beta")
	recorded("account.update", w.shared.ID, "acme", "beta")
	recorded("account.membership.set", w.shared.ID, "beta")

	of := func(company string) []float64 {
		ids := []float64{}
		for _, e := range all {
			if company == "*" || slices.Contains(e.Companies, company) {
				ids = append(ids, float64(e.ID))
			}
		}
		return ids
	}
	for _, r := range []struct {
		who     string
		client  *http.Client
		company string
	}{
		{"beta's admin", w.beta, "beta"}, {"acme's admin", w.acme, "acme"}, {"the admin of every company", w.root, "*"},
	} {
		_, events := listAuditAPI(t, w.g, r.client)
		ids := []float64{}
		for _, e := range events {
			ids = append(ids, e["id"].(float64))
		}
		if want := of(r.company); !slices.Equal(ids, want) {
			t.Errorf("%s reads events %v, want %v", r.who, ids, want)
		}
	}
}
