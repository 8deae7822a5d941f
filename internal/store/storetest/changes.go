package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// changeLog records what a store announces to its watchers.
type changeLog struct {
	mu  sync.Mutex
	got []store.Change
}

func (l *changeLog) record(_ context.Context, cs []store.Change) {
	l.mu.Lock()
	l.got = append(l.got, cs...)
	l.mu.Unlock()
}

// take returns what was announced since the last take.
func (l *changeLog) take() []store.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// changeWrite is one write to account data and what it must announce.
type changeWrite struct {
	method string // the store method the row exercises
	write  func(c context.Context, s store.Store) error
	want   store.Change
}

// changeWrites covers every write to account data; testChangesCoverEveryWrite
// keeps it complete.
var changeWrites = []changeWrite{
	{"CreateAccount", func(c context.Context, s store.Store) error {
		return s.CreateAccount(c, account("a3", "a3@x.test"))
	}, store.Change{Account: "a3"}},
	{"UpdateAccount", func(c context.Context, s store.Store) error {
		_, err := s.UpdateAccount(c, "a1", func(a *store.Account) error { a.Language = "fr"; return nil })
		return err
	}, store.Change{Account: "a1"}},
	{"SetMembership", func(c context.Context, s store.Store) error {
		return s.SetMembership(c, store.Membership{AccountID: "a1", CompanyID: "acme", Role: "viewer", CreatedAt: t0})
	}, store.Change{Account: "a1"}},
	{"RemoveMembership", func(c context.Context, s store.Store) error {
		return s.RemoveMembership(c, "a1", "acme")
	}, store.Change{Account: "a1"}},
	{"GrantSite", func(c context.Context, s store.Store) error { return s.GrantSite(c, "a2", "s1") }, store.Change{Account: "a2"}},
	{"RevokeSite", func(c context.Context, s store.Store) error { return s.RevokeSite(c, "a2", "s1") }, store.Change{Account: "a2"}},
	{"LinkIdentity", func(c context.Context, s store.Store) error {
		return s.LinkIdentity(c, store.IdentityLink{ProviderID: "idp", Subject: "sub-a2", AccountID: "a2", CreatedAt: t0})
	}, store.Change{Account: "a2"}},
	{"SetAllowedNetworks", func(c context.Context, s store.Store) error {
		return s.SetAllowedNetworks(c, "a2", []string{"10.0.0.0/8"})
	}, store.Change{Account: "a2"}},
	{"CreatePropertyDef", func(c context.Context, s store.Store) error {
		return s.CreatePropertyDef(c, store.PropertyDef{CompanyID: "acme", Key: "dept", Type: store.PropertyText, CreatedAt: t0})
	}, store.Change{Company: "acme"}},
	{"UpdatePropertyDef", func(c context.Context, s store.Store) error {
		return s.UpdatePropertyDef(c, store.PropertyDef{CompanyID: "acme", Key: "dept", Type: store.PropertyChoice, Choices: []string{"ops"}})
	}, store.Change{Company: "acme"}},
	{"SetPropertyValue", func(c context.Context, s store.Store) error {
		return s.SetPropertyValue(c, store.PropertyValue{AccountID: "a2", CompanyID: "acme", Key: "dept", Values: []string{"ops"}})
	}, store.Change{Account: "a2"}},
	{"DeletePropertyDef", func(c context.Context, s store.Store) error {
		return s.DeletePropertyDef(c, "acme", "dept")
	}, store.Change{Company: "acme"}},
	{"CreateAccessRule", func(c context.Context, s store.Store) error {
		return s.CreateAccessRule(c, store.AccessRule{ID: "r1", CompanyID: "acme", Name: "R", Enabled: true,
			Condition: []byte(`{}`), Capability: "read", Tag: "t", CreatedAt: t0})
	}, store.Change{Company: "acme"}},
	{"UpdateAccessRule", func(c context.Context, s store.Store) error {
		return s.UpdateAccessRule(c, store.AccessRule{ID: "r1", CompanyID: "acme", Name: "R2", Enabled: false,
			Condition: []byte(`{}`), Capability: "read", Tag: "t"})
	}, store.Change{Company: "acme"}},
	{"DeleteAccessRule", func(c context.Context, s store.Store) error { return s.DeleteAccessRule(c, "r1") }, store.Change{Company: "acme"}},
	{"DeleteAccount", func(c context.Context, s store.Store) error { return s.DeleteAccount(c, "a3") }, store.Change{Account: "a3"}},
	{"CreateProvider", func(c context.Context, s store.Store) error {
		return s.CreateProvider(c, store.ProviderRecord{ID: "corp", Config: []byte(`{}`), Enabled: true, CreatedAt: t0})
	}, store.Change{Provider: "corp"}},
	{"UpdateProvider", func(c context.Context, s store.Store) error {
		return s.UpdateProvider(c, store.ProviderRecord{ID: "corp", Config: []byte(`{}`), Enabled: false})
	}, store.Change{Provider: "corp"}},
	{"DeleteProvider", func(c context.Context, s store.Store) error { return s.DeleteProvider(c, "corp") }, store.Change{Provider: "corp"}},
}

