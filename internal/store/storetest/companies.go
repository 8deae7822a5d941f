package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testCompaniesAndSites(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "globex")
	mustCompany(t, s, "acme")
	wantErr(t, "CreateCompany(duplicate)", s.CreateCompany(c, store.Company{ID: "acme", Name: "Again"}), store.ErrConflict)

	got, err := s.GetCompany(c, "acme")
	noErr(t, "GetCompany", err)
	if got.ID != "acme" || got.Name != "Company acme" {
		t.Fatalf("GetCompany = %+v", got)
	}
	sameTime(t, "Company.CreatedAt", got.CreatedAt, t0)
	_, err = s.GetCompany(c, "nope")
	wantErr(t, "GetCompany(missing)", err, store.ErrNotFound)

	list, err := s.ListCompanies(c)
	noErr(t, "ListCompanies", err)
	if len(list) != 2 || list[0].ID != "acme" || list[1].ID != "globex" {
		t.Fatalf("ListCompanies = %+v, want acme, globex", list)
	}
	noErr(t, "RenameCompany", s.RenameCompany(c, "acme", "ACME Corp"))
	got, err = s.GetCompany(c, "acme")
	noErr(t, "GetCompany", err)
	if got.Name != "ACME Corp" {
		t.Fatalf("renamed company is %q", got.Name)
	}
	wantErr(t, "RenameCompany(missing)", s.RenameCompany(c, "nope", "x"), store.ErrNotFound)

	mustSite(t, s, "tls", "acme")
	mustSite(t, s, "bdx", "acme")
	mustSite(t, s, "nyc", "globex")
	wantErr(t, "CreateSite(duplicate)", s.CreateSite(c, store.Site{ID: "tls", CompanyID: "globex", Name: "x"}), store.ErrConflict)
	wantErr(t, "CreateSite(unknown company)", s.CreateSite(c, store.Site{ID: "x", CompanyID: "nope", Name: "x"}), store.ErrNotFound)
	site, err := s.GetSite(c, "tls")
	noErr(t, "GetSite", err)
	if site.ID != "tls" || site.CompanyID != "acme" || site.Name != "Site tls" {
		t.Fatalf("GetSite = %+v", site)
	}
	sameTime(t, "Site.CreatedAt", site.CreatedAt, t0)
	_, err = s.GetSite(c, "nope")
	wantErr(t, "GetSite(missing)", err, store.ErrNotFound)
	sites, err := s.ListSites(c, "acme")
	noErr(t, "ListSites", err)
	if len(sites) != 2 || sites[0].ID != "bdx" || sites[1].ID != "tls" {
		t.Fatalf("ListSites(acme) = %+v, want bdx, tls", sites)
	}
	sites, err = s.ListSites(c, "nope")
	noErr(t, "ListSites(unknown)", err)
	if len(sites) != 0 {
		t.Fatalf("ListSites(unknown) = %+v", sites)
	}
	noErr(t, "RenameSite", s.RenameSite(c, "tls", "Toulouse"))
	site, err = s.GetSite(c, "tls")
	noErr(t, "GetSite", err)
	if site.Name != "Toulouse" {
		t.Fatalf("renamed site is %q", site.Name)
	}
	wantErr(t, "RenameSite(missing)", s.RenameSite(c, "nope", "x"), store.ErrNotFound)

	// A missing CreatedAt is filled in.
	noErr(t, "CreateCompany(no time)", s.CreateCompany(c, store.Company{ID: "initech", Name: "Initech"}))
	got, err = s.GetCompany(c, "initech")
	noErr(t, "GetCompany", err)
	if got.CreatedAt.IsZero() {
		t.Fatal("CreateCompany without CreatedAt stored the zero time")
	}
}

