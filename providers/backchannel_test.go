package providers

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/providers/providertest"
)

func logoutProvider(t *testing.T, p Provider) BackChannelLogoutProvider {
	t.Helper()
	bp, ok := p.(BackChannelLogoutProvider)
	if !ok {
		t.Fatalf("%T does not verify logout tokens", p)
	}
	return bp
}

func mint(t *testing.T, srv *providertest.Server, l providertest.Logout, f providertest.Fault) string {
	t.Helper()
	tok, err := srv.LogoutToken(l, f)
	if err != nil {
		t.Fatalf("minting a logout token: %v", err)
	}
	return tok
}

func TestIDTokenCarriesSID(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := newProvider(t, srv, clk, Config{})
	id, err := signIn(t, p)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if id.SID == "" || id.SID != srv.LastSID() {
		t.Fatalf("Identity.SID = %q, provider's sid %q", id.SID, srv.LastSID())
	}
}

func TestLogoutTokenValid(t *testing.T) {
	clk := newClock()
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			srv := newFake(t, clk, providertest.Options{Algorithm: alg})
			p := logoutProvider(t, newProvider(t, srv, clk, Config{}))
			lt, err := p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "sid-1", Subject: "user-1", JTI: "j-1"}, providertest.NoFault))
			if err != nil {
				t.Fatalf("valid token: %v", err)
			}
			want := clk.Now().Add(2*time.Minute + clockSkew)
			if lt.SID != "sid-1" || lt.Subject != "user-1" || lt.JTI != "j-1" || !lt.ReplayUntil.Equal(want) {
				t.Fatalf("logout token %+v, want ReplayUntil %s", lt, want)
			}

			lt, err = p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{Subject: "user-1", NoExp: true}, providertest.NoFault))
			if err != nil {
				t.Fatalf("sub only, no exp: %v", err)
			}
			if lt.SID != "" || lt.Subject != "user-1" || !lt.ReplayUntil.Equal(clk.Now().Add(LogoutTokenMaxAge+clockSkew)) {
				t.Fatalf("logout token %+v", lt)
			}
		})
	}
}

func TestLogoutTokenRefused(t *testing.T) {
	faults := map[string]providertest.Fault{
		"wrong iss":            providertest.WrongIssuer,
		"foreign aud":          providertest.ForeignAudience,
		"extra aud, no azp":    providertest.ExtraAudienceNoAZP,
		"expired":              providertest.Expired,
		"iat in future":        providertest.IssuedInFuture,
		"bad signature":        providertest.BadSignature,
		"alg none":             providertest.AlgNone,
		"HS256 public key":     providertest.HS256PublicKey,
		"unknown kid":          providertest.UnknownKid,
		"no events":            providertest.LogoutNoEvents,
		"foreign event":        providertest.LogoutForeignEvent,
		"event not an object":  providertest.LogoutEventNotObject,
		"events not an object": providertest.LogoutEventsNotObject,
		"nonce":                providertest.LogoutWithNonce,
		"neither sid nor sub":  providertest.LogoutNoSIDNoSub,
		"no jti":               providertest.LogoutNoJTI,
		"no iat":               providertest.LogoutNoIAT,
		"stale iat and no exp": providertest.LogoutStaleWithoutExp,
	}
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := logoutProvider(t, newProvider(t, srv, clk, Config{}))
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			tok := mint(t, srv, providertest.Logout{SID: "sid-1", Subject: "user-1"}, f)
			if _, err := p.VerifyLogoutToken(t.Context(), tok); !errors.Is(err, ErrInvalidLogoutToken) {
				t.Fatalf("VerifyLogoutToken = %v, want ErrInvalidLogoutToken", err)
			}
		})
	}
	t.Run("an ID token", func(t *testing.T) {
		id, err := signIn(t, newProvider(t, srv, clk, Config{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.VerifyLogoutToken(t.Context(), id.IDToken); !errors.Is(err, ErrInvalidLogoutToken) {
			t.Fatalf("an ID token passed for a logout token: %v", err)
		}
	})
}

func TestLogoutTokenClockSkew(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := logoutProvider(t, newProvider(t, srv, clk, Config{}))
	tok := mint(t, srv, providertest.Logout{SID: "s"}, providertest.NoFault) // exp in 2 minutes
	clk.Add(2*time.Minute + clockSkew - time.Second)
	if _, err := p.VerifyLogoutToken(t.Context(), tok); err != nil {
		t.Fatalf("within the skew after exp: %v", err)
	}
	clk.Add(time.Second)
	if _, err := p.VerifyLogoutToken(t.Context(), tok); !errors.Is(err, ErrInvalidLogoutToken) {
		t.Fatalf("past exp and skew: %v", err)
	}
}

func TestLogoutTokenNotBeforeAndNonceSpelling(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{})
	p := logoutProvider(t, newProvider(t, srv, clk, Config{}))
	later := clk.Now().Add(10 * time.Minute).Unix()
	if _, err := p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "s", Claims: map[string]any{"nbf": later}}, providertest.NoFault)); !errors.Is(err, ErrInvalidLogoutToken) {
		t.Fatalf("nbf in the future: %v", err)
	}
	if _, err := p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "s", Claims: map[string]any{"nbf": clk.Now().Unix()}}, providertest.NoFault)); err != nil {
		t.Fatalf("nbf now: %v", err)
	}
	if _, err := p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "s", Claims: map[string]any{"Nonce": "n"}}, providertest.NoFault)); !errors.Is(err, ErrInvalidLogoutToken) {
		t.Fatalf("a nonce spelled Nonce: %v", err)
	}
}

