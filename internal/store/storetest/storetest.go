// Package storetest is the conformance suite every store backend must pass,
// plus helpers that give integration tests an isolated PostgreSQL schema.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Run runs the whole suite. newStore must return a fresh, empty, migrated
// store for each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AccountCRUD", testAccountCRUD},
		{"AccountEmailUnique", testAccountEmailUnique},
		{"AccountUpdateFnError", testAccountUpdateFnError},
		{"AccountFixedFields", testAccountFixedFields},
		{"AccountConcurrentUpdates", testAccountConcurrentUpdates},
		{"ListAccounts", testListAccounts},
		{"ListAccountsPaging", testListAccountsPaging},
		{"CompaniesAndSites", testCompaniesAndSites},
		{"Memberships", testMemberships},
		{"SiteAccess", testSiteAccess},
		{"Identities", testIdentities},
		{"Sessions", testSessions},
		{"TouchSessions", testTouchSessions},
		{"CredentialSessions", testCredentialSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"ProviderSessions", testProviderSessions},
		{"LogoutTokenSingleUse", testLogoutTokenSingleUse},
		{"LogoutTokenConcurrentUse", testLogoutTokenConcurrentUse},
		{"SigningKeys", testSigningKeys},
		{"TokenSingleUse", testTokenSingleUse},
		{"TokenExpiry", testTokenExpiry},
		{"TokenReplace", testTokenReplace},
		{"TokenConcurrentConsume", testTokenConcurrentConsume},
		{"Throttle", testThrottle},
		{"ThrottleConcurrent", testThrottleConcurrent},
		{"Audit", testAudit},
		{"AuditPaging", testAuditPaging},
		{"Secrets", testSecrets},
		{"InTxRollback", testInTxRollback},
		{"InTxCommit", testInTxCommit},
		{"CascadeOnAccountDelete", testCascade},
		{"TimestampsUTC", testTimestampsUTC},
		{"Ping", testPing},
		{"MailQueue", testMailQueue},
		{"MailConcurrentClaim", testMailConcurrentClaim},
		{"APITokens", testAPITokens},
		{"APITokensInTx", testAPITokensInTx},
		{"Credentials", testCredentials},
		{"PropertyDefs", testPropertyDefs},
		{"PropertyValues", testPropertyValues},
		{"AccessRules", testAccessRules},
		{"AllowedNetworks", testAllowedNetworks},
		{"Purge", testPurge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// t0 has nanoseconds and a non-UTC zone on purpose: the store must return
// it truncated to the microsecond and in UTC.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897123, time.FixedZone("CET", 3600))

// stored is what a time written to the store must come back as.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func ctx(t *testing.T) context.Context { return t.Context() }

func account(id, email string) store.Account {
	return store.Account{
		ID: id, Email: email, FirstName: "First " + id, LastName: "Last " + id,
		Language: "en", DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal, SignIn: "password",
		Status: store.StatusActive, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA",
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func mustCreateAccount(t *testing.T, s store.Store, a store.Account) {
	t.Helper()
	if err := s.CreateAccount(ctx(t), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.ID, err)
	}
}

// mustAccounts creates a plain account for each id, with the email id@x.test.
func mustAccounts(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		mustCreateAccount(t, s, account(id, id+"@x.test"))
	}
}

func mustCompany(t *testing.T, s store.Store, id string) {
	t.Helper()
	if err := s.CreateCompany(ctx(t), store.Company{ID: id, Name: "Company " + id, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateCompany(%s): %v", id, err)
	}
}

func mustSite(t *testing.T, s store.Store, id, company string) {
	t.Helper()
	if err := s.CreateSite(ctx(t), store.Site{ID: id, CompanyID: company, Name: "Site " + id, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateSite(%s): %v", id, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Fatalf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s is in %v, want UTC", what, got.Location())
	}
	if !got.Equal(stored(want)) || got.Nanosecond()%1000 != 0 {
		t.Fatalf("%s = %v, want %v", what, got, stored(want))
	}
}

func accountIDs(as []store.Account) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

func sameAccount(t *testing.T, got, want store.Account) {
	t.Helper()
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Fatalf("account:\n got %+v\nwant %+v", got, want)
	}
}

func testAccountCRUD(t *testing.T, s store.Store) {
	a := account("acc-1", "Jane.Doe@Example.com")
	a.TermsVersion = "2024-01"
	mustCreateAccount(t, s, a)

	got, err := s.GetAccount(ctx(t), "acc-1")
	noErr(t, "GetAccount", err)
	sameAccount(t, got, a)

	for _, email := range []string{"Jane.Doe@Example.com", "jane.doe@example.com", "  JANE.DOE@EXAMPLE.COM "} {
		got, err = s.GetAccountByEmail(ctx(t), email)
		noErr(t, "GetAccountByEmail "+email, err)
		if got.ID != a.ID || got.Email != a.Email {
			t.Fatalf("GetAccountByEmail(%q) = %s %q, want %s with the email as entered", email, got.ID, got.Email, a.ID)
		}
	}
	n, err := s.CountAccounts(ctx(t))
	noErr(t, "CountAccounts", err)
	if n != 1 {
		t.Fatalf("CountAccounts = %d, want 1", n)
	}

	later := t0.Add(time.Hour)
	updated, err := s.UpdateAccount(ctx(t), "acc-1", func(a *store.Account) error {
		a.FirstName, a.LastName, a.Email = "Janet", "Roe", "janet.roe@example.com"
		a.Language, a.DateFormat, a.Status = "fr", "MM/DD/YYYY", store.StatusBlocked
		a.UpdatedAt = later
		return nil
	})
	noErr(t, "UpdateAccount", err)
	want := a
	want.FirstName, want.LastName, want.Email = "Janet", "Roe", "janet.roe@example.com"
	want.Language, want.DateFormat, want.Status, want.UpdatedAt = "fr", "MM/DD/YYYY", store.StatusBlocked, later
	sameAccount(t, updated, want)
	got, err = s.GetAccount(ctx(t), "acc-1")
	noErr(t, "GetAccount after update", err)
	sameAccount(t, got, want)
	_, err = s.GetAccountByEmail(ctx(t), "jane.doe@example.com")
	wantErr(t, "GetAccountByEmail(old email)", err, store.ErrNotFound)
	_, err = s.GetAccountByEmail(ctx(t), "JANET.ROE@example.com")
	noErr(t, "GetAccountByEmail(new email)", err)

	// An update that does not set UpdatedAt still moves it.
	updated, err = s.UpdateAccount(ctx(t), "acc-1", func(a *store.Account) error { a.TermsVersion = "2025-01"; return nil })
	noErr(t, "UpdateAccount without UpdatedAt", err)
	if updated.UpdatedAt.Equal(stored(later)) {
		t.Fatalf("UpdatedAt stayed %v after an update that did not set it", updated.UpdatedAt)
	}

	_, err = s.GetAccount(ctx(t), "nope")
	wantErr(t, "GetAccount(missing)", err, store.ErrNotFound)
	_, err = s.GetAccountByEmail(ctx(t), "nobody@example.com")
	wantErr(t, "GetAccountByEmail(missing)", err, store.ErrNotFound)
	called := false
	_, err = s.UpdateAccount(ctx(t), "nope", func(*store.Account) error { called = true; return nil })
	wantErr(t, "UpdateAccount(missing)", err, store.ErrNotFound)
	if called {
		t.Fatal("UpdateAccount called fn for a missing account")
	}
	wantErr(t, "DeleteAccount(missing)", s.DeleteAccount(ctx(t), "nope"), store.ErrNotFound)

	noErr(t, "DeleteAccount", s.DeleteAccount(ctx(t), "acc-1"))
	_, err = s.GetAccount(ctx(t), "acc-1")
	wantErr(t, "GetAccount(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteAccount(twice)", s.DeleteAccount(ctx(t), "acc-1"), store.ErrNotFound)
	n, err = s.CountAccounts(ctx(t))
	noErr(t, "CountAccounts", err)
	if n != 0 {
		t.Fatalf("CountAccounts after delete = %d, want 0", n)
	}
}

func testAccountEmailUnique(t *testing.T, s store.Store) {
	mustCreateAccount(t, s, account("a1", "A@x.com"))
	err := s.CreateAccount(ctx(t), account("a2", "a@X.COM"))
	wantErr(t, "CreateAccount(same email, other case)", err, store.ErrConflict)
	err = s.CreateAccount(ctx(t), account("a3", " a@x.com "))
	wantErr(t, "CreateAccount(same email with spaces)", err, store.ErrConflict)
	err = s.CreateAccount(ctx(t), account("a1", "other@x.com"))
	wantErr(t, "CreateAccount(same id)", err, store.ErrConflict)
	for _, id := range []string{"a2", "a3"} {
		_, err = s.GetAccount(ctx(t), id)
		wantErr(t, "GetAccount(refused "+id+")", err, store.ErrNotFound)
	}
	_, err = s.GetAccountByEmail(ctx(t), "other@x.com")
	wantErr(t, "GetAccountByEmail(refused)", err, store.ErrNotFound)
	n, err := s.CountAccounts(ctx(t))
	noErr(t, "CountAccounts", err)
	if n != 1 {
		t.Fatalf("CountAccounts = %d, want 1: a refused create wrote something", n)
	}

	// Taking another account's email through an update is refused too.
	mustCreateAccount(t, s, account("b1", "b@x.com"))
	_, err = s.UpdateAccount(ctx(t), "b1", func(a *store.Account) error { a.Email = "A@X.com"; return nil })
	wantErr(t, "UpdateAccount(taken email)", err, store.ErrConflict)
	got, err := s.GetAccount(ctx(t), "b1")
	noErr(t, "GetAccount", err)
	if got.Email != "b@x.com" {
		t.Fatalf("email after refused update = %q, want b@x.com", got.Email)
	}
	// Changing only the case of one's own email is fine.
	_, err = s.UpdateAccount(ctx(t), "b1", func(a *store.Account) error { a.Email = "B@X.com"; return nil })
	noErr(t, "UpdateAccount(own email, other case)", err)
}

func testAccountUpdateFnError(t *testing.T, s store.Store) {
	a := account("acc", "u@example.com")
	mustCreateAccount(t, s, a)
	boom := errors.New("boom")
	_, err := s.UpdateAccount(ctx(t), "acc", func(a *store.Account) error {
		a.FirstName = "Changed"
		a.Email = "changed@example.com"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateAccount returned %v, want fn's error", err)
	}
	got, err := s.GetAccount(ctx(t), "acc")
	noErr(t, "GetAccount", err)
	sameAccount(t, got, a)
}

func testAccountFixedFields(t *testing.T, s store.Store) {
	a := account("ws", "ws@example.com")
	a.Kind = store.KindSharedComputer
	mustCreateAccount(t, s, a)
	_, err := s.UpdateAccount(ctx(t), "ws", func(a *store.Account) error { a.Kind = store.KindPersonal; return nil })
	if err == nil {
		t.Fatal("UpdateAccount changed a shared-computer account into a personal one")
	}
	_, err = s.UpdateAccount(ctx(t), "ws", func(a *store.Account) error { a.ID = "other"; return nil })
	if err == nil {
		t.Fatal("UpdateAccount changed an account's id")
	}
	got, err := s.GetAccount(ctx(t), "ws")
	noErr(t, "GetAccount", err)
	sameAccount(t, got, a)
}

func testAccountConcurrentUpdates(t *testing.T, s store.Store) {
	mustCreateAccount(t, s, account("acc", "c@example.com"))
	const workers, each = 2, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := s.UpdateAccount(ctx(t), "acc", func(a *store.Account) error {
					var n int
					if a.TermsVersion != "" {
						if _, err := fmt.Sscan(a.TermsVersion, &n); err != nil {
							return err
						}
					}
					a.TermsVersion = fmt.Sprint(n + 1)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent UpdateAccount: %v", err)
	}
	got, err := s.GetAccount(ctx(t), "acc")
	noErr(t, "GetAccount", err)
	if got.TermsVersion != fmt.Sprint(workers*each) {
		t.Fatalf("counter = %s after %d increments: updates were lost", got.TermsVersion, workers*each)
	}
}

func testListAccounts(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustCompany(t, s, "globex")
	mustSite(t, s, "tls", "acme")
	mustSite(t, s, "lyon", "acme")

	mk := func(id, email, first, last, status string) {
		a := account(id, email)
		a.FirstName, a.LastName, a.Status = first, last, status
		mustCreateAccount(t, s, a)
	}
	mk("u1", "alice@acme.test", "Alice", "Martin", store.StatusActive)
	mk("u2", "bob@acme.test", "Bob", "Dupont", store.StatusBlocked)
	mk("u3", "carol@globex.test", "Carol", "Émile", store.StatusActive)
	mk("u4", "dan_100%@acme.test", "Dan", "Martinez", store.StatusInvited)
	mk("u5", "eve@else.test", "Eve", "Zed", store.StatusActive)

	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "acme", Role: "admin"}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u2", CompanyID: "acme", Role: "viewer"}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u3", CompanyID: "globex", Role: "admin"}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u4", CompanyID: "acme", Role: "viewer"}))
	noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: "u4", CompanyID: "globex", Role: "manager"}))
	noErr(t, "GrantSite", s.GrantSite(c, "u2", "tls"))
	noErr(t, "GrantSite", s.GrantSite(c, "u4", "tls"))
	noErr(t, "GrantSite", s.GrantSite(c, "u4", "lyon"))

	cases := []struct {
		name string
		q    store.AccountQuery
		want []string
	}{
		{"all", store.AccountQuery{}, []string{"u1", "u2", "u3", "u4", "u5"}},
		{"search email", store.AccountQuery{Search: "ACME.test"}, []string{"u1", "u2", "u4"}},
		{"search first name", store.AccountQuery{Search: "caROL"}, []string{"u3"}},
		{"search last name", store.AccountQuery{Search: "martin"}, []string{"u1", "u4"}},
		{"search non-ASCII case", store.AccountQuery{Search: "émile"}, []string{"u3"}},
		{"search non-ASCII upper", store.AccountQuery{Search: "ÉMILE"}, []string{"u3"}},
		{"search percent is literal", store.AccountQuery{Search: "100%"}, []string{"u4"}},
		{"search underscore is literal", store.AccountQuery{Search: "n_1"}, []string{"u4"}},
		{"search wildcard only", store.AccountQuery{Search: "%"}, []string{"u4"}},
		{"search nothing", store.AccountQuery{Search: "zzz"}, nil},
		{"status", store.AccountQuery{Status: store.StatusActive}, []string{"u1", "u3", "u5"}},
		{"company", store.AccountQuery{CompanyID: "acme"}, []string{"u1", "u2", "u4"}},
		{"role", store.AccountQuery{Role: "admin"}, []string{"u1", "u3"}},
		{"company and role in one membership", store.AccountQuery{CompanyID: "acme", Role: "manager"}, nil},
		{"company and role", store.AccountQuery{CompanyID: "globex", Role: "manager"}, []string{"u4"}},
		{"site", store.AccountQuery{SiteID: "tls"}, []string{"u2", "u4"}},
		{"site and status", store.AccountQuery{SiteID: "tls", Status: store.StatusBlocked}, []string{"u2"}},
		{"after", store.AccountQuery{After: "u2"}, []string{"u3", "u4", "u5"}},
		{"after and company", store.AccountQuery{After: "u1", CompanyID: "acme"}, []string{"u2", "u4"}},
		{"limit", store.AccountQuery{Limit: 2}, []string{"u1", "u2"}},
		{"everything", store.AccountQuery{Search: "acme", Status: store.StatusInvited, CompanyID: "acme",
			Role: "viewer", SiteID: "lyon", After: "u1", Limit: 10}, []string{"u4"}},
	}
	for _, tc := range cases {
		got, err := s.ListAccounts(c, tc.q)
		noErr(t, "ListAccounts "+tc.name, err)
		if ids := accountIDs(got); !slices.Equal(ids, tc.want) {
			t.Errorf("ListAccounts %s (%+v) = %v, want %v", tc.name, tc.q, ids, tc.want)
		}
	}
	got, err := s.ListAccounts(c, store.AccountQuery{Search: "alice"})
	noErr(t, "ListAccounts", err)
	if len(got) != 1 {
		t.Fatalf("ListAccounts(alice) = %v", accountIDs(got))
	}
	want := account("u1", "alice@acme.test")
	want.FirstName, want.LastName = "Alice", "Martin"
	sameAccount(t, got[0], want)
}

