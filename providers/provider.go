// Package providers signs people in with OpenID Connect identity providers:
// a generic OIDC client plus thin vendor wrappers for Google, Microsoft and Auth0.
package providers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors returned by providers, checked with errors.Is.
var (
	// ErrUnavailable: the provider's discovery document has not been loaded
	// yet; the gateway keeps retrying in the background.
	ErrUnavailable = errors.New("providers: provider unavailable")
	// ErrExchange: the token endpoint refused the code or could not be reached.
	ErrExchange = errors.New("providers: code exchange failed")
	// ErrInvalidToken: the ID token failed a check (signature, issuer,
	// audience, time, nonce, subject).
	ErrInvalidToken = errors.New("providers: invalid ID token")
	// ErrNotAllowed: a valid token for an identity outside the configured
	// tenants or domains.
	ErrNotAllowed = errors.New("providers: identity not allowed")
	// ErrConfig: the provider's configuration cannot work.
	ErrConfig = errors.New("providers: bad configuration")
)

// Provider is one configured identity provider.
type Provider interface {
	// ID is the configured id, used in URLs and in the sign-in method sso:ID.
	ID() string
	DisplayName() string
	// AuthCodeURL is where the browser is sent to sign in; it carries state,
	// nonce and the PKCE S256 challenge of pkceVerifier.
	AuthCodeURL(state, nonce, pkceVerifier string) (string, error)
	// Exchange redeems the code and returns the verified identity.
	Exchange(ctx context.Context, code, pkceVerifier, nonce string) (*Identity, error)
	Status() Status
}

// LogoutProvider is implemented by providers with an RP-initiated logout
// endpoint. ok is false when the provider has none.
type LogoutProvider interface {
	EndSessionURL(idTokenHint, postLogoutRedirect string) (url string, ok bool)
}

// IssuerChecker lets the callback refuse an authorization response whose
// RFC 9207 `iss` parameter names another issuer, before the code is redeemed.
type IssuerChecker interface {
	// ExpectedIssuer is the issuer as discovered; it may hold a "{tenantid}"
	// placeholder (Microsoft's multi-tenant endpoints). Compare with IssuerMatches.
	ExpectedIssuer() string
	// IssuerParameterRequired reports whether the provider advertised
	// authorization_response_iss_parameter_supported, in which case a missing
	// `iss` is itself a sign of a mix-up.
	IssuerParameterRequired() bool
}

// Identity is what a provider vouches for after a successful sign-in.
type Identity struct {
	// Subject is the stable key of the link: the token's sub, or for
	// Microsoft "tid:oid".
	Subject       string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	Locale        string
	// Roles are gatehouse role names, already translated by role_map;
	// provider roles without a mapping are dropped.
	Roles []string
	// MultiFactor: the provider vouches that more than one factor was
	// used (the ID token's amr names mfa, or the provider is configured
	// as enforcing MFA itself).
	MultiFactor bool
	// SID is the provider's session id (the ID token's sid), which a
	// back-channel logout token may name; empty when the provider sent none.
	SID     string
	IDToken string // raw, kept for id_token_hint at logout
	Issuer  string
	Claims  map[string]any
}

// Provider states reported by Status.
const (
	StateReady       = "ready"
	StateUnavailable = "unavailable"
)

// Status is a provider's health as the admin API shows it.
type Status struct {
	State     string    // StateReady or StateUnavailable
	Issuer    string    // the configured issuer
	LastError string    // the last discovery error; empty when ready
	CheckedAt time.Time // when discovery was last attempted
}

// Options are the resolved values and collaborators a provider needs
// besides its config section.
type Options struct {
	ClientSecret string // already resolved from env:/file:
	RedirectURL  string // {public_url}/.gatehouse/sso/{id}/callback
	HTTPClient   *http.Client
	Now          func() time.Time
	Logger       *slog.Logger
	// After waits before a discovery retry; nil means time.After. Tests
	// inject a channel they control so nothing sleeps.
	After func(time.Duration) <-chan time.Time
}

// IssuerMatches compares an issuer with the expected one exactly, except
// that a "{tenantid}" placeholder in expected stands for one non-empty path
// segment.
func IssuerMatches(expected, got string) bool {
	before, after, ok := strings.Cut(expected, "{tenantid}")
	if !ok {
		return got == expected
	}
	if len(got) <= len(before)+len(after) || !strings.HasPrefix(got, before) || !strings.HasSuffix(got, after) {
		return false
	}
	tenant := got[len(before) : len(got)-len(after)]
	return tenant != "" && !strings.ContainsAny(tenant, "/?#{}")
}

// emailDomain returns the lower-cased domain of an address, "" when there is none.
func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 || i == len(email)-1 {
		return ""
	}
	return strings.ToLower(email[i+1:])
}

// domainAllowed reports whether domain is in the allow-list (case-insensitive).
func domainAllowed(allowed []string, domain string) bool {
	if domain == "" {
		return false
	}
	return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, domain) })
}
