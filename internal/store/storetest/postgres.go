package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresDSNEnv names the environment variable that points the tests at a
// PostgreSQL server; DefaultPostgresDSN is used when it is unset.
const (
	PostgresDSNEnv     = "GATEHOUSE_TEST_POSTGRES_DSN"
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// PostgresDSN creates a fresh, empty schema on the test server, drops it
// when the test ends, and returns a DSN whose search_path selects it, so
// parallel tests and packages never see one another's rows. The database
// named in the DSN is created when missing. An unreachable server fails
// the test: a suite that silently skips PostgreSQL proves nothing.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := connectCreatingDB(ctx, cfg)
	if err != nil {
		t.Fatalf("PostgreSQL not reachable at %s: %v\n"+
			"start it (on Debian: pg_ctlcluster 15 main start, or `make test` which installs and starts it) "+
			"or point %s at a server", where, err, PostgresDSNEnv)
	}
	defer conn.Close(context.Background())

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "gh_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s on %s: %v", schema, where, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	out, err := withSearchPath(dsn, schema)
	if err != nil {
		t.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	return out
}

// connectCreatingDB connects, creating the target database first when the
// server says it does not exist (a fresh cluster has only "postgres").
func connectCreatingDB(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != "3D000" {
		return conn, err
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	ac, aerr := pgx.ConnectConfig(ctx, admin)
	if aerr != nil {
		return nil, err
	}
	defer ac.Close(context.Background())
	_, aerr = ac.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	// 42P04: another test process created it first.
	if aerr != nil && !(errors.As(aerr, &pe) && pe.Code == "42P04") {
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, aerr)
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// withSearchPath sets search_path in a URL or keyword/value DSN.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}
