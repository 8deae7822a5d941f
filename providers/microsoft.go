package providers

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

const microsoftLogin = "https://login.microsoftonline.com/"

var microsoftKind = Kind{Type: "microsoft", New: newMicrosoft, DisplayName: "Microsoft", Validate: validateMicrosoft}

// newMicrosoft builds a Microsoft Entra ID provider.
//
// The issuer is tenant-specific (…/TENANT/v2.0), or one of the multi-tenant
// endpoints (…/common/v2.0, …/organizations/v2.0) whose discovered issuer
// holds "{tenantid}"; then the token's tid is substituted and the issuer
// compared exactly, and allowed_tenants is required so that any Entra
// tenant in the world cannot sign in.
//
// The subject is "tid:oid": oid is stable per user within a tenant, while
// sub is pairwise per application and email is mutable.
//
// Entra does not verify the email claim: a tenant admin can set any address
// on a user. So an email counts as verified only when the tenant is allowed
// and the address's domain is in allowed_domains, domains the operator
// vouches belong to those tenants.
func newMicrosoft(ctx context.Context, cfg Config, opts Options) (Provider, error) {
	if cfg.Issuer == "" {
		if len(cfg.AllowedTenants) == 1 {
			cfg.Issuer = microsoftLogin + cfg.AllowedTenants[0] + "/v2.0"
		} else {
			cfg.Issuer = microsoftLogin + "organizations/v2.0"
		}
	}
	if cfg.RolesClaim == "" && len(cfg.RoleMap) > 0 {
		cfg.RolesClaim = "roles" // Entra app roles
	}
	multi := microsoftMultiTenant(cfg.Issuer)
	if multi && len(cfg.AllowedTenants) == 0 {
		return nil, fmt.Errorf("%w: provider %q: allowed_tenants is required with a multi-tenant issuer", ErrConfig, cfg.ID)
	}
	tenants := cfg.AllowedTenants
	domains := cfg.AllowedDomains
	return newOIDC(ctx, cfg, opts, hooks{
		discoveredIssuerOK: func(configured, discovered string) bool {
			if multi {
				return strings.Contains(discovered, "{tenantid}") && IssuerMatches(discovered, configured)
			}
			return configured == discovered
		},
		tokenIssuerOK: func(discovered, got string, claims map[string]any) bool {
			tid, _ := claims["tid"].(string)
			if tid == "" || strings.ContainsAny(tid, "/?#{}") {
				return false
			}
			return got == strings.ReplaceAll(discovered, "{tenantid}", tid)
		},
		finish: func(id *Identity, claims map[string]any) error {
			tid, _ := claims["tid"].(string)
			oid, _ := claims["oid"].(string)
			if tid == "" || oid == "" {
				return invalid("Microsoft token without tid or oid")
			}
			if len(tenants) > 0 && !slices.ContainsFunc(tenants, func(t string) bool { return strings.EqualFold(t, tid) }) {
				return fmt.Errorf("%w: tenant %q is not in allowed_tenants", ErrNotAllowed, tid)
			}
			id.Subject = tid + ":" + oid
			if id.Email == "" {
				// Without the optional email claim, the UPN is the closest
				// thing to an address; it is held to the same domain rule.
				if upn, _ := claims["preferred_username"].(string); strings.Contains(upn, "@") {
					id.Email = upn
				}
			}
			domain := emailDomain(id.Email)
			if len(domains) > 0 && !domainAllowed(domains, domain) {
				return fmt.Errorf("%w: email domain %q is not in allowed_domains", ErrNotAllowed, domain)
			}
			id.EmailVerified = domainAllowed(domains, domain)
			return nil
		},
		// Identities are linked on tid:oid, while a logout token's sub is
		// the pairwise sub; only a token that also names tid and oid can
		// be matched to them (one with a sid still can by sid).
		logoutSubject: func(_ string, claims map[string]any) string {
			tid, _ := claims["tid"].(string)
			oid, _ := claims["oid"].(string)
			if tid == "" || oid == "" {
				return ""
			}
			return tid + ":" + oid
		},
	})
}

// microsoftMultiTenant reports whether the issuer is one of Entra's shared
// endpoints rather than a single tenant's.
func microsoftMultiTenant(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	switch strings.ToLower(first) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

// validateMicrosoft is the configuration rule of the type: on a shared
// endpoint, whose tokens come from any tenant, the tid allow-list is the
// only tenant check left, so it must not be empty.
func validateMicrosoft(cfg Config) []Problem {
	if sharedIssuer(cfg.Issuer) && len(cfg.AllowedTenants) == 0 {
		return []Problem{{Key: "allowed_tenants", Message: "required with the common or organizations issuer: otherwise any Microsoft tenant could sign in"}}
	}
	return nil
}

// sharedIssuer spots a shared endpoint in any segment of the configured
// issuer, the discovered form with its "{tenantid}" placeholder included.
func sharedIssuer(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		switch strings.ToLower(seg) {
		case "common", "organizations", "{tenantid}":
			return true
		}
	}
	return false
}
