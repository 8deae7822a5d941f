package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// BackChannelEvent is the member of a logout token's events claim that
// makes it one (OpenID Connect Back-Channel Logout 1.0, section 2.4).
const BackChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

const (
	// LogoutTokenMaxAge bounds how old a logout token without exp may be.
	LogoutTokenMaxAge = 5 * time.Minute
	// maxJTI bounds the jti the gateway stores to refuse replays.
	maxJTI = 256
	// maxLogoutID bounds sid and sub, which are only compared.
	maxLogoutID = 1024
	// maxUnixSeconds is far beyond any real time (year 33658).
	maxUnixSeconds = 1e12
)

// ErrInvalidLogoutToken: a back-channel logout token failed a check; the
// provider gets 400 and nothing changes.
var ErrInvalidLogoutToken = errors.New("providers: invalid logout token")

// BackChannelLogoutProvider is implemented by providers whose logout
// tokens the gateway can verify.
type BackChannelLogoutProvider interface {
	// VerifyLogoutToken checks a logout token as strictly as an ID token
	// (signature with a key from the provider's JWKS and an allowed
	// algorithm, iss, aud, iat, exp) plus the logout token's own rules.
	// It does not judge whether the jti was seen before: the caller keeps
	// that in the store, until LogoutToken.ReplayUntil.
	VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error)
}

var _ BackChannelLogoutProvider = (*OIDC)(nil)

// LogoutToken is what a verified logout token asks for: end the sessions
// of provider session SID, or, without one, every session of Subject.
type LogoutToken struct {
	// SID is the provider's session id; empty when the token names none.
	SID string
	// Subject is the identity link's key, as Identity.Subject (for
	// Microsoft "tid:oid"); empty when the token names none.
	Subject string
	JTI     string
	// ReplayUntil is when the token can no longer be accepted anyway, so
	// its jti need not be remembered longer.
	ReplayUntil time.Time
}

// logoutClaims are the logout token's own claims, checked by
// parseLogoutClaims.
type logoutClaims struct {
	Subject string
	SID     string
	JTI     string
	AZP     string
	HasExp  bool
	// NotBefore is nbf (zero when absent), which go-oidc checks only
	// together with exp.
	NotBefore time.Time
}

// parseLogoutClaims checks the rules that belong to a logout token and
// not to an ID token: an events object holding the back-channel logout
// event (itself an object), a sid or a sub (strings), a jti, and no nonce,
// so an ID token can never pass for a logout token. Signature, issuer,
// audience and times are checked elsewhere.
func parseLogoutClaims(payload []byte) (logoutClaims, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return logoutClaims{}, fmt.Errorf("claims are not a JSON object: %v", err)
	}
	if raw == nil {
		return logoutClaims{}, errors.New("claims are not a JSON object")
	}
	if _, ok := raw["nonce"]; ok {
		return logoutClaims{}, errors.New("a logout token must not carry a nonce")
	}
	ev, ok := raw["events"]
	if !ok {
		return logoutClaims{}, errors.New("no events claim")
	}
	var events map[string]json.RawMessage
	if err := json.Unmarshal(ev, &events); err != nil || events == nil {
		return logoutClaims{}, errors.New("events is not a JSON object")
	}
	member, ok := events[BackChannelEvent]
	if !ok {
		return logoutClaims{}, errors.New("events lacks the back-channel logout event")
	}
	if !isJSONObject(member) {
		return logoutClaims{}, errors.New("the back-channel logout event is not a JSON object")
	}
	var c logoutClaims
	var err error
	if c.Subject, err = optionalString(raw, "sub", maxLogoutID); err != nil {
		return logoutClaims{}, err
	}
	if c.SID, err = optionalString(raw, "sid", maxLogoutID); err != nil {
		return logoutClaims{}, err
	}
	if c.Subject == "" && c.SID == "" {
		return logoutClaims{}, errors.New("neither sid nor sub")
	}
	if c.JTI, err = optionalString(raw, "jti", maxJTI); err != nil {
		return logoutClaims{}, err
	}
	if c.JTI == "" {
		return logoutClaims{}, errors.New("no jti")
	}
	if c.AZP, err = optionalString(raw, "azp", maxLogoutID); err != nil {
		return logoutClaims{}, err
	}
	_, c.HasExp = raw["exp"]
	if v, ok := raw["nbf"]; ok {
		var nbf float64
		// Bounded so the conversion below cannot overflow into the past.
		if err := json.Unmarshal(v, &nbf); err != nil || nbf < 0 || nbf > maxUnixSeconds {
			return logoutClaims{}, errors.New("nbf is not a time")
		}
		c.NotBefore = time.Unix(int64(nbf), 0)
	}
	return c, nil
}