func testListAccountsPaging(t *testing.T, s store.Store) {
	const total = 120
	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Store) error {
		for i := 0; i < total; i++ {
			if err := tx.CreateAccount(ctx(t), account(fmt.Sprintf("p%03d", i), fmt.Sprintf("p%03d@example.com", i))); err != nil {
				return err
			}
		}
		return nil
	}))
	got, err := s.ListAccounts(ctx(t), store.AccountQuery{})
	noErr(t, "ListAccounts", err)
	if len(got) != 50 {
		t.Fatalf("default page has %d accounts, want 50", len(got))
	}
	got, err = s.ListAccounts(ctx(t), store.AccountQuery{Limit: 5000})
	noErr(t, "ListAccounts(Limit 5000)", err)
	if len(got) != total {
		t.Fatalf("Limit 5000 gave %d accounts, want all %d", len(got), total)
	}
	// Walk every page with the cursor: each account once, in order.
	var seen []string
	after := ""
	for page := 0; page < 100; page++ {
		got, err := s.ListAccounts(ctx(t), store.AccountQuery{After: after, Limit: 7})
		noErr(t, "ListAccounts page", err)
		if len(got) == 0 {
			break
		}
		seen = append(seen, accountIDs(got)...)
		after = got[len(got)-1].ID
	}
	if len(seen) != total {
		t.Fatalf("paging saw %d accounts, want %d", len(seen), total)
	}
	for i, id := range seen {
		if id != fmt.Sprintf("p%03d", i) {
			t.Fatalf("page walk position %d = %s", i, id)
		}
	}
}

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

