package rules

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

type fixture struct {
	svc     *Service
	st      store.Store
	audit   *storetest.AuditLog
	now     time.Time
	changes int
}

var admin = Actor{ID: "admin", IP: "127.0.0.1"}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatalf("store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	f := &fixture{
		st:    st,
		audit: &storetest.AuditLog{},
		now:   time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	f.svc = NewService(st, st, f.audit, account.Standard(), func() time.Time { return f.now }, rand.Reader, nil)
	st.WatchChanges(tb.Context(), func(context.Context, []store.Change) { f.changes++ })
	for _, c := range []string{"acme", "other"} {
		if err := st.CreateCompany(ctx, store.Company{ID: c, Name: c, CreatedAt: f.now}); err != nil {
			tb.Fatalf("company %s: %v", c, err)
		}
	}
	f.member(tb, "alice", store.KindPersonal, "acme", "viewer")
	f.member(tb, "bob", store.KindPersonal, "acme", "viewer")
	f.member(tb, "ws", store.KindSharedComputer, "acme", "shared_computer")
	f.member(tb, "zed", store.KindPersonal, "other", "viewer")
	for _, d := range []store.PropertyDef{
		{CompanyID: "acme", Key: "site", Labels: map[string]string{"en": "Site"}, Type: store.PropertyChoice, Choices: []string{"Toulouse", "Lyon"}},
		{CompanyID: "acme", Key: "certs", Labels: map[string]string{"en": "Certifications"}, Type: store.PropertyMultiChoice, Choices: []string{"iso", "atex", "fire"}},
		{CompanyID: "acme", Key: "dept", Labels: map[string]string{"en": "Department"}, Type: store.PropertyText},
		{CompanyID: "acme", Key: "line", Labels: map[string]string{"en": "Line"}, Type: store.PropertyRelation},
	} {
		if _, err := f.svc.CreateDef(ctx, admin, d); err != nil {
			tb.Fatalf("def %s: %v", d.Key, err)
		}
	}
	return f
}

// member creates an active account id@example.com with one role in company.
func (f *fixture) member(tb testing.TB, id, kind, company, role string) {
	tb.Helper()
	ctx := context.Background()
	if err := f.st.CreateAccount(ctx, store.Account{ID: id, Email: id + "@example.com", Language: "en", DateFormat: "MM/DD/YYYY",
		Kind: kind, SignIn: "password", Status: store.StatusActive, CreatedAt: f.now, UpdatedAt: f.now}); err != nil {
		tb.Fatalf("account %s: %v", id, err)
	}
	if err := f.st.SetMembership(ctx, store.Membership{AccountID: id, CompanyID: company, Role: role, CreatedAt: f.now}); err != nil {
		tb.Fatalf("membership %s: %v", id, err)
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) rule(tb testing.TB, name, capability, tag, cond string) store.AccessRule {
	tb.Helper()
	r, err := f.svc.CreateRule(context.Background(), admin, "acme", RuleInput{
		Name: ptr(name), Capability: ptr(capability), Tag: ptr(tag), Condition: []byte(cond),
	})
	if err != nil {
		tb.Fatalf("rule %s: %v", name, err)
	}
	return r
}

func (f *fixture) set(tb testing.TB, acct string, values map[string][]string) {
	tb.Helper()
	if err := f.svc.SetValues(context.Background(), admin, acct, "acme", values); err != nil {
		tb.Fatalf("set %s: %v", acct, err)
	}
}
