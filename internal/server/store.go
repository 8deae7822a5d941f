package server

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// OpenStore opens (and migrates) the configured store.
func OpenStore(ctx context.Context, cfg config.Store, environ []string) (store.Store, error) {
	dsn, err := cfg.DSN.Resolve(config.EnvLookup(environ))
	if err != nil {
		return nil, fmt.Errorf("store.dsn: %w", err)
	}
	switch cfg.Driver {
	case "sqlite":
		return sqlite.Open(ctx, dsn)
	case "postgres":
		return postgres.Open(ctx, dsn)
	default:
		return nil, fmt.Errorf("store.driver: unknown driver %q", cfg.Driver)
	}
}
