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

// sessionManager builds the gateway's session manager, with the cookie key
// kept in the store, publishing the sessions it ends on bus.
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
