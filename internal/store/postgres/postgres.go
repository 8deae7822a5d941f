// Package postgres is the store backend for replicated deployments:
// PostgreSQL through pgx, over the shared sqlstore implementation.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// defaultConnectTimeout bounds a connection attempt when the DSN sets no
// connect_timeout, so an unreachable server is reported within seconds.
const defaultConnectTimeout = 5 * time.Second

// Store is the PostgreSQL store. It embeds the shared implementation and
// keeps the parsed connection settings so a feature that needs its own
// connection (LISTEN/NOTIFY) can open one with the same settings.
type Store struct {
	*sqlstore.Store
	dsn    string
	config *pgx.ConnConfig
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// Open connects to dsn (a postgres:// URL or keyword/value string) and
// migrates the schema. A search_path parameter in the DSN selects the
// schema that holds Gatehouse's tables; that schema must exist.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from the DSN it quotes.
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	db := stdlib.OpenDB(*cfg.Copy())
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(5)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Recycle connections so a failover behind a DNS name is followed.
	db.SetConnMaxLifetime(30 * time.Minute)

	s := &Store{Store: sqlstore.New(db, dialect(), sqlstore.Options{}), dsn: dsn, config: cfg}
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// DSN returns the connection string Open was given.
func (s *Store) DSN() string { return s.dsn }

// ConnConfig returns a copy of the parsed connection settings, for opening
// a dedicated connection with pgx.ConnectConfig.
func (s *Store) ConnConfig() *pgx.ConnConfig { return s.config.Copy() }

func dialect() sqlstore.Dialect {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded; this cannot happen
	}
	return sqlstore.Dialect{
		Name:                  "postgres",
		ForUpdate:             " FOR UPDATE",
		Migrations:            migrations,
		LockMigrations:        lockMigrations,
		IsUniqueViolation:     func(err error) bool { return sqlState(err) == "23505" },
		IsForeignKeyViolation: func(err error) bool { return sqlState(err) == "23503" },
		IsUnavailable:         unavailable,
	}
}

// lockMigrations takes a session-level advisory lock named after the
// schema being migrated, so two processes starting at once apply each
// migration once while tests migrating other schemas are not held up.
func lockMigrations(ctx context.Context, conn *sql.Conn) (func() error, error) {
	var schema sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, err
	}
	if !schema.Valid {
		return nil, errors.New("no schema on the search_path exists; create it first")
	}
	h := fnv.New64a()
	io.WriteString(h, "gatehouse.migrate:"+schema.String)
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return nil, err
	}
	return func() error {
		// Not the caller's context: the lock must go even if it was cancelled.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key)
		if err != nil {
			// A connection still holding the lock must not go back to the
			// pool; ErrBadConn from Raw makes database/sql discard it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}, nil
}

// sqlState is the PostgreSQL error code of err, "" when it has none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// unavailable reports errors that mean the server cannot be reached or is
// not accepting work, as opposed to a bad query.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	code := sqlState(err)
	// Class 08: connection exception; 57P0x: shutdown, crash recovery;
	// 53300: too many connections.
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P0") || code == "53300"
}