func testMemberships(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustCompany(t, s, "globex")
	mustAccounts(t, s, "u1", "u2")

	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "globex", Role: "viewer", CreatedAt: t0}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "acme", Role: "viewer", CreatedAt: t0}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u2", CompanyID: "acme", Role: "admin", CreatedAt: t0}))
	// Replacing keeps one membership and changes the role.
	noErr(t, "SetMembership(replace)", s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "acme", Role: "manager", CreatedAt: t0.Add(time.Hour)}))

	ms, err := s.ListMemberships(c, "u1")
	noErr(t, "ListMemberships", err)
	if len(ms) != 2 || ms[0].CompanyID != "acme" || ms[0].Role != "manager" || ms[1].CompanyID != "globex" || ms[1].Role != "viewer" {
		t.Fatalf("ListMemberships(u1) = %+v", ms)
	}
	if ms[0].AccountID != "u1" {
		t.Fatalf("membership account = %q", ms[0].AccountID)
	}
	sameTime(t, "Membership.CreatedAt after replace", ms[0].CreatedAt, t0)

	members, err := s.ListCompanyMembers(c, "acme")
	noErr(t, "ListCompanyMembers", err)
	if len(members) != 2 || members[0].AccountID != "u1" || members[1].AccountID != "u2" || members[1].Role != "admin" {
		t.Fatalf("ListCompanyMembers(acme) = %+v", members)
	}

	wantErr(t, "SetMembership(unknown account)",
		s.SetMembership(c, store.Membership{AccountID: "nope", CompanyID: "acme", Role: "viewer"}), store.ErrNotFound)
	wantErr(t, "SetMembership(unknown company)",
		s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "nope", Role: "viewer"}), store.ErrNotFound)

	noErr(t, "RemoveMembership", s.RemoveMembership(c, "u1", "acme"))
	wantErr(t, "RemoveMembership(again)", s.RemoveMembership(c, "u1", "acme"), store.ErrNotFound)
	ms, err = s.ListMemberships(c, "u1")
	noErr(t, "ListMemberships", err)
	if len(ms) != 1 || ms[0].CompanyID != "globex" {
		t.Fatalf("ListMemberships after removal = %+v", ms)
	}
	ms, err = s.ListMemberships(c, "nobody")
	noErr(t, "ListMemberships(unknown)", err)
	if len(ms) != 0 {
		t.Fatalf("ListMemberships(unknown) = %+v", ms)
	}
}

func testSiteAccess(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustSite(t, s, "tls", "acme")
	mustSite(t, s, "bdx", "acme")
	mustAccounts(t, s, "u1", "u2")

	noErr(t, "GrantSite", s.GrantSite(c, "u1", "tls"))
	noErr(t, "GrantSite(again)", s.GrantSite(c, "u1", "tls"))
	noErr(t, "GrantSite", s.GrantSite(c, "u1", "bdx"))
	noErr(t, "GrantSite", s.GrantSite(c, "u2", "tls"))
	wantErr(t, "GrantSite(unknown site)", s.GrantSite(c, "u1", "nope"), store.ErrNotFound)
	wantErr(t, "GrantSite(unknown account)", s.GrantSite(c, "nope", "tls"), store.ErrNotFound)

	sites, err := s.ListSiteAccess(c, "u1")
	noErr(t, "ListSiteAccess", err)
	if !slices.Equal(sites, []string{"bdx", "tls"}) {
		t.Fatalf("ListSiteAccess(u1) = %v", sites)
	}
	accounts, err := s.ListSiteMembers(c, "tls")
	noErr(t, "ListSiteMembers", err)
	if !slices.Equal(accounts, []string{"u1", "u2"}) {
		t.Fatalf("ListSiteMembers(tls) = %v", accounts)
	}
	noErr(t, "RevokeSite", s.RevokeSite(c, "u1", "tls"))
	wantErr(t, "RevokeSite(again)", s.RevokeSite(c, "u1", "tls"), store.ErrNotFound)
	sites, err = s.ListSiteAccess(c, "u1")
	noErr(t, "ListSiteAccess", err)
	if !slices.Equal(sites, []string{"bdx"}) {
		t.Fatalf("ListSiteAccess(u1) after revoke = %v", sites)
	}
	accounts, err = s.ListSiteMembers(c, "nope")
	noErr(t, "ListSiteMembers(unknown)", err)
	if len(accounts) != 0 {
		t.Fatalf("ListSiteMembers(unknown) = %v", accounts)
	}
}

// testCompanyLock: a transaction that locks a company makes another one
// locking it wait until it ends, and then see what it wrote; this is what
// keeps "every company keeps an active admin" true under concurrent
// changes.
func testCompanyLock(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	wantErr(t, "LockCompany(missing)", s.InTx(c, func(tx store.Store) error { return tx.LockCompany(c, "nope") }), store.ErrNotFound)
	seen := make(chan string, 1)
	err := s.InTx(c, func(tx store.Store) error {
		if err := tx.LockCompany(c, "acme"); err != nil {
			return err
		}
		go func() {
			var name string
			err := s.InTx(c, func(tx2 store.Store) error {
				if err := tx2.LockCompany(c, "acme"); err != nil {
					return err
				}
				co, err := tx2.GetCompany(c, "acme")
				name = co.Name
				return err
			})
			if err != nil {
				name = err.Error()
			}
			seen <- name
		}()
		if err := tx.RenameCompany(c, "acme", "Renamed under lock"); err != nil {
			return err
		}
		// Long enough for the other transaction to reach its lock.
		time.Sleep(50 * time.Millisecond)
		return nil
	})
	noErr(t, "InTx", err)
	if got := <-seen; got != "Renamed under lock" {
		t.Fatalf("the second transaction read %q: it did not wait for the first", got)
	}
}
