package providers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// clockSkew is the most a provider's clock may differ from ours, for
	// exp and iat alike.
	clockSkew = 2 * time.Minute
	// Discovery retries back off from firstRetry up to maxRetry, so a provider
	// that comes back is noticed within a minute.
	firstRetry = time.Second
	maxRetry   = time.Minute
	// discoveryTimeout bounds one discovery attempt when the HTTP client has
	// no timeout of its own.
	discoveryTimeout = 10 * time.Second
	maxDiscoveryBody = 1 << 20
)

// signingAlgorithms is the allow-list for ID token signatures: asymmetric
// only, so never "none" and never an HMAC keyed with a public key.
func signingAlgorithms() []string {
	return []string{
		oidc.RS256, oidc.RS384, oidc.RS512,
		oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512,
		oidc.EdDSA,
	}
}

// hooks are what a vendor file changes in the generic flow. Nil fields take
// the generic behaviour.
type hooks struct {
	// discoveredIssuerOK accepts the issuer the discovery document advertises.
	discoveredIssuerOK func(configured, discovered string) bool
	// tokenIssuerOK accepts a token's iss; discovered is the advertised issuer.
	tokenIssuerOK func(discovered, got string, claims map[string]any) bool
	// finish applies vendor checks (tenant, domain) and vendor claim shapes.
	finish func(id *Identity, claims map[string]any) error
	// logoutSubject turns a logout token's sub into the identity link's
	// key (Identity.Subject); "" when it cannot.
	logoutSubject func(sub string, claims map[string]any) string
	// endSession builds the logout URL when discovery has none.
	endSession func(d *discovery, idTokenHint, postLogoutRedirect string) (string, bool)
}

// OIDC is a generic OpenID Connect provider (authorization code flow with
// PKCE S256). Vendor constructors return it with their hooks set.
type OIDC struct {
	id             string
	displayName    string
	issuer         string // as configured
	clientID       string
	clientSecret   string
	redirectURL    string
	scopes         []string
	allowedDomains []string
	rolesClaim     string
	roleMap        map[string]string
	mfaEnforced    bool // the provider requires a second factor itself
	client         *http.Client
	now            func() time.Time
	log            *slog.Logger
	after          func(time.Duration) <-chan time.Time
	hooks          hooks

	ready     chan struct{}
	readyOnce sync.Once

	mu     sync.RWMutex
	disc   *discovery // nil until discovery succeeds
	status Status
}

var (
	_ Provider       = (*OIDC)(nil)
	_ LogoutProvider = (*OIDC)(nil)
	_ IssuerChecker  = (*OIDC)(nil)
)

// discovery is what the provider's metadata document told us.
type discovery struct {
	issuer   string // as advertised; may hold "{tenantid}"
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	// logoutVerifier shares verifier's key set but leaves exp to
	// VerifyLogoutToken, since a logout token may lack one.
	logoutVerifier *oidc.IDTokenVerifier
	// newVerifier makes a verifier (logout: for logout tokens) with a key
	// set of its own, for the one retry after a signature failure (see
	// verifySignature).
	newVerifier func(logout bool) *oidc.IDTokenVerifier
	endSession  string
	issParam    bool
}

// oidcKind is the generic type, for any provider that keeps to the standard.
var oidcKind = Kind{Type: "oidc", New: newGeneric}

// newGeneric builds a generic OIDC provider (type "oidc").
func newGeneric(ctx context.Context, cfg Config, opts Options) (Provider, error) {
	return newOIDC(ctx, cfg, opts, hooks{})
}

func newOIDC(ctx context.Context, cfg Config, opts Options, h hooks) (*OIDC, error) {
	var problems []string
	if cfg.ID == "" {
		problems = append(problems, "id is empty")
	}
	if cfg.ClientID == "" {
		problems = append(problems, "client_id is empty")
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, fmt.Sprintf("issuer %q is not an absolute URL", cfg.Issuer))
	}
	if opts.RedirectURL == "" {
		problems = append(problems, "no redirect URL")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: provider %q: %s", ErrConfig, cfg.ID, strings.Join(problems, "; "))
	}
	p := &OIDC{
		id:             cfg.ID,
		displayName:    cfg.DisplayName,
		issuer:         cfg.Issuer,
		clientID:       cfg.ClientID,
		clientSecret:   opts.ClientSecret,
		redirectURL:    opts.RedirectURL,
		scopes:         scopesWithOpenID(cfg.Scopes),
		allowedDomains: cfg.AllowedDomains,
		rolesClaim:     cfg.RolesClaim,
		roleMap:        cfg.RoleMap,
		mfaEnforced:    cfg.MFA == MFAEnforced,
		client:         opts.HTTPClient,
		now:            opts.Now,
		log:            opts.Logger,
		after:          opts.After,
		hooks:          h,
		ready:          make(chan struct{}),
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: discoveryTimeout}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.after == nil {
		p.after = time.After
	}
	p.status = Status{State: StateUnavailable, Issuer: p.issuer, LastError: "discovery not attempted yet"}
	if err := p.discover(ctx); err != nil {
		p.log.Warn("identity provider discovery failed; retrying in the background",
			"provider", p.id, "issuer", p.issuer, "err", err)
		go p.retry(ctx)
	}
	return p, nil
}

