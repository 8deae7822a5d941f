package authz

import (
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
)

func caller(status string, ms ...store.Membership) Caller {
	return Caller{Account: store.Account{ID: "me", Status: status, Kind: store.KindPersonal}, Memberships: ms}
}

func in(company, role string) store.Membership {
	return store.Membership{AccountID: "me", CompanyID: company, Role: role}
}

func TestStandardModel(t *testing.T) {
	p := Policy{Roles: account.Standard()}
	admin := caller(store.StatusActive, in("acme", "admin"), in("beta", "viewer"))
	if !p.Has(admin, account.CapExports) || !p.Has(admin, account.CapIntegrationLogs) || !p.IsFullAdmin(admin) {
		t.Fatal("an admin lacks admin capabilities")
	}
	if got := p.Companies(admin, account.CapManageUsers); !reflect.DeepEqual(got, []string{"acme"}) {
		t.Fatalf("admin manages %v, want [acme]", got)
	}
	if !p.Sees(admin, []store.Membership{{CompanyID: "acme"}}) || p.Sees(admin, []store.Membership{{CompanyID: "beta"}}) {
		t.Fatal("an admin of acme must see acme accounts only")
	}
	if p.ManagesAccount(admin, []store.Membership{{CompanyID: "acme"}, {CompanyID: "beta"}}) {
		t.Fatal("an admin of acme must not change an account beta shares")
	}
	if p.Sees(admin, nil) || p.ManagesAccount(admin, nil) {
		t.Fatal("no built-in role reaches accounts with no membership")
	}
	for _, role := range []string{"viewer", "manager", "shared_computer"} {
		c := caller(store.StatusActive, in("acme", role))
		if p.Has(c, account.CapAdminPanel) || p.Has(c, account.CapManageUsers) || p.Sees(c, []store.Membership{{CompanyID: "acme"}}) || p.Sees(c, nil) {
			t.Errorf("%s may administer", role)
		}
	}
	blocked := caller(store.StatusBlocked, in("acme", "admin"))
	if p.Has(blocked, account.CapAdminPanel) || p.IsAdmin(blocked) || p.IsFullAdmin(blocked) || p.Sees(blocked, []store.Membership{{CompanyID: "acme"}}) {
		t.Fatal("a blocked admin keeps its powers")
	}
}

func TestSiteScopedManagerManagesOnlyItsCompanies(t *testing.T) {
	m, err := account.LoadModel(account.ModelSiteScoped)
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Roles: m}
	mgr := caller(store.StatusActive, in("acme", "manager"), in("beta", "user"))
	if !p.Manages(mgr, "acme") || p.Manages(mgr, "beta") || p.Manages(mgr, "gamma") {
		t.Fatal("manager scope wrong")
	}
	if !p.HasIn(mgr, "acme", account.CapExports) || p.Has(mgr, account.CapIntegrationLogs) {
		t.Fatal("site-scoped manager: exports yes, integration logs no")
	}
	if p.IsFullAdmin(mgr) {
		t.Fatal("a company manager is not a full administrator")
	}
	if !p.Sees(mgr, []store.Membership{{CompanyID: "beta"}, {CompanyID: "acme"}}) {
		t.Fatal("an account with a membership in a managed company is in scope")
	}
	if p.Sees(mgr, []store.Membership{{CompanyID: "beta"}}) {
		t.Fatal("an account only in beta is out of scope")
	}
}
