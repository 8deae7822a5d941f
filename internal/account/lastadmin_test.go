package account

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestLastAdminUnderConcurrentChanges: two admins of a company demote, or
// block, each other at the same moment. Whichever store, one change wins
// and the other is refused as the last admin's, so the company keeps an
// active administrator. On PostgreSQL both transactions would otherwise
// read "another admin is left" before either commits.
func TestLastAdminUnderConcurrentChanges(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"sqlite": newTestStore,
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), storetest.PostgresDSN(t))
			if err != nil {
				t.Fatalf("opening the PostgreSQL test store: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.st = open(t)
			f.svc = NewService(f.st, f, Standard(), f.svc.hasher, f.svc.now, f.svc.rand)
			noPassword := func(email string) NewAccount {
				in := person(email, "admin")
				in.Password, in.CreateCompany = "", true
				return in
			}
			ada, bob := f.create(noPassword("ada@example.com")), f.create(noPassword("bob@example.com"))
			for _, a := range []store.Account{ada, bob} {
				if _, err := f.svc.Activate(f.ctx, "test", a.ID); err != nil {
					t.Fatal(err)
				}
			}
			demote := func(actor, target string) error {
				return f.svc.SetMembership(f.ctx, actor, target, MembershipInput{Company: "acme", Role: "viewer"})
			}
			block := func(actor, target string) error {
				_, err := f.svc.Block(f.ctx, actor, target)
				return err
			}
			restore := func() {
				for _, a := range []store.Account{ada, bob} {
					if err := f.st.SetMembership(f.ctx, store.Membership{AccountID: a.ID, CompanyID: "acme", Role: "admin", CreatedAt: t0}); err != nil {
						t.Fatal(err)
					}
					if _, err := f.st.UpdateAccount(f.ctx, a.ID, func(acc *store.Account) error { acc.Status = store.StatusActive; return nil }); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, change := range []struct {
				name string
				do   func(actor, target string) error
			}{{"demote", demote}, {"block", block}} {
				for round := range 15 {
					restore()
					var wg sync.WaitGroup
					errs := make([]error, 2)
					start := make(chan struct{})
					for i, pair := range [][2]string{{ada.ID, bob.ID}, {bob.ID, ada.ID}} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							errs[i] = change.do(pair[0], pair[1])
						}()
					}
					close(start)
					wg.Wait()
					if n := activeAdmins(t, f, "acme"); n != 1 {
						t.Fatalf("%s round %d: %d active admins left (errors %v)", change.name, round, n, errs)
					}
					if errors.Is(errs[0], ErrLastAdmin) == errors.Is(errs[1], ErrLastAdmin) {
						t.Fatalf("%s round %d: want one change refused as the last admin's, got %v", change.name, round, errs)
					}
				}
			}
		})
	}
}

func activeAdmins(t *testing.T, f *fixture, company string) int {
	t.Helper()
	members, err := f.st.ListCompanyMembers(f.ctx, company)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range members {
		a, err := f.st.GetAccount(f.ctx, m.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == store.StatusActive && m.Role == "admin" {
			n++
		}
	}
	return n
}