func testIdentities(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	l := store.IdentityLink{ProviderID: "microsoft", Subject: "tid:oid", AccountID: "u1", CreatedAt: t0}
	noErr(t, "LinkIdentity", s.LinkIdentity(c, l))
	noErr(t, "LinkIdentity(other provider)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "google", Subject: "tid:oid", AccountID: "u1", CreatedAt: t0}))
	wantErr(t, "LinkIdentity(taken)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "microsoft", Subject: "tid:oid", AccountID: "u2"}), store.ErrConflict)
	wantErr(t, "LinkIdentity(unknown account)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "google", Subject: "s2", AccountID: "nope"}), store.ErrNotFound)

	got, err := s.GetIdentity(c, "microsoft", "tid:oid")
	noErr(t, "GetIdentity", err)
	if got.AccountID != "u1" || got.ProviderID != "microsoft" || got.Subject != "tid:oid" {
		t.Fatalf("GetIdentity = %+v", got)
	}
	sameTime(t, "IdentityLink.CreatedAt", got.CreatedAt, t0)
	_, err = s.GetIdentity(c, "microsoft", "TID:OID")
	wantErr(t, "GetIdentity(subject is case-sensitive)", err, store.ErrNotFound)
	_, err = s.GetIdentity(c, "auth0", "tid:oid")
	wantErr(t, "GetIdentity(other provider)", err, store.ErrNotFound)

	list, err := s.ListIdentities(c, "u1")
	noErr(t, "ListIdentities", err)
	if len(list) != 2 || list[0].ProviderID != "google" || list[1].ProviderID != "microsoft" {
		t.Fatalf("ListIdentities(u1) = %+v", list)
	}
	list, err = s.ListIdentities(c, "u2")
	noErr(t, "ListIdentities(u2)", err)
	if len(list) != 0 {
		t.Fatalf("ListIdentities(u2) = %+v", list)
	}
}

func session(id, account string) store.Session {
	return store.Session{
		ID: id, TokenHash: []byte("hash-" + id), AccountID: account, AMR: []string{"pwd", "hwk"},
		IDP: "local", IDTokenHint: "eyJ.hint." + id, UserAgent: "Mozilla/5.0", IP: "192.0.2.1",
		CreatedAt: t0, LastSeenAt: t0.Add(time.Minute), ExpiresAt: t0.Add(12 * time.Hour),
	}
}

func sameSession(t *testing.T, got, want store.Session) {
	t.Helper()
	sameTime(t, "Session.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "Session.LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, "Session.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	if got.ID != want.ID || !bytes.Equal(got.TokenHash, want.TokenHash) || got.AccountID != want.AccountID ||
		!slices.Equal(got.AMR, want.AMR) || got.IDP != want.IDP || got.IDTokenHint != want.IDTokenHint ||
		got.UserAgent != want.UserAgent || got.IP != want.IP || !bytes.Equal(got.CredentialID, want.CredentialID) ||
		got.IdleTimeout != want.IdleTimeout || got.ProviderSID != want.ProviderSID || got.ProviderSubject != want.ProviderSubject {
		t.Fatalf("session:\n got %+v\nwant %+v", got, want)
	}
}

func testSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	s1 := session("s1", "u1")
	s2 := session("s2", "u1")
	s2.CreatedAt = t0.Add(time.Second)
	s2.AMR, s2.IDP = []string{"fed"}, "google"
	s2.ProviderSID, s2.ProviderSubject = "google-sid-1", "google-sub-1"
	s2.CredentialID, s2.IdleTimeout = []byte{0x00, 0xff, 'k'}, 10*time.Minute+time.Microsecond
	s3 := session("s3", "u2")
	s3.AMR = nil
	for _, ss := range []store.Session{s1, s2, s3} {
		noErr(t, "CreateSession "+ss.ID, s.CreateSession(c, ss))
	}
	dup := session("s4", "u1")
	dup.TokenHash = s1.TokenHash
	wantErr(t, "CreateSession(same token)", s.CreateSession(c, dup), store.ErrConflict)
	wantErr(t, "CreateSession(same id)", s.CreateSession(c, session("s1", "u2")), store.ErrConflict)
	wantErr(t, "CreateSession(unknown account)", s.CreateSession(c, session("s5", "nope")), store.ErrNotFound)

	got, err := s.GetSessionByToken(c, []byte("hash-s1"))
	noErr(t, "GetSessionByToken", err)
	sameSession(t, got, s1)
	got, err = s.GetSession(c, "s2")
	noErr(t, "GetSession", err)
	sameSession(t, got, s2)
	got, err = s.GetSession(c, "s3")
	noErr(t, "GetSession", err)
	if len(got.AMR) != 0 {
		t.Fatalf("AMR of a session created without = %v", got.AMR)
	}
	_, err = s.GetSessionByToken(c, []byte("nope"))
	wantErr(t, "GetSessionByToken(missing)", err, store.ErrNotFound)
	_, err = s.GetSession(c, "nope")
	wantErr(t, "GetSession(missing)", err, store.ErrNotFound)

	list, err := s.ListAccountSessions(c, "u1")
	noErr(t, "ListAccountSessions", err)
	if len(list) != 2 {
		t.Fatalf("ListAccountSessions(u1) has %d sessions", len(list))
	}
	sameSession(t, list[0], s1)
	sameSession(t, list[1], s2)

	n, err := s.CountSessions(c)
	noErr(t, "CountSessions", err)
	if n != 3 {
		t.Fatalf("CountSessions = %d, want 3", n)
	}
	noErr(t, "DeleteSession", s.DeleteSession(c, "s3"))
	wantErr(t, "DeleteSession(again)", s.DeleteSession(c, "s3"), store.ErrNotFound)

	ids, err := s.DeleteAccountSessions(c, "u1")
	noErr(t, "DeleteAccountSessions", err)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"s1", "s2"}) {
		t.Fatalf("DeleteAccountSessions = %v, want s1 s2", ids)
	}
	ids, err = s.DeleteAccountSessions(c, "u1")
	noErr(t, "DeleteAccountSessions(again)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteAccountSessions(again) = %v", ids)
	}
	n, err = s.CountSessions(c)
	noErr(t, "CountSessions", err)
	if n != 0 {
		t.Fatalf("CountSessions after deletes = %d", n)
	}
}

func testTouchSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	for _, id := range []string{"a", "b", "c"} {
		noErr(t, "CreateSession", s.CreateSession(c, session(id, "u1")))
	}
	base := t0.Add(time.Minute) // LastSeenAt of every session
	noErr(t, "TouchSessions(empty)", s.TouchSessions(c, nil))
	noErr(t, "TouchSessions", s.TouchSessions(c, map[string]time.Time{
		"a":       base.Add(5 * time.Minute),
		"b":       base.Add(-5 * time.Minute), // older than stored: ignored
		"gone":    base.Add(time.Hour),        // ended meanwhile: ignored
		"c":       base.Add(7 * time.Minute),
		"also-no": base,
	}))
	want := map[string]time.Time{"a": base.Add(5 * time.Minute), "b": base, "c": base.Add(7 * time.Minute)}
	for id, w := range want {
		got, err := s.GetSession(c, id)
		noErr(t, "GetSession", err)
		sameTime(t, "LastSeenAt of "+id, got.LastSeenAt, w)
	}
	_, err := s.GetSession(c, "gone")
	wantErr(t, "GetSession(touched but never created)", err, store.ErrNotFound)

	// Many sessions in one batch.
	seen := map[string]time.Time{}
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("bulk-%03d", i)
		noErr(t, "CreateSession", s.CreateSession(c, session(id, "u1")))
		seen[id] = base.Add(time.Duration(i) * time.Second)
	}
	noErr(t, "TouchSessions(bulk)", s.TouchSessions(c, seen))
	got, err := s.GetSession(c, "bulk-199")
	noErr(t, "GetSession", err)
	sameTime(t, "LastSeenAt of bulk-199", got.LastSeenAt, seen["bulk-199"])
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	now := t0.Add(24 * time.Hour)
	mkIdle := func(id string, lastSeen, expires time.Time, idle time.Duration) {
		ss := session(id, "u1")
		ss.LastSeenAt, ss.ExpiresAt, ss.IdleTimeout = lastSeen, expires, idle
		noErr(t, "CreateSession "+id, s.CreateSession(c, ss))
	}
	mk := func(id string, lastSeen, expires time.Time) { mkIdle(id, lastSeen, expires, 0) }
	mk("fresh", now.Add(-time.Minute), now.Add(time.Hour))
	mk("expired", now.Add(-time.Minute), now.Add(-time.Second))
	mk("expires-now", now.Add(-time.Minute), now)
	mk("idle", now.Add(-31*time.Minute), now.Add(time.Hour))
	mk("idle-edge", now.Add(-30*time.Minute), now.Add(time.Hour))
	// A session with its own idle timeout is judged by it, not idleBefore.
	mkIdle("own-idle", now.Add(-11*time.Minute), now.Add(time.Hour), 10*time.Minute)
	mkIdle("own-idle-edge", now.Add(-10*time.Minute), now.Add(time.Hour), 10*time.Minute)
	mkIdle("own-long", now.Add(-31*time.Minute), now.Add(time.Hour), 2*time.Hour)
	mkIdle("own-expired", now.Add(-time.Minute), now, 2*time.Hour)
	n, err := s.DeleteExpiredSessions(c, now, now.Add(-30*time.Minute))
	noErr(t, "DeleteExpiredSessions", err)
	if n != 5 {
		t.Fatalf("DeleteExpiredSessions removed %d sessions, want 5", n)
	}
	list, err := s.ListAccountSessions(c, "u1")
	noErr(t, "ListAccountSessions", err)
	var ids []string
	for _, ss := range list {
		ids = append(ids, ss.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"fresh", "idle-edge", "own-idle-edge", "own-long"}) {
		t.Fatalf("sessions left = %v, want fresh, idle-edge, own-idle-edge, own-long", ids)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	c := ctx(t)
	mk := func(id string, created time.Time) store.SigningKey {
		k := store.SigningKey{ID: id, Algorithm: "ES256", PrivateKey: []byte("pkcs8-" + id), CreatedAt: created, SignFrom: created.Add(time.Minute)}
		noErr(t, "CreateSigningKey "+id, s.CreateSigningKey(c, k))
		return k
	}
	k1 := mk("k1", t0)
	k2 := mk("k2", t0.Add(time.Hour))
	k3 := mk("k3", t0.Add(2*time.Hour))
	wantErr(t, "CreateSigningKey(duplicate)", s.CreateSigningKey(c, k1), store.ErrConflict)

	keys, err := s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	if len(keys) != 3 {
		t.Fatalf("ListSigningKeys has %d keys", len(keys))
	}
	for i, want := range []store.SigningKey{k1, k2, k3} {
		got := keys[i]
		if got.ID != want.ID || got.Algorithm != "ES256" || !bytes.Equal(got.PrivateKey, want.PrivateKey) {
			t.Fatalf("key %d = %+v, want %+v", i, got, want)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
		sameTime(t, "SignFrom", got.SignFrom, want.SignFrom)
		sameTime(t, "RetireAt", got.RetireAt, time.Time{})
	}

	// k3 takes over: k1 and k2 retire at r1.
	r1 := t0.Add(3 * time.Hour)
	noErr(t, "RetireSigningKeys", s.RetireSigningKeys(c, "k3", r1))
	// A later rotation keeps the first retirement time of k1 and k2.
	k4 := mk("k4", t0.Add(4*time.Hour))
	r2 := t0.Add(5 * time.Hour)
	noErr(t, "RetireSigningKeys", s.RetireSigningKeys(c, "k4", r2))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	retire := map[string]time.Time{}
	for _, k := range keys {
		retire[k.ID] = k.RetireAt
	}
	sameTime(t, "k1.RetireAt", retire["k1"], r1)
	sameTime(t, "k2.RetireAt", retire["k2"], r1)
	sameTime(t, "k3.RetireAt", retire["k3"], r2)
	sameTime(t, "k4.RetireAt", retire[k4.ID], time.Time{})

	// Keys retired before the cut go; later and unretired keys stay.
	noErr(t, "DeleteSigningKeysRetiredBefore", s.DeleteSigningKeysRetiredBefore(c, r1.Add(time.Microsecond)))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, []string{"k3", "k4"}) {
		t.Fatalf("keys after delete = %v, want k3 k4", ids)
	}
	noErr(t, "DeleteSigningKeysRetiredBefore(r2)", s.DeleteSigningKeysRetiredBefore(c, r2))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	if len(keys) != 2 {
		t.Fatalf("a key retired exactly at the cut was deleted: %d keys left", len(keys))
	}
}

