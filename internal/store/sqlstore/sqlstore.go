// Package sqlstore implements store.Store once, on database/sql, for every
// SQL backend; sqlite/ and postgres/ supply the driver, schema and Dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Dialect holds the few things that differ between SQL backends. The SQL
// text itself is shared: both SQLite and PostgreSQL accept $n placeholders,
// ON CONFLICT upserts and RETURNING.
type Dialect struct {
	// Name is used in error messages ("sqlite", "postgres").
	Name string
	// ForUpdate is appended to a SELECT that reads a row the same
	// transaction is about to change (" FOR UPDATE" on PostgreSQL). SQLite
	// needs none: its write transactions are already serialised.
	ForUpdate string
	// Migrations holds files named NNNN_description.sql, applied in order.
	Migrations fs.FS
	// LockMigrations, when set, takes a lock on conn that keeps other
	// processes from migrating at the same time, and returns its release.
	LockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func() error, err error)
	// IsUniqueViolation reports a broken UNIQUE or PRIMARY KEY constraint.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports a reference to a missing row.
	IsForeignKeyViolation func(error) bool
	// IsUnavailable reports that the database could not be reached.
	IsUnavailable func(error) bool
}

// Options tunes New.
type Options struct {
	// Read is a pool used for plain reads outside transactions; nil means
	// the main pool. SQLite uses it so readers never queue behind the
	// single writer connection.
	Read *sql.DB
	// Now stamps records created without a time; nil means time.Now.
	Now func() time.Time
}

// queryer is what *sql.DB and *sql.Tx have in common, so every method runs
// unchanged inside or outside a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is store.Store over a database/sql pool. Timestamps are stored as
// unix microseconds and always come back in UTC.
type Store struct {
	db   *sql.DB
	read *sql.DB
	tx   *sql.Tx // set on the Store InTx hands to its callback
	d    Dialect
	now  func() time.Time
	// watch is told of account data changes once they commit; pending
	// collects those of the transaction a bound Store runs in.
	watch   *watchers
	pending *[]store.Change
}

var _ store.Store = (*Store)(nil)

// New wraps db. It does not migrate; call Migrate.
func New(db *sql.DB, d Dialect, opt Options) *Store {
	s := &Store{db: db, read: opt.Read, d: d, now: opt.Now,
		watch: &watchers{fns: map[int]func(context.Context, []store.Change){}}}
	if s.read == nil {
		s.read = db
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// DB returns the main (write) pool.
func (s *Store) DB() *sql.DB { return s.db }

// w is where writes go: the transaction when bound to one, else the main pool.
func (s *Store) w() queryer {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// r is where plain reads go; inside a transaction they must see its writes.
func (s *Store) r() queryer {
	if s.tx != nil {
		return s.tx
	}
	return s.read
}

// InTx runs fn in one transaction. Inside a transaction it reuses it, so
// helpers that open their own InTx compose. fn must only use the Store it is
// given: on SQLite the outer Store would wait for the connection fn holds.
func (s *Store) InTx(ctx context.Context, fn func(store.Store) error) error {
	return s.inTx(ctx, func(q *Store) error { return fn(q) })
}

func (s *Store) inTx(ctx context.Context, fn func(*Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "begin transaction")
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	bound := *s
	bound.tx = tx
	bound.pending = new([]store.Change)
	if err := fn(&bound); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "commit")
	}
	s.announce(ctx, *bound.pending)
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		return nil
	}
	// The read pool, so a readiness probe is not queued behind a long
	// write transaction on SQLite's single writer connection. A query,
	// not PingContext: only a round trip proves the server (or file) is
	// still there.
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: %s ping: %w: %w", s.d.Name, store.ErrUnavailable, err)
	}
	return nil
}

// Close closes the pools. On a transaction-bound Store it does nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	err := s.db.Close()
	if s.read != s.db {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// fail turns a driver error into one that errors.Is can match against the
// store's sentinels, with what was being done as context.
func (s *Store) fail(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	case s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err):
		return fmt.Errorf("store: %s: %w: %w", what, store.ErrConflict, err)
	case s.d.IsForeignKeyViolation != nil && s.d.IsForeignKeyViolation(err):
		return fmt.Errorf("store: %s: a referenced record is missing: %w: %w", what, store.ErrNotFound, err)
	case s.d.IsUnavailable != nil && s.d.IsUnavailable(err),
		errors.Is(err, sql.ErrConnDone),
		// The database did not answer in the time the caller allowed.
		errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("store: %s: %w: %w", what, store.ErrUnavailable, err)
	default:
		return fmt.Errorf("store: %s: %w", what, err)
	}
}

// mustAffect turns "no row changed" into ErrNotFound.
func (s *Store) mustAffect(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return s.fail(err, format, args...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, format, args...)
	}
	if n == 0 {
		return s.fail(sql.ErrNoRows, format, args...)
	}
	return nil
}

// micros stores a time as unix microseconds; the zero time is 0 so that
// "not set" survives the round trip.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros, always in UTC.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// orNow fills a missing creation time from the injected clock.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// newTimes fills the times of a record being created: a missing creation
// time is now, and a missing later time (updated, last seen, next attempt)
// starts at the creation time.
func (s *Store) newTimes(created, later time.Time) (time.Time, time.Time) {
	created = s.orNow(created)
	if later.IsZero() {
		later = created
	}
	return created, later
}

// nullString maps "" to NULL for optional references.
func nullString(v string) sql.NullString {
	return sql.NullString{String: v, Valid: v != ""}
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
