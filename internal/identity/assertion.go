package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Grant is a capability on tagged objects, from an access rule that matched.
type Grant struct {
	Capability string `json:"capability"`
	Tag        string `json:"tag"`
}

// Claims is the payload of X-Gatehouse-Assertion, named as in the contract.
// Lists and props are always encoded as [] and {}, never null, so apps can
// iterate without checks.
type Claims struct {
	Issuer         string         `json:"iss"`
	Audience       string         `json:"aud"`
	Subject        string         `json:"sub"`
	IssuedAt       int64          `json:"iat"` // unix seconds
	Expiry         int64          `json:"exp"` // unix seconds
	Email          string         `json:"email"`
	GivenName      string         `json:"given_name"`
	FamilyName     string         `json:"family_name"`
	Name           string         `json:"name"`
	Locale         string         `json:"locale"`
	Role           string         `json:"role"`
	Capabilities   []string       `json:"capabilities"`
	SharedComputer bool           `json:"shared_computer"`
	Company        string         `json:"company"`
	Sites          []string       `json:"sites"`
	Props          map[string]any `json:"props"`
	Grants         []Grant        `json:"grants"`
	AMR            []string       `json:"amr"`
	AuthTime       int64          `json:"auth_time"` // unix seconds: when the session last authenticated
	IDP            string         `json:"idp"`
	SessionID      string         `json:"sid"`
}

// withEmptyCollections replaces nil lists and maps by empty ones.
func (c Claims) withEmptyCollections() Claims {
	if c.Capabilities == nil {
		c.Capabilities = []string{}
	}
	if c.Sites == nil {
		c.Sites = []string{}
	}
	if c.Props == nil {
		c.Props = map[string]any{}
	}
	if c.Grants == nil {
		c.Grants = []Grant{}
	}
	if c.AMR == nil {
		c.AMR = []string{}
	}
	return c
}

// Signer turns Claims into signed assertions with the keyring's current key.
type Signer struct {
	keyring *Keyring
	issuer  string
	ttl     time.Duration
	now     func() time.Time
}

// NewSigner returns a signer for issuer (public_url; a trailing slash is
// dropped). ttl is clamped to (0, MaxAssertionTTL]; zero or less means the maximum.
func NewSigner(k *Keyring, issuer string, ttl time.Duration, now func() time.Time) *Signer {
	if ttl <= 0 || ttl > MaxAssertionTTL {
		ttl = MaxAssertionTTL
	}
	if ttl < time.Second {
		ttl = time.Second // exp and iat are whole seconds
	}
	return &Signer{keyring: k, issuer: strings.TrimRight(issuer, "/"), ttl: ttl, now: now}
}

// TTL returns the lifetime given to assertions.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Sign fills iss, iat and exp and signs c with the key signing now.
func (s *Signer) Sign(c Claims) (string, error) {
	token, _, _, err := s.sign(c)
	return token, err
}

// sign also returns the kid used and the expiry, for the cache.
func (s *Signer) sign(c Claims) (token, kid string, exp time.Time, err error) {
	now := s.now()
	k, err := s.keyring.signingKey(now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	iat := now.Unix()
	c = c.withEmptyCollections()
	c.Issuer = s.issuer
	c.IssuedAt = iat
	c.Expiry = iat + int64(s.ttl/time.Second)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("identity: encode claims: %w", err)
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("identity: sign: %w", err)
	}
	token, err = jws.CompactSerialize()
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("identity: serialize: %w", err)
	}
	return token, k.id, time.Unix(c.Expiry, 0), nil
}

// ErrInvalidAssertion is returned by Verify for any token that must not be trusted.
var ErrInvalidAssertion = errors.New("identity: invalid assertion")

// Verify checks an assertion the way an app behind the gateway should: ES256
// only, a kid found in jwks, the signature, iss, aud, and exp/iat at now
// (with leeway for clock skew). It serves the demo upstream and tests.
func Verify(token string, jwks []byte, issuer, audience string, now time.Time, leeway time.Duration) (Claims, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return Claims{}, fmt.Errorf("%w: JWKS: %v", ErrInvalidAssertion, err)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidAssertion, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return Claims{}, fmt.Errorf("%w: no kid", ErrInvalidAssertion)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return Claims{}, fmt.Errorf("%w: unknown kid", ErrInvalidAssertion)
	}
	var std jwt.Claims
	var c Claims
	if err := tok.Claims(keys[0].Key, &std, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidAssertion, err)
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: missing exp or iat", ErrInvalidAssertion)
	}
	exp := jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: now}
	if err := std.ValidateWithLeeway(exp, leeway); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidAssertion, err)
	}
	return c, nil
}