func token(hash, kind, account string) store.Token {
	return store.Token{Hash: []byte(hash), Kind: kind, AccountID: account, Data: []byte(`{"rd":"/x"}`),
		CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
}

func testTokenSingleUse(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	tok := token("h1", store.TokenPasswordReset, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, tok, false))
	wantErr(t, "CreateToken(same hash)", s.CreateToken(c, tok, false), store.ErrConflict)

	now := t0.Add(time.Minute)
	peek, err := s.PeekToken(c, store.TokenPasswordReset, []byte("h1"), now)
	noErr(t, "PeekToken", err)
	if peek.AccountID != "u1" || peek.Kind != store.TokenPasswordReset || !bytes.Equal(peek.Data, tok.Data) || !peek.UsedAt.IsZero() {
		t.Fatalf("PeekToken = %+v", peek)
	}
	sameTime(t, "Token.CreatedAt", peek.CreatedAt, t0)
	sameTime(t, "Token.ExpiresAt", peek.ExpiresAt, tok.ExpiresAt)
	_, err = s.PeekToken(c, store.TokenInvitation, []byte("h1"), now)
	wantErr(t, "PeekToken(other kind)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), now)
	wantErr(t, "ConsumeToken(other kind)", err, store.ErrNotFound)

	got, err := s.ConsumeToken(c, store.TokenPasswordReset, []byte("h1"), now)
	noErr(t, "ConsumeToken", err)
	if got.AccountID != "u1" || !bytes.Equal(got.Hash, []byte("h1")) || !bytes.Equal(got.Data, tok.Data) {
		t.Fatalf("ConsumeToken = %+v", got)
	}
	sameTime(t, "Token.UsedAt", got.UsedAt, now)
	_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte("h1"), now)
	wantErr(t, "ConsumeToken(twice)", err, store.ErrNotFound)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("h1"), now)
	wantErr(t, "PeekToken(used)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte("unknown"), now)
	wantErr(t, "ConsumeToken(unknown)", err, store.ErrNotFound)

	// A token with no account (an SSO flow) and no payload.
	state := store.Token{Hash: []byte("state"), Kind: store.TokenSSOState, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	noErr(t, "CreateToken(no account)", s.CreateToken(c, state, true))
	got, err = s.ConsumeToken(c, store.TokenSSOState, []byte("state"), now)
	noErr(t, "ConsumeToken(no account)", err)
	if got.AccountID != "" || len(got.Data) != 0 {
		t.Fatalf("ConsumeToken(no account) = %+v", got)
	}
	wantErr(t, "CreateToken(unknown account)", s.CreateToken(c, token("h9", store.TokenInvitation, "nope"), false), store.ErrNotFound)
}

func testTokenExpiry(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	tok := token("h1", store.TokenInvitation, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, tok, false))
	_, err := s.PeekToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt.Add(-time.Microsecond))
	noErr(t, "PeekToken(just before expiry)", err)
	_, err = s.PeekToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt)
	wantErr(t, "PeekToken(at expiry)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt)
	wantErr(t, "ConsumeToken(at expiry)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), tok.ExpiresAt.Add(time.Hour))
	wantErr(t, "ConsumeToken(after expiry)", err, store.ErrNotFound)
	// A refused late attempt did not use it up.
	_, err = s.ConsumeToken(c, store.TokenInvitation, []byte("h1"), t0.Add(time.Minute))
	noErr(t, "ConsumeToken(in time)", err)
}

func testTokenReplace(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	now := t0.Add(time.Minute)
	noErr(t, "CreateToken", s.CreateToken(c, token("used", store.TokenPasswordReset, "u1"), false))
	_, err := s.ConsumeToken(c, store.TokenPasswordReset, []byte("used"), now)
	noErr(t, "ConsumeToken", err)
	noErr(t, "CreateToken", s.CreateToken(c, token("old", store.TokenPasswordReset, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("keep", store.TokenPasswordReset, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("invite", store.TokenInvitation, "u1"), false))
	noErr(t, "CreateToken", s.CreateToken(c, token("other", store.TokenPasswordReset, "u2"), false))
	noErr(t, "CreateToken", s.CreateToken(c, store.Token{Hash: []byte("sso"), Kind: store.TokenSSOState, ExpiresAt: now.Add(time.Hour)}, false))

	// Without replace both unused tokens live.
	for _, h := range []string{"old", "keep"} {
		_, err := s.PeekToken(c, store.TokenPasswordReset, []byte(h), now)
		noErr(t, "PeekToken "+h, err)
	}
	noErr(t, "CreateToken(replace)", s.CreateToken(c, token("new", store.TokenPasswordReset, "u1"), true))
	for _, h := range []string{"old", "keep"} {
		_, err := s.PeekToken(c, store.TokenPasswordReset, []byte(h), now)
		wantErr(t, "PeekToken(replaced "+h+")", err, store.ErrNotFound)
		_, err = s.ConsumeToken(c, store.TokenPasswordReset, []byte(h), now)
		wantErr(t, "ConsumeToken(replaced "+h+")", err, store.ErrNotFound)
	}
	for _, tc := range []struct{ kind, hash string }{
		{store.TokenPasswordReset, "new"}, {store.TokenInvitation, "invite"},
		{store.TokenPasswordReset, "other"}, {store.TokenSSOState, "sso"},
	} {
		_, err := s.PeekToken(c, tc.kind, []byte(tc.hash), now)
		noErr(t, "PeekToken(survivor "+tc.hash+")", err)
	}
	// A replace with no account touches nobody's tokens.
	noErr(t, "CreateToken(replace, no account)", s.CreateToken(c, store.Token{Hash: []byte("sso2"), Kind: store.TokenSSOState, ExpiresAt: now.Add(time.Hour)}, true))
	_, err = s.PeekToken(c, store.TokenSSOState, []byte("sso"), now)
	noErr(t, "PeekToken(sso after accountless replace)", err)

	// A failed insert leaves the older token in place.
	wantErr(t, "CreateToken(replace, duplicate hash)", s.CreateToken(c, token("other", store.TokenPasswordReset, "u1"), true), store.ErrConflict)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("new"), now)
	noErr(t, "PeekToken(new after failed replace)", err)
}

func testTokenConcurrentConsume(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	noErr(t, "CreateToken", s.CreateToken(c, token("h", store.TokenEnrolment, "u1"), false))
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeToken(c, store.TokenEnrolment, []byte("h"), t0.Add(time.Minute))
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("ConsumeToken: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent consumers succeeded, want exactly 1", ok)
	}
}

func testThrottle(t *testing.T, s store.Store) {
	c := ctx(t)
	window := time.Minute
	count, reset, err := s.Count(c, "ip:1", t0)
	noErr(t, "Count(never hit)", err)
	if count != 0 || !reset.IsZero() {
		t.Fatalf("Count(never hit) = %d, %v", count, reset)
	}
	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i-1) * 10 * time.Second)
		count, reset, err := s.Hit(c, "ip:1", window, now)
		noErr(t, "Hit", err)
		if count != i {
			t.Fatalf("hit %d counted %d", i, count)
		}
		// The window is fixed from the first hit.
		sameTime(t, "resetAt", reset, t0.Add(window))
	}
	count, reset, err = s.Count(c, "ip:1", t0.Add(30*time.Second))
	noErr(t, "Count", err)
	if count != 3 {
		t.Fatalf("Count = %d, want 3", count)
	}
	sameTime(t, "Count resetAt", reset, t0.Add(window))
	// Other keys are independent.
	count, _, err = s.Hit(c, "ip:2", window, t0.Add(30*time.Second))
	noErr(t, "Hit(other key)", err)
	if count != 1 {
		t.Fatalf("other key counted %d", count)
	}
	// At the end of the window it is over.
	count, _, err = s.Count(c, "ip:1", t0.Add(window))
	noErr(t, "Count(window over)", err)
	if count != 0 {
		t.Fatalf("Count after the window = %d, want 0", count)
	}
	later := t0.Add(window + 5*time.Second)
	count, reset, err = s.Hit(c, "ip:1", window, later)
	noErr(t, "Hit(new window)", err)
	if count != 1 {
		t.Fatalf("first hit of a new window counted %d", count)
	}
	sameTime(t, "new window resetAt", reset, later.Add(window))

	noErr(t, "ResetCounter", s.ResetCounter(c, "ip:1"))
	noErr(t, "ResetCounter(unknown)", s.ResetCounter(c, "nope"))
	count, _, err = s.Count(c, "ip:1", later)
	noErr(t, "Count(after reset)", err)
	if count != 0 {
		t.Fatalf("Count after reset = %d", count)
	}
	count, _, err = s.Hit(c, "ip:1", window, later)
	noErr(t, "Hit(after reset)", err)
	if count != 1 {
		t.Fatalf("first hit after reset counted %d", count)
	}
	count, _, err = s.Count(c, "ip:2", t0.Add(31*time.Second))
	noErr(t, "Count(ip:2)", err)
	if count != 1 {
		t.Fatalf("ResetCounter(ip:1) touched ip:2: count %d", count)
	}
	if _, _, err := s.Hit(c, "ip:3", 0, t0); err == nil {
		t.Fatal("Hit with a zero window succeeded")
	}
}

