package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the files NNNN_name.sql at the root of fsys, in version
// order. Two files with one version are an error.
func Migrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %q: name must start with a positive version number", e.Name())
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("store: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: read migration %q: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every migration not yet recorded in schema_migrations,
// each in its own transaction. Running it again is a no-op; with the
// Dialect's lock, two processes starting at once apply each migration once.
func (s *Store) Migrate(ctx context.Context) (err error) {
	if s.tx != nil {
		return errors.New("store: migrate inside a transaction")
	}
	if s.d.Migrations == nil {
		return errors.New("store: dialect has no migrations")
	}
	migs, err := Migrations(s.d.Migrations)
	if err != nil {
		return err
	}
	// One connection throughout, because the migration lock belongs to
	// the session that took it.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.fail(err, "migrate: connect")
	}
	defer conn.Close()
	if s.d.LockMigrations != nil {
		unlock, err := s.d.LockMigrations(ctx, conn)
		if err != nil {
			return s.fail(err, "migrate: lock")
		}
		defer func() {
			if uerr := unlock(); uerr != nil && err == nil {
				err = s.fail(uerr, "migrate: unlock")
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return s.fail(err, "migrate: create schema_migrations")
	}
	for _, m := range migs {
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration unless it is already recorded. The check and the
// change share a transaction, so a crash half-way leaves nothing applied.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "migrate %s: begin", m.Name)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return s.fail(err, "migrate %s: check version", m.Name)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return s.fail(err, "migrate %s", m.Name)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.Version, micros(s.now())); err != nil {
		return s.fail(err, "migrate %s: record version", m.Name)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "migrate %s: commit", m.Name)
	}
	return nil
}

// SchemaVersion returns the highest applied migration, 0 when none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.r().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, s.fail(err, "read schema version")
	}
	return int(v.Int64), nil
}
