package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify sends payload on channel to every connection listening on it, in
// any process connected to the same database.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if _, err := s.DB().ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

// Listen holds a dedicated connection listening on channel and calls fn
// with every payload, in order, until ctx ends. A lost connection is
// re-opened with a capped backoff; connected is called after every
// (re)connection, since notifications sent meanwhile are lost and the
// caller may want to drop what they would have invalidated.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string), connected func(), logger *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, fn, connected)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("listen: connection lost, reconnecting", "channel", channel, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, channel string, fn func(string), connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.ConnConfig())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	if connected != nil {
		connected()
	}
	for {
		// Wake up now and then to ping: a connection that a partition or
		// a restart behind one silently broke would otherwise wait for
		// notifications that can never come.
		wctx, cancel := context.WithTimeout(ctx, listenPingEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("listen: ping: %w", err)
			}
		default:
			return err
		}
	}
}

// How often an idle listening connection is checked, and how long the
// check may take before the connection is given up and re-opened.
const (
	listenPingEvery   = 15 * time.Second
	listenPingTimeout = 3 * time.Second
)

// Channel names a notification channel for this store's schema: NOTIFY
// reaches the whole database, and deployments (or tests) sharing one
// database in separate schemas must not hear one another.
func (s *Store) Channel(ctx context.Context, base string) (string, error) {
	var schema string
	if err := s.DB().QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("store: channel name: %w", err)
	}
	name := base + "_" + schema
	if len(name) > 63 { // PostgreSQL truncates identifiers at 63 bytes
		name = name[:63]
	}
	return name, nil
}
