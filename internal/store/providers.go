package store

import (
	"context"
	"time"
)

// ProviderRecord is an identity provider created from the admin panel or
// the API; those of the configuration file are never stored.
type ProviderRecord struct {
	ID string
	// Config is the provider's settings as JSON (package providers reads
	// it), without the client secret.
	Config []byte
	// Secret is the client secret sealed by secret.Keyring, bound to ID;
	// "" when none was given.
	Secret    string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProviderRecords stores the identity providers created at run time.
// Every write announces Change{Provider: id}, so each replica rebuilds
// its sign-in buttons and routes.
type ProviderRecords interface {
	CreateProvider(ctx context.Context, p ProviderRecord) error // ErrConflict when the id is taken
	// UpdateProvider replaces the record with p.ID (ErrNotFound when there is none).
	UpdateProvider(ctx context.Context, p ProviderRecord) error
	GetProvider(ctx context.Context, id string) (ProviderRecord, error)
	ListProviders(ctx context.Context) ([]ProviderRecord, error) // by id
	DeleteProvider(ctx context.Context, id string) error         // ErrNotFound when there is none
}
