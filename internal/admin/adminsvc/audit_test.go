package adminsvc

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// A model with a partial admin role: hr reaches the panel and manages
// users, but holds no integration_logs.
const auditTestModel = `
name: audit-test
roles:
  - name: admin
    all_sites: true
    capabilities: [view, admin_panel, manage_users, exports, integration_logs]
  - name: hr
    all_sites: true
    capabilities: [view, admin_panel, manage_users]
  - name: viewer
    capabilities: [view]
`

// TestAuditReach: each caller reads the events of the companies where
// they hold admin_panel, integration events only where they also hold
// integration_logs, and events of no company only when they administer
// every company; ids become emails only for accounts of those companies.
func TestAuditReach(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	roles, err := account.ParseModel([]byte(auditTestModel), "audit-test")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{Store: st, Policy: authz.Policy{Roles: roles}, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, co := range []string{"acme", "beta", "gamma"} {
		if err := st.CreateCompany(ctx, store.Company{ID: co, Name: co, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	callers := map[string]authz.Caller{}
	member := func(id string, ms map[string]string) {
		t.Helper()
		a := store.Account{ID: id, Email: id + "@example.test", Language: "en", DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal,
			SignIn: "password", Status: store.StatusActive, CreatedAt: t0, UpdatedAt: t0}
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		c := authz.Caller{Account: a, Via: authz.ViaSession}
		for co, role := range ms {
			m := store.Membership{AccountID: id, CompanyID: co, Role: role, CreatedAt: t0}
			if err := st.SetMembership(ctx, m); err != nil {
				t.Fatal(err)
			}
			c.Memberships = append(c.Memberships, m)
		}
		callers[id] = c
	}
	member("acc_hr", map[string]string{"acme": "hr", "beta": "admin"})
	member("acc_acme", map[string]string{"acme": "admin"})
	member("acc_root", map[string]string{"acme": "admin", "beta": "admin", "gamma": "admin"})
	member("acc_gamma", map[string]string{"gamma": "viewer"})
	member("acc_shared", map[string]string{"acme": "viewer", "gamma": "viewer"})
	for _, e := range []store.AuditEvent{
		{Actor: "acc_acme", Action: "acme.change", Target: "acc_acme", Category: "admin"},
		{Actor: "acc_gamma", Action: "gamma.signin", Target: "acc_gamma", Category: "auth"},
		{Actor: "acc_shared", Action: "shared.signin", Target: "acc_shared", Category: "auth"},
		{Actor: "acc_gamma", Action: "beta.change", Target: "site_1", Category: "admin", Companies: []string{"beta"}},
		{Actor: "system", Action: "acme.mail_failed", Target: "acc_acme", Category: CategoryIntegration},
		{Actor: "system", Action: "beta.mail_failed", Target: "x", Category: CategoryIntegration, Companies: []string{"beta"}},
		{Actor: "anonymous", Action: "nobody.signin", Target: "who@nowhere.test", Category: "auth"},
		{Actor: "anonymous", Action: "nobody.provider", Target: "google", Category: CategoryIntegration},
	} {
		e.Time = t0
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for who, want := range map[string][]string{
		"acc_hr":   {"acme.change", "shared.signin", "beta.change", "beta.mail_failed"},
		"acc_acme": {"acme.change", "shared.signin", "acme.mail_failed"},
		"acc_root": {"acme.change", "gamma.signin", "shared.signin", "beta.change", "acme.mail_failed", "beta.mail_failed", "nobody.signin", "nobody.provider"},
	} {
		page, err := s.ListAudit(ctx, callers[who], AuditFilter{Limit: 100})
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		var got []string
		for _, e := range page.Events {
			got = append(got, e.Action)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s reads %q, want %q", who, got, want)
		}
	}
	// Paging walks the same reach: one event a page, all of them in turn.
	var paged []string
	for f := (AuditFilter{Limit: 1}); ; {
		page, err := s.ListAudit(ctx, callers["acc_hr"], f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			paged = append(paged, e.Action)
		}
		if page.Next == 0 {
			break
		}
		f.Before = page.Next
	}
	if want := []string{"beta.mail_failed", "beta.change", "shared.signin", "acme.change"}; !slices.Equal(paged, want) {
		t.Errorf("hr's pages: %q, want %q", paged, want)
	}
	if _, err := s.ListAudit(ctx, callers["acc_acme"], AuditFilter{Category: CategoryIntegration}); err != nil {
		t.Errorf("acme's admin asking for integration events: %v", err)
	}

	emails, err := s.Emails(ctx, callers["acc_acme"], []string{"acc_shared", "acc_gamma", "acc_hr", "acc_none"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"acc_shared": "acc_shared@example.test", "acc_gamma": "acc_gamma", "acc_hr": "acc_hr@example.test", "acc_none": "acc_none"}; !maps.Equal(emails, want) {
		t.Errorf("acme's admin names %v, want %v", emails, want)
	}
	if ref, err := s.AccountRef(ctx, callers["acc_acme"], "acc_gamma@example.test"); err != nil || ref != "acc_gamma@example.test" {
		t.Errorf("acme's admin resolves gamma's address to %q, %v: want it searched as typed", ref, err)
	}
	if ref, err := s.AccountRef(ctx, callers["acc_root"], "acc_gamma@example.test"); err != nil || ref != "acc_gamma" {
		t.Errorf("root resolves gamma's address to %q, %v", ref, err)
	}
}
