package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// checkTimeout bounds each fetch of Check, so a save never hangs on a
// provider that does not answer.
const checkTimeout = 5 * time.Second

// CheckResult is what Check learnt, for the providers page: the discovery
// document's issuer and whether discovery and the JWKS answered.
type CheckResult struct {
	Problems        []Problem
	Issuer          string // as discovered
	DiscoveryOK     bool
	JWKSOK          bool
	JWKSAlgorithms  []string // allowed algorithms the JWKS has keys for
	DiscoveryDetail string   // why discovery failed, "" when it answered
	JWKSDetail      string   // why the JWKS failed, "" when it answered
}

// Check fetches what a provider entry points at, the way an administrator
// saving it from the panel expects it to be judged before any employee
// meets it: the discovery document must answer and name exactly the
// configured issuer (Microsoft's shared endpoints: the {tenantid} form);
// its endpoints must be https, except on loopback; the JWKS must answer
// with a key for an allowed algorithm (asymmetric only); and the vendor
// rules hold (a Microsoft shared endpoint needs allowed_tenants, Google
// needs allowed_domains). Every problem is returned, each at the entry's
// key it is about; "jwks_uri" stands for the key set the issuer advertises.
// The entry's own rules (Validate, the configuration's checks) are the
// caller's: Check is what only the network can tell.
func Check(ctx context.Context, cfg Config, client *http.Client) CheckResult {
	var res CheckResult
	add := func(key, format string, args ...any) {
		res.Problems = append(res.Problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if cfg.Type == "google" && len(cfg.AllowedDomains) == 0 {
		add("allowed_domains", "required for Google: otherwise any Google account, personal ones included, could sign in")
	}
	if client == nil {
		client = http.DefaultClient
	}
	issuer := cfg.Issuer
	if u, err := url.Parse(issuer); err != nil || !u.IsAbs() || u.Host == "" {
		add("issuer", "not an absolute URL")
		return res
	} else if !secureEndpoint(u) {
		add("issuer", "must be https (plain http only on a loopback address)")
		return res
	}

	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var m metadata
	if err := fetchJSON(ctx, client, wellKnown, &m); err != nil {
		res.DiscoveryDetail = err.Error()
		add("issuer", "the discovery document %s did not answer: %v", wellKnown, err)
		return res
	}
	res.DiscoveryOK = true
	res.Issuer = m.Issuer
	multi := cfg.Type == "microsoft" && microsoftMultiTenant(issuer)
	switch {
	case multi && !(strings.Contains(m.Issuer, "{tenantid}") && IssuerMatches(m.Issuer, issuer)):
		add("issuer", "the discovery document names the issuer %q, which does not match %q", m.Issuer, issuer)
	case !multi && m.Issuer != issuer:
		add("issuer", "the discovery document names the issuer %q, not %q (issuers must match exactly, trailing slash included)", m.Issuer, issuer)
	}
	if multi && len(cfg.AllowedTenants) == 0 {
		add("allowed_tenants", "required with a multi-tenant issuer: otherwise any Microsoft tenant could sign in")
	}
	for _, ep := range []struct{ name, raw string }{
		{"authorization_endpoint", m.AuthURL}, {"token_endpoint", m.TokenURL}, {"jwks_uri", m.JWKSURL}, {"end_session_endpoint", m.EndSessionURL},
	} {
		if ep.raw == "" {
			if ep.name != "end_session_endpoint" {
				add("issuer", "the discovery document has no %s", ep.name)
			}
			continue
		}
		if u, err := url.Parse(ep.raw); err != nil || !u.IsAbs() || !secureEndpoint(u) {
			add("issuer", "the discovery document's %s %q is not https", ep.name, ep.raw)
		}
	}
	if len(m.CodeChallengeTypes) > 0 && !slices.Contains(m.CodeChallengeTypes, "S256") {
		add("issuer", "the provider does not support PKCE S256")
	}
	algs := signingAlgorithms()
	if len(m.SigningAlgorithms) > 0 {
		algs = slices.DeleteFunc(algs, func(a string) bool { return !slices.Contains(m.SigningAlgorithms, a) })
		if len(algs) == 0 {
			add("issuer", "the provider signs ID tokens only with %v, none of which is allowed (%v)", m.SigningAlgorithms, signingAlgorithms())
		}
	}
	if m.JWKSURL == "" {
		return res
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			Crv string `json:"crv"`
		} `json:"keys"`
	}
	if err := fetchJSON(ctx, client, m.JWKSURL, &set); err != nil {
		res.JWKSDetail = err.Error()
		add("jwks_uri", "the key set %s did not answer: %v", m.JWKSURL, err)
		return res
	}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		for _, a := range keyAlgorithms(k.Kty, k.Alg, k.Crv) {
			if slices.Contains(algs, a) && !slices.Contains(res.JWKSAlgorithms, a) {
				res.JWKSAlgorithms = append(res.JWKSAlgorithms, a)
			}
		}
	}
	if len(res.JWKSAlgorithms) == 0 {
		res.JWKSDetail = "no signing key for an allowed algorithm"
		add("jwks_uri", "the key set %s has no signing key for an allowed algorithm (%v)", m.JWKSURL, algs)
		return res
	}
	res.JWKSOK = true
	return res
}

// keyAlgorithms are the algorithms a JWK may verify: its alg when it
// names one, else those its key type allows.
func keyAlgorithms(kty, alg, crv string) []string {
	if alg != "" {
		return []string{alg}
	}
	switch kty {
	case "RSA":
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		switch crv {
		case "P-256":
			return []string{"ES256"}
		case "P-384":
			return []string{"ES384"}
		case "P-521":
			return []string{"ES512"}
		}
	case "OKP":
		return []string{"EdDSA"}
	}
	return nil
}

// secureEndpoint: https, or http on a loopback host (a local test IdP).
func secureEndpoint(u *url.URL) bool {
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func fetchJSON(ctx context.Context, client *http.Client, target string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}
