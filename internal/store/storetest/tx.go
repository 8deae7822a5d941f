package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

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
