package identity

import (
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary tokens to Verify: it must never panic, and
// every failure must be ErrInvalidAssertion. Only tokens our key signed may pass.
func FuzzVerify(f *testing.F) {
	kr, _, clk := loadedKeyring(f)
	s := NewSigner(kr, testIssuer, 0, clk.Now)
	good, err := s.Sign(fullClaims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add(good[:len(good)-2])
	jwks := kr.JWKS()
	now := clk.Now()
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Verify(token, jwks, testIssuer, "wiki", now, 0)
		if err != nil {
			if !errors.Is(err, ErrInvalidAssertion) {
				t.Fatalf("error %v is not ErrInvalidAssertion", err)
			}
			return
		}
		if c.Issuer != testIssuer || c.Audience != "wiki" {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}