func scopesWithOpenID(scopes []string) []string {
	if len(scopes) == 0 {
		return defaultScopes()
	}
	if slices.Contains(scopes, oidc.ScopeOpenID) {
		return slices.Clone(scopes)
	}
	return append([]string{oidc.ScopeOpenID}, scopes...)
}

// retry keeps trying discovery with backoff until it works or ctx ends.
func (p *OIDC) retry(ctx context.Context) {
	wait := firstRetry
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.after(wait):
		}
		err := p.discover(ctx)
		if err == nil {
			p.log.Info("identity provider discovered", "provider", p.id, "issuer", p.issuer)
			return
		}
		p.log.Warn("identity provider discovery failed", "provider", p.id, "err", err, "retry_in", wait)
		wait = min(2*wait, maxRetry)
	}
}

type metadata struct {
	Issuer             string   `json:"issuer"`
	AuthURL            string   `json:"authorization_endpoint"`
	TokenURL           string   `json:"token_endpoint"`
	JWKSURL            string   `json:"jwks_uri"`
	EndSessionURL      string   `json:"end_session_endpoint"`
	IssParamSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	SigningAlgorithms  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeTypes []string `json:"code_challenge_methods_supported"`
}

// discover loads the metadata document and, on success, makes the provider
// ready. Its outcome is recorded in Status either way.
func (p *OIDC) discover(ctx context.Context) error {
	d, err := p.fetchDiscovery(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.CheckedAt = p.now()
	if err != nil {
		p.status.State = StateUnavailable
		p.status.LastError = err.Error()
		return err
	}
	p.disc = d
	p.status.State = StateReady
	p.status.LastError = ""
	p.readyOnce.Do(func() { close(p.ready) })
	return nil
}

func (p *OIDC) fetchDiscovery(ctx context.Context) (*discovery, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	wellKnown := strings.TrimSuffix(p.issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody))
	if err != nil {
		return nil, fmt.Errorf("discovery: reading %s: %w", wellKnown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered %s", wellKnown, resp.Status)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("discovery: %s: %w", wellKnown, err)
	}
	issuerOK := p.hooks.discoveredIssuerOK
	if issuerOK == nil {
		issuerOK = func(configured, discovered string) bool { return configured == discovered }
	}
	if !issuerOK(p.issuer, m.Issuer) {
		// Issuers compare exactly (a trailing slash matters); a mismatch means
		// the configured issuer is wrong, and accepting it would weaken every
		// later token check.
		return nil, fmt.Errorf("discovery: issuer is %q, configured %q", m.Issuer, p.issuer)
	}
	if m.AuthURL == "" || m.TokenURL == "" || m.JWKSURL == "" {
		return nil, fmt.Errorf("discovery: %s lacks an authorization, token or jwks endpoint", wellKnown)
	}
	if len(m.CodeChallengeTypes) > 0 && !slices.Contains(m.CodeChallengeTypes, "S256") {
		return nil, fmt.Errorf("discovery: provider does not support PKCE S256")
	}
	algs := signingAlgorithms()
	if len(m.SigningAlgorithms) > 0 {
		algs = slices.DeleteFunc(algs, func(a string) bool { return !slices.Contains(m.SigningAlgorithms, a) })
		if len(algs) == 0 {
			return nil, fmt.Errorf("discovery: no acceptable ID token algorithm among %v", m.SigningAlgorithms)
		}
	}
	// The key set refetches the JWKS whenever a token names a kid it has not
	// seen, so a provider's new signing key is used without a restart.
	keyCtx := oidc.ClientContext(context.WithoutCancel(ctx), p.client)
	withKeys := func(keys oidc.KeySet, logout bool) *oidc.IDTokenVerifier {
		return oidc.NewVerifier(m.Issuer, keys, &oidc.Config{
			ClientID:             p.clientID,
			SupportedSigningAlgs: algs,
			// The issuer is compared by verify, which knows the vendor's
			// shape (Microsoft's {tenantid}); go-oidc would only compare
			// literally.
			SkipIssuerCheck: true,
			// A logout token's exp is optional; VerifyLogoutToken judges it.
			SkipExpiryCheck: logout,
			// go-oidc refuses tokens with exp before Now; shifting Now back
			// grants the clock skew.
			Now: func() time.Time { return p.now().Add(-clockSkew) },
		})
	}
	keys := oidc.NewRemoteKeySet(keyCtx, m.JWKSURL)
	newVerifier := func(logout bool) *oidc.IDTokenVerifier {
		return withKeys(oidc.NewRemoteKeySet(keyCtx, m.JWKSURL), logout)
	}
	return &discovery{
		issuer: m.Issuer,
		oauth: oauth2.Config{
			ClientID:     p.clientID,
			ClientSecret: p.clientSecret,
			RedirectURL:  p.redirectURL,
			Scopes:       p.scopes,
			Endpoint:     oauth2.Endpoint{AuthURL: m.AuthURL, TokenURL: m.TokenURL},
		},
		verifier:       withKeys(keys, false),
		logoutVerifier: withKeys(keys, true),
		newVerifier:    newVerifier,
		endSession:     m.EndSessionURL,
		issParam:       m.IssParamSupported,
	}, nil
}

func (p *OIDC) discovered() *discovery {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.disc
}

// ID implements Provider.
func (p *OIDC) ID() string { return p.id }

// DisplayName implements Provider.
func (p *OIDC) DisplayName() string { return p.displayName }

// Status implements Provider.
func (p *OIDC) Status() Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.status
}