func testThrottleConcurrent(t *testing.T, s store.Store) {
	c := ctx(t)
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count, _, err := s.Hit(c, "login:u1", time.Hour, t0)
			if err != nil {
				errs <- err
				return
			}
			counts <- count
		}()
	}
	wg.Wait()
	close(counts)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Hit: %v", err)
	}
	var got []int
	for v := range counts {
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("concurrent hits counted %v, want 1..%d each once", got, n)
		}
	}
}

func audit(at time.Time, actor, action, target, category string) store.AuditEvent {
	return store.AuditEvent{Time: at, Actor: actor, Action: action, Target: target, IP: "198.51.100.7",
		Outcome: "ok", Category: category}
}

func auditActions(es []store.AuditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

func testAudit(t *testing.T, s store.Store) {
	c := ctx(t)
	first := audit(t0, "admin1", "account.block", "u1", "admin")
	first.Details = map[string]any{"reason": "left", "count": 2.0, "list": []any{"a"}}
	events := []store.AuditEvent{
		first,
		audit(t0.Add(1*time.Minute), "u1", "login.success", "u1", "auth"),
		audit(t0.Add(2*time.Minute), "u2", "login.failure", "u2", "auth"),
		audit(t0.Add(3*time.Minute), "system", "logins.purge", "", "auth"),
		audit(t0.Add(4*time.Minute), "admin1", "account.unblock", "u1", "admin"),
		audit(t0.Add(5*time.Minute), "cli", "LOGIN.success", "u3", "auth"),
		audit(t0.Add(6*time.Minute), "cli", "login%x", "u3", "integration"),
	}
	for _, e := range events {
		noErr(t, "AppendAudit", s.AppendAudit(c, e))
	}
	all, err := s.ListAudit(c, store.AuditQuery{})
	noErr(t, "ListAudit", err)
	if len(all) != len(events) {
		t.Fatalf("ListAudit has %d events, want %d", len(all), len(events))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("ListAudit not newest first: ids %d then %d", all[i-1].ID, all[i].ID)
		}
	}
	oldest := all[len(all)-1]
	if oldest.ID <= 0 || oldest.Actor != "admin1" || oldest.Action != "account.block" || oldest.Target != "u1" ||
		oldest.IP != "198.51.100.7" || oldest.Outcome != "ok" || oldest.Category != "admin" {
		t.Fatalf("oldest event = %+v", oldest)
	}
	sameTime(t, "AuditEvent.Time", oldest.Time, t0)
	if fmt.Sprint(oldest.Details) != fmt.Sprint(first.Details) {
		t.Fatalf("Details = %v, want %v", oldest.Details, first.Details)
	}
	if all[0].Details != nil {
		t.Fatalf("Details of an event without = %v", all[0].Details)
	}

	cases := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"actor", store.AuditQuery{Actor: "admin1"}, []string{"account.unblock", "account.block"}},
		{"target", store.AuditQuery{Target: "u1"}, []string{"account.unblock", "login.success", "account.block"}},
		{"action prefix", store.AuditQuery{Action: "login."}, []string{"login.failure", "login.success"}},
		{"action prefix is case-sensitive", store.AuditQuery{Action: "LOGIN"}, []string{"LOGIN.success"}},
		{"action prefix with wildcard", store.AuditQuery{Action: "login%"}, []string{"login%x"}},
		{"action exact", store.AuditQuery{Action: "logins.purge"}, []string{"logins.purge"}},
		{"category", store.AuditQuery{Category: "auth"}, []string{"LOGIN.success", "logins.purge", "login.failure", "login.success"}},
		{"since inclusive", store.AuditQuery{Since: t0.Add(5 * time.Minute)}, []string{"login%x", "LOGIN.success"}},
		{"until exclusive", store.AuditQuery{Until: t0.Add(2 * time.Minute)}, []string{"login.success", "account.block"}},
		{"since and until", store.AuditQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"login.failure", "login.success"}},
		{"limit", store.AuditQuery{Limit: 2}, []string{"login%x", "LOGIN.success"}},
		{"combined", store.AuditQuery{Actor: "admin1", Category: "admin", Action: "account.", Target: "u1",
			Since: t0, Until: t0.Add(time.Hour), Limit: 1}, []string{"account.unblock"}},
		{"nothing", store.AuditQuery{Actor: "nobody"}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListAudit(c, tc.q)
		noErr(t, "ListAudit "+tc.name, err)
		if acts := auditActions(got); !slices.Equal(acts, tc.want) && !(len(acts) == 0 && len(tc.want) == 0) {
			t.Errorf("ListAudit %s = %v, want %v", tc.name, acts, tc.want)
		}
	}

	// A missing time is filled in.
	noErr(t, "AppendAudit(no time)", s.AppendAudit(c, store.AuditEvent{Actor: "system", Action: "x", Outcome: "ok", Category: "admin"}))
	got, err := s.ListAudit(c, store.AuditQuery{Limit: 1})
	noErr(t, "ListAudit", err)
	if got[0].Time.IsZero() {
		t.Fatal("AppendAudit without Time stored the zero time")
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	c := ctx(t)
	const total = 230
	noErr(t, "InTx", s.InTx(c, func(tx store.Store) error {
		for i := 0; i < total; i++ {
			if err := tx.AppendAudit(c, audit(t0.Add(time.Duration(i)*time.Second), "u", fmt.Sprintf("e.%03d", i), "", "auth")); err != nil {
				return err
			}
		}
		return nil
	}))
	page, err := s.ListAudit(c, store.AuditQuery{})
	noErr(t, "ListAudit", err)
	if len(page) != 100 {
		t.Fatalf("default audit page has %d events, want 100", len(page))
	}
	page, err = s.ListAudit(c, store.AuditQuery{Limit: 5000})
	noErr(t, "ListAudit(5000)", err)
	if len(page) != total {
		t.Fatalf("Limit 5000 gave %d events, want %d", len(page), total)
	}
	var seen []string
	var before int64
	for i := 0; i < 100; i++ {
		page, err := s.ListAudit(c, store.AuditQuery{BeforeID: before, Limit: 40})
		noErr(t, "ListAudit page", err)
		if len(page) == 0 {
			break
		}
		seen = append(seen, auditActions(page)...)
		before = page[len(page)-1].ID
	}
	if len(seen) != total {
		t.Fatalf("paging saw %d events, want %d", len(seen), total)
	}
	for i, a := range seen {
		if want := fmt.Sprintf("e.%03d", total-1-i); a != want {
			t.Fatalf("paging position %d = %s, want %s", i, a, want)
		}
	}
}

