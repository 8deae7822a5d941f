// Package sqlite is the embedded store backend: a single SQLite file in WAL
// mode, driven by the pure-Go modernc.org/sqlite, over the shared sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite store. It embeds the shared implementation.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory when missing) the database at
// dsn and migrates it. dsn is a file path, or ":memory:" for a private
// in-memory database.
//
// Writes are serialised on purpose: SQLite allows one writer at a time, and
// letting several connections race for the lock only turns into
// SQLITE_BUSY errors and, with deferred transactions, into deadlocks
// (two readers both upgrading). So one pool of exactly one connection takes
// every write and every transaction (BEGIN IMMEDIATE, so a transaction owns
// the write lock from its first statement), and a second, read-only pool
// serves plain reads concurrently thanks to WAL. InTx cannot deadlock on
// the pool as long as the callback uses the Store it is given.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("store: sqlite: empty path")
	}
	memory := dsn == ":memory:"
	path := strings.TrimPrefix(dsn, "file:")
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: sqlite: create directory for %s: %w", path, err)
		}
	}
	write, err := sql.Open("sqlite", connString(path, memory, false))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	// Keep the connection: an in-memory database lives only as long as it.
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read := write
	if !memory {
		read, err = sql.Open("sqlite", connString(path, false, true))
		if err != nil {
			write.Close()
			return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
		}
		read.SetMaxOpenConns(4)
		read.SetMaxIdleConns(4)
	}
	s := &Store{Store: sqlstore.New(write, dialect(), sqlstore.Options{Read: read})}
	if err := migrateWhenFree(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrateWhenFree migrates, waiting out another process that is opening
// the same file at the same moment. Switching a new file to WAL takes an
// exclusive lock for which SQLite does not always call its busy handler,
// so busy_timeout alone does not cover two processes starting together.
func migrateWhenFree(ctx context.Context, s *Store) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// connString builds the modernc DSN. busy_timeout matters only when another
// process (the CLI next to a running server) holds the lock.
func connString(path string, memory, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	if !memory && !readOnly {
		// WAL is a property of the file, set once by the writer; it is what
		// lets the read pool run beside a write transaction.
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable across application crashes in WAL mode; only a
		// power loss can lose the last commits.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	if memory {
		return "file::memory:?" + q.Encode()
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// dialect describes SQLite to the shared implementation.
func dialect() sqlstore.Dialect {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded; this cannot happen
	}
	return sqlstore.Dialect{
		Name:       "sqlite",
		Migrations: migrations,
		IsUniqueViolation: func(err error) bool {
			c := code(err)
			return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKeyViolation: func(err error) bool {
			return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		},
		IsUnavailable: func(err error) bool {
			switch code(err) & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
				sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
				return true
			}
			return false
		},
	}
}

// code is the extended SQLite result code of err, 0 when it has none.
func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
