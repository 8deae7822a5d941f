package server

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SessionManager builds the session manager a gateway on cfg and st uses,
// with the cookie key kept in the store, so a tool (the load test's
// seeding) starts sessions the running gateway accepts. It publishes the
// sessions it ends nowhere: running gateways drop them once their cache
// entry is older than session.cache_ttl.
func SessionManager(ctx context.Context, cfg config.Config, st store.Store, now func() time.Time, rnd io.Reader, logger *slog.Logger) (*session.Manager, error) {
	return sessionManager(ctx, cfg, st, nil, now, rnd, logger)
}

// sessionManager is SessionManager publishing the sessions it ends on bus.
func sessionManager(ctx context.Context, cfg config.Config, st store.Store, bus session.Publisher, now func() time.Time, rnd io.Reader, logger *slog.Logger) (*session.Manager, error) {
	pub, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil {
		return nil, err
	}
	key, err := ensureSecret(ctx, st, "session_cookie_hash_key")
	if err != nil {
		return nil, err
	}
	return session.NewManager(st, session.Options{
		PublicURL:         pub,
		IdleTimeout:       time.Duration(cfg.Session.IdleTimeout),
		AbsoluteTimeout:   time.Duration(cfg.Session.AbsoluteTimeout),
		SharedIdleTimeout: time.Duration(cfg.Session.SharedIdleTimeout),
		CacheSize:         cfg.Session.CacheSize,
		CacheTTL:          time.Duration(cfg.Session.CacheTTL),
		HashKey:           key,
		Bus:               bus,
	}, now, rnd, logger)
}