func testSecrets(t *testing.T, s store.Store) {
	c := ctx(t)
	got, err := s.EnsureSecret(c, "cookie", []byte("first"))
	noErr(t, "EnsureSecret", err)
	if string(got) != "first" {
		t.Fatalf("EnsureSecret(new) = %q", got)
	}
	got, err = s.EnsureSecret(c, "cookie", []byte("second"))
	noErr(t, "EnsureSecret(again)", err)
	if string(got) != "first" {
		t.Fatalf("EnsureSecret(existing) = %q, want the first value", got)
	}
	got, err = s.EnsureSecret(c, "csrf", []byte{0, 1, 2, 255})
	noErr(t, "EnsureSecret(binary)", err)
	if !bytes.Equal(got, []byte{0, 1, 2, 255}) {
		t.Fatalf("EnsureSecret(binary) = %v", got)
	}

	// Replicas racing at start-up all end with one value.
	var wg sync.WaitGroup
	vals := make([][]byte, 6)
	errs := make([]error, 6)
	for i := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = s.EnsureSecret(c, "race", []byte(fmt.Sprint("v", i)))
		}()
	}
	wg.Wait()
	for i := range vals {
		noErr(t, "EnsureSecret(race)", errs[i])
		if !bytes.Equal(vals[i], vals[0]) {
			t.Fatalf("racing EnsureSecret returned %q and %q", vals[0], vals[i])
		}
	}
}

