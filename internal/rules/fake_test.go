package rules

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// fakeDir is an in-memory Directory.
type fakeDir struct {
	accounts map[string]store.Account
	members  map[string][]store.Membership
}

func (d *fakeDir) GetAccount(_ context.Context, id string) (store.Account, error) {
	a, ok := d.accounts[id]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (d *fakeDir) GetAccountByEmail(_ context.Context, email string) (store.Account, error) {
	for _, a := range d.accounts {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	return store.Account{}, store.ErrNotFound
}

func (d *fakeDir) ListMemberships(_ context.Context, id string) ([]store.Membership, error) {
	return d.members[id], nil
}

func (d *fakeDir) add(id, email, kind, company, role string) {
	d.accounts[id] = store.Account{ID: id, Email: email, Kind: kind, Status: store.StatusActive}
	d.members[id] = append(d.members[id], store.Membership{AccountID: id, CompanyID: company, Role: role})
}

type fixture struct {
	svc     *Service
	mem     *MemStore
	dir     *fakeDir
	audit   *storetest.AuditLog
	now     time.Time
	changes int
}

var admin = Actor{ID: "admin", IP: "127.0.0.1"}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{
		mem:   NewMemStore(),
		dir:   &fakeDir{accounts: map[string]store.Account{}, members: map[string][]store.Membership{}},
		audit: &storetest.AuditLog{},
		now:   time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	f.svc = NewService(f.mem, f.dir, f.audit, account.Standard(), func() time.Time { return f.now }, rand.Reader, nil)
	f.svc.OnChange = func() { f.changes++ }
	f.dir.add("alice", "alice@example.com", store.KindPersonal, "acme", "viewer")
	f.dir.add("bob", "bob@example.com", store.KindPersonal, "acme", "viewer")
	f.dir.add("ws", "ws@example.com", store.KindSharedComputer, "acme", "shared_computer")
	f.dir.add("zed", "zed@example.com", store.KindPersonal, "other", "viewer")
	ctx := context.Background()
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