// Ready is closed once discovery has succeeded.
func (p *OIDC) Ready() <-chan struct{} { return p.ready }

// ExpectedIssuer implements IssuerChecker.
func (p *OIDC) ExpectedIssuer() string {
	if d := p.discovered(); d != nil {
		return d.issuer
	}
	return p.issuer
}

// IssuerParameterRequired implements IssuerChecker.
func (p *OIDC) IssuerParameterRequired() bool {
	d := p.discovered()
	return d != nil && d.issParam
}

func (p *OIDC) unavailable() error {
	st := p.Status()
	return fmt.Errorf("%w: %s: %s", ErrUnavailable, p.id, st.LastError)
}

// AuthCodeURL implements Provider.
func (p *OIDC) AuthCodeURL(state, nonce, pkceVerifier string) (string, error) {
	d := p.discovered()
	if d == nil {
		return "", p.unavailable()
	}
	return d.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkceVerifier)), nil
}

// Exchange implements Provider.
func (p *OIDC) Exchange(ctx context.Context, code, pkceVerifier, nonce string) (*Identity, error) {
	d := p.discovered()
	if d == nil {
		return nil, p.unavailable()
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExchange, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrInvalidToken)
	}
	return p.verify(ctx, d, raw, nonce)
}

// standardClaims are the claims every vendor shares.
type standardClaims struct {
	AZP           string   `json:"azp"`
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	Name          string   `json:"name"`
	Locale        string   `json:"locale"`
}