func testInTxRollback(t *testing.T, s store.Store) {
	c := ctx(t)
	boom := errors.New("boom")
	err := s.InTx(c, func(tx store.Store) error {
		if err := tx.CreateAccount(c, account("u1", "u1@x.test")); err != nil {
			return err
		}
		if err := tx.CreateCompany(c, store.Company{ID: "acme", Name: "Acme"}); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.GetAccount(c, "u1"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		// A nested InTx joins the outer transaction.
		if err := tx.InTx(c, func(inner store.Store) error {
			return inner.CreateSite(c, store.Site{ID: "tls", CompanyID: "acme", Name: "Toulouse"})
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = s.GetAccount(c, "u1")
	wantErr(t, "GetAccount after rollback", err, store.ErrNotFound)
	_, err = s.GetCompany(c, "acme")
	wantErr(t, "GetCompany after rollback", err, store.ErrNotFound)
	_, err = s.GetSite(c, "tls")
	wantErr(t, "GetSite after rollback", err, store.ErrNotFound)

	// A failed statement inside rolls back what came before it.
	mustAccounts(t, s, "taken")
	err = s.InTx(c, func(tx store.Store) error {
		if err := tx.CreateCompany(c, store.Company{ID: "globex", Name: "Globex"}); err != nil {
			return err
		}
		return tx.CreateAccount(c, account("u2", "TAKEN@x.test"))
	})
	wantErr(t, "InTx(conflict inside)", err, store.ErrConflict)
	_, err = s.GetCompany(c, "globex")
	wantErr(t, "GetCompany after failed tx", err, store.ErrNotFound)

	// A nested InTx error rolls back the whole transaction too.
	err = s.InTx(c, func(tx store.Store) error {
		if err := tx.CreateCompany(c, store.Company{ID: "initech", Name: "Initech"}); err != nil {
			return err
		}
		return tx.InTx(c, func(store.Store) error { return boom })
	})
	wantErr(t, "InTx(nested error)", err, boom)
	_, err = s.GetCompany(c, "initech")
	wantErr(t, "GetCompany after nested error", err, store.ErrNotFound)
}

func testInTxCommit(t *testing.T, s store.Store) {
	c := ctx(t)
	err := s.InTx(c, func(tx store.Store) error {
		if err := tx.CreateCompany(c, store.Company{ID: "acme", Name: "Acme"}); err != nil {
			return err
		}
		if err := tx.CreateAccount(c, account("u1", "u1@x.test")); err != nil {
			return err
		}
		if err := tx.SetMembership(c, store.Membership{AccountID: "u1", CompanyID: "acme", Role: "admin"}); err != nil {
			return err
		}
		// Methods that open their own transaction join this one.
		if _, err := tx.UpdateAccount(c, "u1", func(a *store.Account) error { a.FirstName = "Inside"; return nil }); err != nil {
			return err
		}
		if err := tx.CreateToken(c, token("h", store.TokenInvitation, "u1"), true); err != nil {
			return err
		}
		if _, err := tx.EnsureSecret(c, "k", []byte("v")); err != nil {
			return err
		}
		if err := tx.TouchSessions(c, map[string]time.Time{"none": t0}); err != nil {
			return err
		}
		return tx.Ping(c)
	})
	noErr(t, "InTx", err)
	a, err := s.GetAccount(c, "u1")
	noErr(t, "GetAccount after commit", err)
	if a.FirstName != "Inside" {
		t.Fatalf("FirstName = %q after committed update", a.FirstName)
	}
	ms, err := s.ListMemberships(c, "u1")
	noErr(t, "ListMemberships", err)
	if len(ms) != 1 || ms[0].Role != "admin" {
		t.Fatalf("memberships after commit = %+v", ms)
	}
	_, err = s.PeekToken(c, store.TokenInvitation, []byte("h"), t0)
	noErr(t, "PeekToken after commit", err)

	// The outer store keeps working after a transaction, and writes
	// outside a transaction are visible at once.
	mustAccounts(t, s, "u2")
	n, err := s.CountAccounts(c)
	noErr(t, "CountAccounts", err)
	if n != 2 {
		t.Fatalf("CountAccounts = %d, want 2", n)
	}
}

func testCascade(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustSite(t, s, "tls", "acme")
	mustAccounts(t, s, "u1", "u2")
	for _, id := range []string{"u1", "u2"} {
		noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: id, CompanyID: "acme", Role: "viewer"}))
		noErr(t, "GrantSite", s.GrantSite(c, id, "tls"))
		noErr(t, "LinkIdentity", s.LinkIdentity(c, store.IdentityLink{ProviderID: "google", Subject: "sub-" + id, AccountID: id}))
		noErr(t, "CreateSession", s.CreateSession(c, session("sess-"+id, id)))
		noErr(t, "CreateToken", s.CreateToken(c, token("tok-"+id, store.TokenPasswordReset, id), false))
	}
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "u1"))

	ms, err := s.ListMemberships(c, "u1")
	noErr(t, "ListMemberships", err)
	members, err := s.ListCompanyMembers(c, "acme")
	noErr(t, "ListCompanyMembers", err)
	if len(ms) != 0 || len(members) != 1 || members[0].AccountID != "u2" {
		t.Fatalf("memberships after delete: account %+v, company %+v", ms, members)
	}
	sites, err := s.ListSiteAccess(c, "u1")
	noErr(t, "ListSiteAccess", err)
	siteMembers, err := s.ListSiteMembers(c, "tls")
	noErr(t, "ListSiteMembers", err)
	if len(sites) != 0 || !slices.Equal(siteMembers, []string{"u2"}) {
		t.Fatalf("site access after delete: account %v, site %v", sites, siteMembers)
	}
	_, err = s.GetIdentity(c, "google", "sub-u1")
	wantErr(t, "GetIdentity after delete", err, store.ErrNotFound)
	_, err = s.GetSession(c, "sess-u1")
	wantErr(t, "GetSession after delete", err, store.ErrNotFound)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("tok-u1"), t0)
	wantErr(t, "PeekToken after delete", err, store.ErrNotFound)

	// The other account is untouched.
	_, err = s.GetIdentity(c, "google", "sub-u2")
	noErr(t, "GetIdentity(u2)", err)
	_, err = s.GetSession(c, "sess-u2")
	noErr(t, "GetSession(u2)", err)
	_, err = s.PeekToken(c, store.TokenPasswordReset, []byte("tok-u2"), t0)
	noErr(t, "PeekToken(u2)", err)
	// The email is free again.
	mustCreateAccount(t, s, account("u3", "U1@x.test"))
}

func testTimestampsUTC(t *testing.T, s store.Store) {
	c := ctx(t)
	// Times far apart, in several zones, with sub-microsecond parts.
	times := []time.Time{
		t0,
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -9*3600-30*60)),
		time.Date(2100, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.Local),
	}
	for i, at := range times {
		id := fmt.Sprintf("t%d", i)
		a := account(id, id+"@x.test")
		a.CreatedAt, a.UpdatedAt = at, at.Add(time.Nanosecond*500)
		mustCreateAccount(t, s, a)
		got, err := s.GetAccount(c, id)
		noErr(t, "GetAccount", err)
		sameTime(t, "CreatedAt", got.CreatedAt, a.CreatedAt)
		sameTime(t, "UpdatedAt", got.UpdatedAt, a.UpdatedAt)

		ss := session("s"+id, id)
		ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = at, at, at.Add(time.Hour)
		noErr(t, "CreateSession", s.CreateSession(c, ss))
		gs, err := s.GetSession(c, ss.ID)
		noErr(t, "GetSession", err)
		sameSession(t, gs, ss)

		noErr(t, "AppendAudit", s.AppendAudit(c, audit(at, "u", "ts."+id, "", "admin")))
		ev, err := s.ListAudit(c, store.AuditQuery{Action: "ts." + id})
		noErr(t, "ListAudit", err)
		if len(ev) != 1 {
			t.Fatalf("ListAudit(ts.%s) = %d events", id, len(ev))
		}
		sameTime(t, "AuditEvent.Time", ev[0].Time, at)
	}
	// The Local zone of the last case is the test machine's; make sure a
	// zone that is not UTC was really exercised.
	if !strings.Contains(times[1].String(), "-0930") {
		t.Fatalf("test setup: %v", times[1])
	}
}

func testPing(t *testing.T, s store.Store) {
	noErr(t, "Ping", s.Ping(ctx(t)))
}