// isJSONObject reports whether v is a JSON object (possibly empty).
func isJSONObject(v json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(v, &m) == nil && m != nil && bytes.HasPrefix(bytes.TrimSpace(v), []byte("{"))
}

// optionalString reads claim name: absent gives "", anything but a
// string of at most max bytes is an error.
func optionalString(raw map[string]json.RawMessage, name string, max int) (string, error) {
	v, ok := raw[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", name)
	}
	if len(s) > max {
		return "", fmt.Errorf("%s is longer than %d bytes", name, max)
	}
	return s, nil
}

func invalidLogout(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidLogoutToken, fmt.Sprintf(format, args...))
}

// VerifyLogoutToken implements BackChannelLogoutProvider.
func (p *OIDC) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	d := p.discovered()
	if d == nil {
		return nil, p.unavailable()
	}
	t, err := verifySignature(ctx, d, raw, true)
	if err != nil {
		return nil, invalidLogout("%v", err)
	}
	var payload json.RawMessage
	if err := t.Claims(&payload); err != nil {
		return nil, invalidLogout("claims: %v", err)
	}
	c, err := parseLogoutClaims(payload)
	if err != nil {
		return nil, invalidLogout("%v", err)
	}
	if t.Nonce != "" {
		// go-oidc matched a nonce claim spelled in another case.
		return nil, invalidLogout("a logout token must not carry a nonce")
	}
	var all map[string]any
	if err := t.Claims(&all); err != nil {
		return nil, invalidLogout("claims: %v", err)
	}
	issuerOK := p.hooks.tokenIssuerOK
	if issuerOK == nil {
		issuerOK = func(discovered, got string, _ map[string]any) bool { return got == discovered }
	}
	if !issuerOK(d.issuer, t.Issuer, all) {
		return nil, invalidLogout("issuer %q, expected %q", t.Issuer, d.issuer)
	}
	if len(t.Audience) > 1 && c.AZP != p.clientID {
		return nil, invalidLogout("several audiences and azp %q is not our client id", c.AZP)
	}
	if c.AZP != "" && c.AZP != p.clientID {
		return nil, invalidLogout("azp %q is not our client id", c.AZP)
	}
	now := p.now()
	if t.IssuedAt.IsZero() {
		return nil, invalidLogout("no iat")
	}
	if t.IssuedAt.After(now.Add(clockSkew)) {
		return nil, invalidLogout("iat %s is in the future", t.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(clockSkew)) {
		return nil, invalidLogout("nbf %s is in the future", c.NotBefore.UTC().Format(time.RFC3339))
	}
	var until time.Time
	if c.HasExp {
		if t.Expiry.IsZero() || !now.Before(t.Expiry.Add(clockSkew)) {
			return nil, invalidLogout("expired at %s", t.Expiry.UTC().Format(time.RFC3339))
		}
		until = t.Expiry.Add(clockSkew)
	} else {
		until = t.IssuedAt.Add(LogoutTokenMaxAge + clockSkew)
		if !now.Before(until) {
			return nil, invalidLogout("no exp, and iat %s is older than %s", t.IssuedAt.UTC().Format(time.RFC3339), LogoutTokenMaxAge)
		}
	}
	subject := c.Subject
	if subject != "" && p.hooks.logoutSubject != nil {
		subject = p.hooks.logoutSubject(subject, all)
	}
	if subject == "" && c.SID == "" {
		return nil, invalidLogout("the subject cannot be mapped to an identity and there is no sid")
	}
	return &LogoutToken{SID: c.SID, Subject: subject, JTI: c.JTI, ReplayUntil: until}, nil
}