// flexBool accepts true and "true": some providers send booleans as strings.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// verify runs every ID token check go-oidc leaves to its caller (issuer
// shape, iat, azp, nonce, sub) after go-oidc's own (signature with an
// allowed algorithm, audience, exp).
func (p *OIDC) verify(ctx context.Context, d *discovery, raw, nonce string) (*Identity, error) {
	t, err := verifySignature(ctx, d, raw, false)
	if err != nil {
		return nil, invalid("%v", err)
	}
	var std standardClaims
	var all map[string]any
	if err := t.Claims(&std); err != nil {
		return nil, invalid("claims: %v", err)
	}
	if err := t.Claims(&all); err != nil {
		return nil, invalid("claims: %v", err)
	}
	issuerOK := p.hooks.tokenIssuerOK
	if issuerOK == nil {
		issuerOK = func(discovered, got string, _ map[string]any) bool { return got == discovered }
	}
	if !issuerOK(d.issuer, t.Issuer, all) {
		return nil, invalid("issuer %q, expected %q", t.Issuer, d.issuer)
	}
	now := p.now()
	if t.IssuedAt.IsZero() {
		return nil, invalid("no iat")
	}
	if t.IssuedAt.After(now.Add(clockSkew)) {
		return nil, invalid("iat %s is in the future", t.IssuedAt.UTC().Format(time.RFC3339))
	}
	// With several audiences the token may have been issued to another
	// client that merely lists us; azp says who actually asked for it.
	if len(t.Audience) > 1 && std.AZP != p.clientID {
		return nil, invalid("several audiences and azp %q is not our client id", std.AZP)
	}
	if std.AZP != "" && std.AZP != p.clientID {
		return nil, invalid("azp %q is not our client id", std.AZP)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return nil, invalid("nonce does not match")
	}
	if t.Subject == "" {
		return nil, invalid("no sub")
	}
	// A sid of another type is ignored rather than failing the sign-in:
	// it only serves back-channel logout.
	sid, _ := all["sid"].(string)
	id := &Identity{
		Subject:       t.Subject,
		Email:         std.Email,
		EmailVerified: bool(std.EmailVerified),
		GivenName:     std.GivenName,
		FamilyName:    std.FamilyName,
		Name:          std.Name,
		Locale:        std.Locale,
		Roles:         p.mapRoles(all),
		MultiFactor:   p.mfaEnforced || tokenSaysMFA(all),
		SID:           sid,
		IDToken:       raw,
		Issuer:        t.Issuer,
		Claims:        all,
	}
	finish := p.hooks.finish
	if finish == nil {
		finish = p.checkEmailDomain
	}
	if err := finish(id, all); err != nil {
		return nil, err
	}
	return id, nil
}

// tokenSaysMFA reports whether the ID token's amr (RFC 8176) names mfa:
// Entra ID and Auth0 add it when the person used a second factor. Google
// sends no amr; a Workspace that enforces 2-step verification is
// configured with mfa: enforced instead.
func tokenSaysMFA(claims map[string]any) bool {
	amr, _ := claims["amr"].([]any)
	for _, m := range amr {
		if m == "mfa" {
			return true
		}
	}
	return false
}

// verifySignature runs go-oidc's checks (signature with an allowed
// algorithm, audience and, unless logout, exp).
func verifySignature(ctx context.Context, d *discovery, raw string, logout bool) (*oidc.IDToken, error) {
	v := d.verifier
	if logout {
		v = d.logoutVerifier
	}
	t, err := v.Verify(ctx, raw)
	if err != nil && strings.Contains(err.Error(), "failed to verify signature") {
		// go-oidc's key set shares one in-flight JWKS fetch among callers,
		// and one that arrives as a fetch completes can be handed that
		// fetch's keys, from before a rotation. A fresh key set fetches
		// anew; once, and only for a signature failure.
		t, err = d.newVerifier(logout).Verify(ctx, raw)
	}
	return t, err
}

// checkEmailDomain restricts sign-in to allowed_domains, when set.
func (p *OIDC) checkEmailDomain(id *Identity, _ map[string]any) error {
	if len(p.allowedDomains) == 0 {
		return nil
	}
	if !domainAllowed(p.allowedDomains, emailDomain(id.Email)) {
		return fmt.Errorf("%w: email domain %q is not in allowed_domains", ErrNotAllowed, emailDomain(id.Email))
	}
	return nil
}

// mapRoles reads roles_claim and keeps only the roles role_map translates,
// so a provider role never becomes a gatehouse role by coincidence of name.
func (p *OIDC) mapRoles(claims map[string]any) []string {
	if p.rolesClaim == "" {
		return nil
	}
	var names []string
	switch v := claims[p.rolesClaim].(type) {
	case string:
		names = strings.Fields(v)
	case []any:
		for _, r := range v {
			if s, ok := r.(string); ok {
				names = append(names, s)
			}
		}
	}
	var roles []string
	for _, n := range names {
		if r, ok := p.roleMap[n]; ok && r != "" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles
}

// EndSessionURL implements LogoutProvider with RP-initiated logout.
func (p *OIDC) EndSessionURL(idTokenHint, postLogoutRedirect string) (string, bool) {
	d := p.discovered()
	if d == nil {
		return "", false
	}
	if d.endSession == "" {
		if p.hooks.endSession != nil {
			return p.hooks.endSession(d, idTokenHint, postLogoutRedirect)
		}
		return "", false
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return "", false
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirect != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirect)
	}
	q.Set("client_id", p.clientID)
	u.RawQuery = q.Encode()
	return u.String(), true
}
