package rules

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

var errBoom = errors.New("boom: the store failed part-way")

// failingStore fails the nth SetPropertyValue it (or a transaction it
// began) sees, counting across both, so a failure lands mid-import.
type failingStore struct {
	store.Store
	calls  *atomic.Int32
	failAt int32
}

func (f failingStore) SetPropertyValue(ctx context.Context, v store.PropertyValue) error {
	if f.calls.Add(1) == f.failAt {
		return errBoom
	}
	return f.Store.SetPropertyValue(ctx, v)
}

func (f failingStore) InTx(ctx context.Context, fn func(store.Store) error) error {
	return f.Store.InTx(ctx, func(tx store.Store) error {
		return fn(failingStore{Store: tx, calls: f.calls, failAt: f.failAt})
	})
}

func TestImportIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("company", st.CreateCompany(ctx, store.Company{ID: "acme", Name: "Acme", CreatedAt: now}))
	for _, id := range []string{"alice", "bob", "carol"} {
		must("account", st.CreateAccount(ctx, store.Account{ID: id, Email: id + "@example.com", Language: "en", DateFormat: "MM/DD/YYYY",
			Kind: store.KindPersonal, SignIn: "password", Status: store.StatusActive, CreatedAt: now, UpdatedAt: now}))
		must("membership", st.SetMembership(ctx, store.Membership{AccountID: id, CompanyID: "acme", Role: "viewer", CreatedAt: now}))
	}
	fs := failingStore{Store: st, calls: &atomic.Int32{}}
	svc := NewService(fs, fs, fs, account.Standard(), func() time.Time { return now }, rand.Reader, nil)
	// Every batch of changes the store announces is one invalidation of
	// the caches built on it.
	changes := 0
	st.WatchChanges(ctx, func(context.Context, []store.Change) { changes++ })
	_, err = svc.CreateDef(ctx, admin, store.PropertyDef{CompanyID: "acme", Key: "site", Labels: map[string]string{"en": "Site"},
		Type: store.PropertyChoice, Choices: []string{"Toulouse", "Lyon"}})
	must("def", err)
	must("alice's site", svc.SetValues(ctx, admin, "alice", "acme", map[string][]string{"site": {"Toulouse"}}))
	changes = 0
	auditBefore, err := st.ListAudit(ctx, store.AuditQuery{Action: "property.values.import"})
	must("audit", err)

	csv := []byte("email,site\nalice@example.com,Lyon\nbob@example.com,Lyon\ncarol@example.com,Toulouse\n")
	rep, err := svc.PreviewImport(ctx, "acme", csv)
	must("preview", err)
	if !rep.Valid {
		t.Fatalf("preview: %+v", rep)
	}

	// The second row's write fails: the first row's must not stay.
	fs.calls.Store(0)
	svc.props = failingStore{Store: st, calls: fs.calls, failAt: 2}
	rep, err = svc.ApplyImport(ctx, admin, "acme", csv, rep.Confirm)
	if !errors.Is(err, errBoom) || rep.Applied {
		t.Fatalf("a failing import: applied=%v err=%v", rep.Applied, err)
	}
	for id, want := range map[string]any{"alice": "Toulouse", "bob": nil, "carol": nil} {
		v, err := svc.Values(ctx, id, "acme")
		must("values", err)
		if v["site"] != want {
			t.Errorf("after a failed import %s's site = %v, want %v", id, v["site"], want)
		}
	}
	auditAfter, err := st.ListAudit(ctx, store.AuditQuery{Action: "property.values.import"})
	must("audit", err)
	if len(auditAfter) != len(auditBefore) {
		t.Errorf("a failed import left %d audit lines", len(auditAfter)-len(auditBefore))
	}
	if changes != 0 {
		t.Errorf("a failed import invalidated caches %d times", changes)
	}

	// The same file with a healthy store applies every row, once.
	fs.calls.Store(0)
	svc.props = failingStore{Store: st, calls: fs.calls}
	rep, err = svc.ApplyImport(ctx, admin, "acme", csv, rep.Confirm)
	if err != nil || !rep.Applied {
		t.Fatalf("import: applied=%v err=%v", rep.Applied, err)
	}
	for id, want := range map[string]string{"alice": "Lyon", "bob": "Lyon", "carol": "Toulouse"} {
		v, err := svc.Values(ctx, id, "acme")
		must("values", err)
		if v["site"] != want {
			t.Errorf("after the import %s's site = %v, want %s", id, v["site"], want)
		}
	}
	auditAfter, err = st.ListAudit(ctx, store.AuditQuery{Action: "property.values.import"})
	must("audit", err)
	if len(auditAfter) != len(auditBefore)+3 {
		t.Errorf("the import wrote %d audit lines, want 3", len(auditAfter)-len(auditBefore))
	}
	if changes != 1 {
		t.Errorf("the import invalidated caches %d times, want once", changes)
	}
}
