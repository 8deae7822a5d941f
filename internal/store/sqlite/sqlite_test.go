package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestMemory(t *testing.T) {
	s, err := Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	defer s.Close()
	// One connection serves everything; a transaction must still work and
	// its writes be visible afterwards.
	err = s.InTx(t.Context(), func(tx store.Store) error {
		return tx.CreateCompany(t.Context(), store.Company{ID: "acme", Name: "Acme"})
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if _, err := s.GetCompany(t.Context(), "acme"); err != nil {
		t.Fatalf("GetCompany: %v", err)
	}
}

func TestOpenCreatesDirectoryAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "gatehouse.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.CreateCompany(t.Context(), store.Company{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatalf("CreateCompany: %v", err)
	}
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	v1, err := s.SchemaVersion(t.Context())
	if err != nil || v1 < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v1, err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	// Reopening keeps the data and applies nothing twice.
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetCompany(t.Context(), "acme"); err != nil {
		t.Fatalf("GetCompany after reopen: %v", err)
	}
	v2, err := s.SchemaVersion(t.Context())
	if err != nil || v2 != v1 {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v2, err, v1)
	}
}

// Two stores on one file stand for the CLI next to a running server: both
// write without errors thanks to busy_timeout and immediate transactions.
func TestTwoProcessesOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	var stores [2]*Store
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if err := stores[0].CreateAccount(t.Context(), store.Account{ID: "u1", Email: "u1@x.test", Kind: store.KindPersonal}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := stores[i].UpdateAccount(t.Context(), "u1", func(a *store.Account) error {
					a.FirstName += "x"
					return nil
				}); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("UpdateAccount from two stores: %v", err)
		}
	}
	a, err := stores[1].GetAccount(t.Context(), "u1")
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	if len(a.FirstName) != 40 {
		t.Fatalf("FirstName has %d x, want 40: an update was lost", len(a.FirstName))
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on a closed store = %v, want ErrUnavailable", err)
	}
}

func TestPaths(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, dsn := range []string{"./gatehouse-data/gatehouse.db", "with space/and#hash?.db", "file:plain.db"} {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		s.Close()
		want := strings.TrimPrefix(dsn, "file:")
		if _, err := os.Stat(want); err != nil {
			t.Fatalf("Open(%q) did not create %s: %v", dsn, want, err)
		}
	}
}
