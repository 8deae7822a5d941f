package providers

import (
	"context"
	"net/url"
	"strings"
)

var auth0Kind = Kind{Type: "auth0", New: newAuth0, DisplayName: "Auth0"}

// newAuth0 builds an Auth0 provider. issuer may be the tenant domain
// ("acme.eu.auth0.com", or a custom domain) or the full issuer URL; Auth0's
// issuer always ends with "/" and tokens are compared to it exactly.
// Subjects such as "google-oauth2|123" are kept as they are: Auth0 makes
// them unique per upstream connection. Roles come from the namespaced claim
// roles_claim (set by an Auth0 Action) through role_map.
func newAuth0(ctx context.Context, cfg Config, opts Options) (Provider, error) {
	cfg.Issuer = auth0Issuer(cfg.Issuer)
	clientID := cfg.ClientID
	return newOIDC(ctx, cfg, opts, hooks{
		// Tenants without "RP-Initiated Logout End Session Endpoint Discovery"
		// still offer the legacy /v2/logout endpoint.
		endSession: func(d *discovery, _ string, postLogoutRedirect string) (string, bool) {
			u, err := url.Parse(d.issuer + "v2/logout")
			if err != nil {
				return "", false
			}
			q := url.Values{"client_id": {clientID}}
			if postLogoutRedirect != "" {
				q.Set("returnTo", postLogoutRedirect)
			}
			u.RawQuery = q.Encode()
			return u.String(), true
		},
	})
}

func auth0Issuer(issuer string) string {
	if issuer == "" {
		return ""
	}
	if !strings.Contains(issuer, "://") {
		issuer = "https://" + issuer
	}
	if !strings.HasSuffix(issuer, "/") {
		issuer += "/"
	}
	return issuer
}
