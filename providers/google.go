package providers

import (
	"context"
	"fmt"
)

const googleIssuer = "https://accounts.google.com"

var googleKind = Kind{Type: "google", New: newGoogle, DisplayName: "Google"}

// newGoogle builds a Google (Workspace) provider. allowed_domains is checked
// against the hd claim, which Google sets only for Workspace accounts and
// which names the organisation that owns the account; an email suffix would
// also match consumer accounts using an address at that domain.
func newGoogle(ctx context.Context, cfg Config, opts Options) (Provider, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = googleIssuer
	}
	allowed := cfg.AllowedDomains
	return newOIDC(ctx, cfg, opts, hooks{
		tokenIssuerOK: func(discovered, got string, _ map[string]any) bool {
			// Google documents that its ID tokens carry either form.
			return got == discovered || (discovered == googleIssuer && got == "accounts.google.com")
		},
		finish: func(id *Identity, claims map[string]any) error {
			if len(allowed) == 0 {
				return nil
			}
			hd, _ := claims["hd"].(string)
			if !domainAllowed(allowed, hd) {
				return fmt.Errorf("%w: Google hosted domain %q is not in allowed_domains", ErrNotAllowed, hd)
			}
			return nil
		},
	})
}
