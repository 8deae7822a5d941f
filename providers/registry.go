package providers

import (
	"context"
	"fmt"
)

// Kind is one provider type: how it is built, and what the configuration
// loader asks of an entry of that type.
type Kind struct {
	// Type is the entry's type: value.
	Type string
	New  Constructor
	// DisplayName names the login button when the entry has no
	// display_name; empty means the entry's id.
	DisplayName string
	// Validate reports the type's own rules, nil when it has none. Like the
	// loader's other checks it resolves no secrets.
	Validate func(Config) []Problem
}

// Constructor builds a provider of one type.
type Constructor func(ctx context.Context, cfg Config, opts Options) (Provider, error)

// kinds is every provider type, in the order configuration problems list
// them. Adding a type is one file that defines its Kind and one entry here.
var kinds = []Kind{googleKind, microsoftKind, auth0Kind, oidcKind}

func lookup(typ string) (Kind, bool) {
	for _, k := range kinds {
		if k.Type == typ {
			return k, true
		}
	}
	return Kind{}, false
}

// Types lists the provider types an entry may name.
func Types() []string {
	types := make([]string, len(kinds))
	for i, k := range kinds {
		types[i] = k.Type
	}
	return types
}

// SetDefaults fills in what an entry leaves to its type.
func SetDefaults(cfg *Config) {
	if cfg.DisplayName != "" {
		return
	}
	if k, ok := lookup(cfg.Type); ok {
		cfg.DisplayName = k.DisplayName
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.ID
	}
}

// Validate reports the rules of cfg's type that it breaks. An unknown type
// has none: the loader reports the type itself.
func Validate(cfg Config) []Problem {
	if k, ok := lookup(cfg.Type); ok && k.Validate != nil {
		return k.Validate(cfg)
	}
	return nil
}

// New builds the provider cfg.Type names, with SetDefaults applied. ctx
// bounds the background discovery retries. A provider whose discovery fails
// is still returned, with Status "unavailable"; only configuration errors
// return an error.
func New(ctx context.Context, cfg Config, opts Options) (Provider, error) {
	k, ok := lookup(cfg.Type)
	if !ok {
		return nil, fmt.Errorf("%w: provider %q: unknown type %q", ErrConfig, cfg.ID, cfg.Type)
	}
	SetDefaults(&cfg)
	return k.New(ctx, cfg, opts)
}
