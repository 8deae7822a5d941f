package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

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
	a.TimeZone = "Asia/Tokyo"
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
		a.Language, a.DateFormat, a.Status = "fr", "YYYY/MM/DD", store.StatusBlocked
		a.TimeZone = "America/Argentina/Buenos_Aires"
		a.UpdatedAt = later
		return nil
	})
	noErr(t, "UpdateAccount", err)
	want := a
	want.FirstName, want.LastName, want.Email = "Janet", "Roe", "janet.roe@example.com"
	want.Language, want.DateFormat, want.Status, want.UpdatedAt = "fr", "YYYY/MM/DD", store.StatusBlocked, later
	want.TimeZone = "America/Argentina/Buenos_Aires"
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
