package postgres

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, storetest.PostgresDSN(t))
	})
}

// Two replicas starting at once on a fresh schema: the advisory lock lets
// one migrate while the other waits, and both come up.
func TestConcurrentMigrate(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	const n = 3
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	v, err := stores[0].SchemaVersion(t.Context())
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	var applied int
	if err := stores[0].DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	// Every migration file exactly once. Versions may leave gaps (numbers
	// are handed out ahead, per branch), so rows are counted against the
	// files, not the highest version.
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	files, err := sqlstore.Migrations(sub)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || v != files[len(files)-1].Version {
		t.Fatalf("schema_migrations has %d rows up to version %d for %d files up to %d: a migration was applied twice or not at all",
			applied, v, len(files), files[len(files)-1].Version)
	}
	if err := stores[1].Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
}

// The tables land in the schema named by search_path, not in public.
func TestSearchPathIsolation(t *testing.T) {
	a := open(t, storetest.PostgresDSN(t))
	b := open(t, storetest.PostgresDSN(t))
	if err := a.CreateCompany(t.Context(), store.Company{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatalf("CreateCompany: %v", err)
	}
	if _, err := b.GetCompany(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other schema sees the company: %v", err)
	}
	if a.DSN() == "" || a.ConnConfig().RuntimeParams["search_path"] == "" {
		t.Fatalf("DSN %q / search_path %q not kept", a.DSN(), a.ConnConfig().RuntimeParams["search_path"])
	}
}

func TestMissingSchema(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	i := strings.Index(dsn, "gh_test_")
	_, err := Open(t.Context(), dsn[:i]+"gh_does_not_exist"+dsn[i+len("gh_test_")+16:])
	if err == nil {
		t.Fatal("Open with a search_path to a missing schema succeeded")
	}
}

func TestUnreachable(t *testing.T) {
	// Port 1 on loopback refuses at once.
	_, err := Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open on a closed port = %v, want ErrUnavailable", err)
	}
}

func TestPingAfterClose(t *testing.T) {
	s, err := Open(t.Context(), storetest.PostgresDSN(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
}
