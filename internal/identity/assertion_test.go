package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func mustSign(t *testing.T, s *Signer) string {
	t.Helper()
	tok, err := s.Sign(Claims{Audience: "app", Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func headerKid(t *testing.T, token string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func lastOldExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(payload(t, token), &c); err != nil {
		t.Fatal(err)
	}
	return time.Unix(int64(c["exp"].(float64)), 0)
}

func payload(t *testing.T, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fullClaims() Claims {
	return Claims{
		Audience:       "wiki",
		Subject:        "acc_123",
		AuthTime:       1772355000,
		Email:          "ada@example.com",
		GivenName:      "Ada",
		FamilyName:     "Lovelace",
		Name:           "Ada Lovelace",
		Locale:         "en",
		Role:           "manager",
		Capabilities:   []string{"view", "edit"},
		SharedComputer: false,
		Company:        "acme",
		Sites:          []string{"*"},
		Props:          map[string]any{"site": "Toulouse"},
		Grants:         []Grant{{Capability: "edit", Tag: "plans"}},
		AMR:            []string{"pwd"},
		IDP:            "local",
		SessionID:      "ses_abc",
	}
}

func TestSignedAssertionVerifiesAgainstJWKS(t *testing.T) {
	kr, _, clk := loadedKeyring(t)
	s := NewSigner(kr, testIssuer+"/", 0, clk.Now)
	token, err := s.Sign(fullClaims())
	if err != nil {
		t.Fatal(err)
	}

	// Verify as an app would, with go-jose alone.
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	if h.Algorithm != "ES256" || h.KeyID != kr.CurrentKeyID() || h.ExtraHeaders["typ"] != "JWT" {
		t.Fatalf("header = alg %q kid %q typ %v", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"])
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	var std jwt.Claims
	if err := tok.Claims(keys[0].Key, &std); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{"wiki"}, Time: clk.Now()}); err != nil {
		t.Fatal(err)
	}

	var raw map[string]any
	if err := json.Unmarshal(payload(t, token), &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": testIssuer, "aud": "wiki", "sub": "acc_123",
		"email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace",
		"name": "Ada Lovelace", "locale": "en", "role": "manager",
		"shared_computer": false, "company": "acme", "idp": "local", "sid": "ses_abc",
		"auth_time": float64(1772355000),
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("claim %s = %#v, want %#v", k, raw[k], v)
		}
	}
	iat, ok1 := raw["iat"].(float64)
	exp, ok2 := raw["exp"].(float64)
	if !ok1 || !ok2 || int64(iat) != clk.Now().Unix() || exp-iat != 300 {
		t.Errorf("iat %v exp %v: want numbers, iat now, exp-iat = 300", raw["iat"], raw["exp"])
	}
	for _, k := range []string{"capabilities", "sites", "grants", "amr"} {
		if _, ok := raw[k].([]any); !ok {
			t.Errorf("claim %s = %#v, want an array", k, raw[k])
		}
	}
	if p, ok := raw["props"].(map[string]any); !ok || p["site"] != "Toulouse" {
		t.Errorf("props = %#v", raw["props"])
	}
	if g := raw["grants"].([]any); len(g) != 1 || g[0].(map[string]any)["capability"] != "edit" || g[0].(map[string]any)["tag"] != "plans" {
		t.Errorf("grants = %#v", raw["grants"])
	}
	if len(raw) != 21 {
		t.Errorf("payload has %d claims, want the 21 of the contract: %v", len(raw), raw)
	}

	got, err := Verify(token, kr.JWKS(), testIssuer, "wiki", clk.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	wantC := fullClaims()
	if got.Subject != wantC.Subject || got.Role != wantC.Role || got.SessionID != wantC.SessionID || got.Issuer != testIssuer {
		t.Fatalf("Verify returned %+v", got)
	}
}

func TestEmptyCollectionsAreNotNull(t *testing.T) {
	kr, _, clk := loadedKeyring(t)
	token, err := NewSigner(kr, testIssuer, 0, clk.Now).Sign(Claims{Audience: "app", Subject: "u"})
	if err != nil {
		t.Fatal(err)
	}
	p := string(payload(t, token))
	for _, want := range []string{`"capabilities":[]`, `"sites":[]`, `"props":{}`, `"grants":[]`, `"amr":[]`} {
		if !strings.Contains(p, want) {
			t.Errorf("payload lacks %s: %s", want, p)
		}
	}
	if strings.Contains(p, "null") {
		t.Errorf("payload has a null: %s", p)
	}
}

func TestSignerTTLIsClamped(t *testing.T) {
	kr, _, clk := loadedKeyring(t)
	for _, c := range []struct {
		ttl  time.Duration
		want int64
	}{{0, 300}, {-time.Second, 300}, {time.Hour, 300}, {2 * time.Minute, 120}, {5 * time.Minute, 300}} {
		token, err := NewSigner(kr, testIssuer, c.ttl, clk.Now).Sign(Claims{})
		if err != nil {
			t.Fatal(err)
		}
		var raw struct{ Iat, Exp int64 }
		if err := json.Unmarshal(payload(t, token), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Exp-raw.Iat != c.want {
			t.Errorf("ttl %v: exp-iat = %d, want %d", c.ttl, raw.Exp-raw.Iat, c.want)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	kr, _, clk := loadedKeyring(t)
	s := NewSigner(kr, testIssuer, 0, clk.Now)
	good, err := s.Sign(fullClaims())
	if err != nil {
		t.Fatal(err)
	}
	jwks := kr.JWKS()
	now := clk.Now()

	// A token from a key that is not published.
	stranger, _, _ := loadedKeyring(t)
	foreign, err := NewSigner(stranger, testIssuer, 0, clk.Now).Sign(fullClaims())
	if err != nil {
		t.Fatal(err)
	}
	// The same claims signed with a different key under our kid.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: kr.CurrentKeyID()}}, nil)
	forged, err := jwt.Signed(forger).Claims(map[string]any{"iss": testIssuer, "aud": "wiki", "iat": now.Unix(), "exp": now.Unix() + 60}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	// HS256 with the public key's JSON as secret: the classic confusion attack.
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jwks}, (&jose.SignerOptions{}).WithHeader("kid", kr.CurrentKeyID()))
	hmac, err := jwt.Signed(hs).Claims(map[string]any{"iss": testIssuer, "aud": "wiki", "iat": now.Unix(), "exp": now.Unix() + 60}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+kr.CurrentKeyID()+`"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+testIssuer+`","aud":"wiki","role":"admin","iat":1,"exp":9999999999}`)) + "." + parts[2]

	cases := []struct {
		name, token, iss, aud string
		at                    time.Time
	}{
		{"wrong audience", good, testIssuer, "other", now},
		{"wrong issuer", good, "https://evil.example.com", "wiki", now},
		{"expired", good, testIssuer, "wiki", now.Add(301 * time.Second)},
		{"issued in the future", good, testIssuer, "wiki", now.Add(-time.Hour)},
		{"unknown kid", foreign, testIssuer, "wiki", now},
		{"forged signature", forged, testIssuer, "wiki", now},
		{"HS256", hmac, testIssuer, "wiki", now},
		{"alg none", none, testIssuer, "wiki", now},
		{"tampered payload", tampered, testIssuer, "wiki", now},
		{"garbage", "not.a.jwt", testIssuer, "wiki", now},
	}
	for _, c := range cases {
		if _, err := Verify(c.token, jwks, c.iss, c.aud, c.at, 0); !errors.Is(err, ErrInvalidAssertion) {
			t.Errorf("%s: Verify = %v, want ErrInvalidAssertion", c.name, err)
		}
	}
	if _, err := Verify(good, []byte("{"), testIssuer, "wiki", now, 0); !errors.Is(err, ErrInvalidAssertion) {
		t.Errorf("bad JWKS: %v", err)
	}
}

func BenchmarkSign(b *testing.B) {
	kr, _, clk := loadedKeyring(b)
	s := NewSigner(kr, testIssuer, 0, clk.Now)
	c := fullClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}