func TestMicrosoftLogoutSubject(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, providertest.Options{MultiTenant: true})
	p := logoutProvider(t, newProvider(t, srv, clk, Config{
		Type: "microsoft", AllowedTenants: []string{"tenant-a"}, AllowedDomains: []string{"contoso.com"},
	}))
	claims := map[string]any{"tid": "tenant-a", "oid": "oid-1"}
	lt, err := p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{Subject: "pairwise-sub", Claims: claims}, providertest.NoFault))
	if err != nil {
		t.Fatalf("Entra logout token: %v", err)
	}
	if lt.Subject != "tenant-a:oid-1" {
		t.Fatalf("Subject = %q, want the link key tenant-a:oid-1", lt.Subject)
	}
	// Without oid the pairwise sub names no identity; a sid still works.
	tidOnly := map[string]any{"tid": "tenant-a"}
	lt, err = p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "s-1", Subject: "pairwise-sub", Claims: tidOnly}, providertest.NoFault))
	if err != nil || lt.Subject != "" || lt.SID != "s-1" {
		t.Fatalf("sid with an unmappable sub: %+v, %v", lt, err)
	}
	_, err = p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{Subject: "pairwise-sub", Claims: tidOnly}, providertest.NoFault))
	if !errors.Is(err, ErrInvalidLogoutToken) {
		t.Fatalf("an unmappable sub without sid: %v", err)
	}
	// The issuer must be the token's tenant's.
	_, err = p.VerifyLogoutToken(t.Context(), mint(t, srv, providertest.Logout{SID: "s-1", Claims: map[string]any{"tid": "tenant-a", "iss": srv.URL + "/tenant-b/v2.0"}}, providertest.NoFault))
	if !errors.Is(err, ErrInvalidLogoutToken) {
		t.Fatalf("another tenant's issuer: %v", err)
	}
}

func TestParseLogoutClaims(t *testing.T) {
	ok := `{"sid":"s","jti":"j","events":{"` + BackChannelEvent + `":{}}}`
	if c, err := parseLogoutClaims([]byte(ok)); err != nil || c.SID != "s" || c.JTI != "j" || c.HasExp {
		t.Fatalf("parseLogoutClaims(%s) = %+v, %v", ok, c, err)
	}
	for _, bad := range []string{
		`null`, `[]`, `"x"`, `{}`,
		`{"sid":"s","jti":"j","events":null}`,
		`{"sid":"s","jti":"j","events":{"` + BackChannelEvent + `":null}}`,
		`{"sid":"s","jti":"j","events":{"` + BackChannelEvent + `":[]}}`,
		`{"sid":1,"jti":"j","events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"u","jti":2,"events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"u","jti":"","events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"","sid":"","jti":"j","events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"u","jti":"j","nonce":null,"events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"u","jti":"j","nbf":"soon","events":{"` + BackChannelEvent + `":{}}}`,
		`{"sub":"u","jti":"j","nbf":1e300,"events":{"` + BackChannelEvent + `":{}}}`,
	} {
		if c, err := parseLogoutClaims([]byte(bad)); err == nil {
			t.Errorf("parseLogoutClaims(%s) = %+v, want an error", bad, c)
		}
	}
}

// FuzzParseLogoutClaims: no input panics, and whatever is accepted has
// what the handler relies on.
func FuzzParseLogoutClaims(f *testing.F) {
	// The seed corpus is testdata/fuzz/FuzzParseLogoutClaims; one more
	// here keeps the shape of a valid token next to the code.
	f.Add([]byte(`{"iss":"https://idp.example","aud":"gatehouse","iat":1,"jti":"j","sid":"s","events":{"` + BackChannelEvent + `":{}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseLogoutClaims(payload)
		if err != nil {
			return
		}
		if c.JTI == "" || len(c.JTI) > maxJTI || (c.SID == "" && c.Subject == "") {
			t.Fatalf("accepted %q as %+v", payload, c)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(payload, &m) != nil {
			t.Fatalf("accepted claims that are not an object: %q", payload)
		}
		if _, has := m["nonce"]; has {
			t.Fatalf("accepted a nonce: %q", payload)
		}
	})
}