// writesOfNoAccount change nothing an account is seen through: a
// company's or a site's name is not in any identity, and a new company or
// site has no members yet.
var writesOfNoAccount = []string{"CreateCompany", "RenameCompany", "CreateSite", "RenameSite"}

func changesFixture(t *testing.T, s store.Store) *changeLog {
	t.Helper()
	mustCompany(t, s, "acme")
	mustSite(t, s, "s1", "acme")
	mustAccounts(t, s, "a1", "a2")
	log := &changeLog{}
	s.WatchChanges(ctx(t), log.record)
	return log
}

// testChanges: every committed write to account data announces the
// account or company it touched before it returns, once.
func testChanges(t *testing.T, s store.Store) {
	log := changesFixture(t, s)
	for _, w := range changeWrites {
		noErr(t, w.method, w.write(ctx(t), s))
		if got := log.take(); !slices.Equal(got, []store.Change{w.want}) {
			t.Fatalf("%s announced %+v, want %+v", w.method, got, w.want)
		}
	}
}

// testChangesOnlyWhenCommitted: a write that fails, or that changes
// nothing but the time, announces nothing; writes in a transaction are
// announced when it commits and never when it rolls back.
func testChangesOnlyWhenCommitted(t *testing.T, s store.Store) {
	log := changesFixture(t, s)
	c := ctx(t)

	wantErr(t, "RemoveMembership(none)", s.RemoveMembership(c, "a1", "acme"), store.ErrNotFound)
	wantErr(t, "DeleteAccessRule(none)", s.DeleteAccessRule(c, "nope"), store.ErrNotFound)
	wantErr(t, "DeleteProvider(none)", s.DeleteProvider(c, "nope"), store.ErrNotFound)
	wantErr(t, "UpdateProvider(none)", s.UpdateProvider(c, store.ProviderRecord{ID: "nope", Config: []byte(`{}`)}), store.ErrNotFound)
	_, err := s.UpdateAccount(c, "a1", func(a *store.Account) error { a.Language = "en"; return nil })
	noErr(t, "UpdateAccount(no change)", err)
	if got := log.take(); len(got) != 0 {
		t.Fatalf("writes that changed no account data announced %+v", got)
	}

	boom := errors.New("boom")
	err = s.InTx(c, func(tx store.Store) error {
		noErr(t, "SetMembership in tx", tx.SetMembership(c, store.Membership{AccountID: "a1", CompanyID: "acme", Role: "viewer"}))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v", err)
	}
	if got := log.take(); len(got) != 0 {
		t.Fatalf("a rolled back transaction announced %+v", got)
	}

	noErr(t, "InTx", s.InTx(c, func(tx store.Store) error {
		noErr(t, "SetMembership in tx", tx.SetMembership(c, store.Membership{AccountID: "a1", CompanyID: "acme", Role: "viewer"}))
		noErr(t, "GrantSite in tx", tx.GrantSite(c, "a2", "s1"))
		if got := log.take(); len(got) != 0 {
			t.Fatalf("writes were announced before their transaction committed: %+v", got)
		}
		return nil
	}))
	if got, want := log.take(), []store.Change{{Account: "a1"}, {Account: "a2"}}; !slices.Equal(got, want) {
		t.Fatalf("a committed transaction announced %+v, want %+v", got, want)
	}
}

// testChangesCoverEveryWrite keeps changeWrites complete: a write method
// added to an interface holding account data fails here until it has a
// row, so a write that forgets to announce itself cannot go unnoticed.
func testChangesCoverEveryWrite(t *testing.T, _ store.Store) {
	covered := map[string]bool{}
	for _, w := range changeWrites {
		covered[w.method] = true
	}
	for _, name := range writesOfNoAccount {
		covered[name] = true
	}
	for _, iface := range []reflect.Type{
		reflect.TypeFor[store.Accounts](), reflect.TypeFor[store.Companies](), reflect.TypeFor[store.Identities](),
		reflect.TypeFor[store.Properties](), reflect.TypeFor[store.Workstations](), reflect.TypeFor[store.ProviderRecords](),
	} {
		for m := range iface.Methods() {
			if isRead(m.Name) || covered[m.Name] {
				continue
			}
			t.Errorf("store.%s.%s writes account data but no conformance row checks that it announces a change", iface.Name(), m.Name)
		}
	}
}

// isRead: reads, and locks that only hold a row for the transaction.
func isRead(method string) bool {
	for _, p := range []string{"Get", "List", "Count", "Find", "Lock"} {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return method == "AllowedNetworks"
}
