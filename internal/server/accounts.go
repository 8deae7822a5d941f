package server

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// NewHasher builds the password hasher the config describes.
func NewHasher(cfg config.Config) *password.Hasher {
	a2 := cfg.Password.Argon2
	h := password.NewHasher(password.Params{MemoryKiB: a2.MemoryKiB, Iterations: a2.Iterations, Parallelism: a2.Parallelism},
		cfg.Password.MaxConcurrentHashes, rand.Reader)
	h.LimitCPU(cfg.Password.HashCPUPercent, runtime.NumCPU())
	return h
}

// NewAccountService builds the account rules over st for the command
// line, which caches no sessions: a gateway already running drops the
// sessions a command ends once its cache entry is older than
// session.cache_ttl (at most 5 s).
func NewAccountService(cfg config.Config, st store.Store) (*account.Service, error) {
	roles, err := account.LoadModel(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return account.NewService(st, nil, roles, NewHasher(cfg), time.Now, rand.Reader), nil
}
