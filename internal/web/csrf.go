package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/cookies"
)

// CSRF protects every state-changing form and API call with a token bound
// to a random per-browser cookie: token = HMAC(key, cookie). A cross-site
// page can neither read the cookie nor compute the token, and the check
// needs no store lookup, so it also guards the login form itself.
type CSRF struct {
	key        []byte
	cookieName string
	secure     bool
	rand       io.Reader
}

// NewCSRF builds the protector. key must be shared by every replica.
func NewCSRF(key []byte, secure bool, rand io.Reader) *CSRF {
	return &CSRF{key: key, cookieName: cookies.Name(cookies.CSRF, secure), secure: secure, rand: rand}
}

const csrfCookieLen = 43 // base64url of 32 bytes

// Token returns the token for this browser, setting the cookie it derives
// from when the browser has none yet.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	seed := c.seed(r)
	if seed == "" {
		b := make([]byte, 32)
		if _, err := io.ReadFull(c.rand, b); err != nil {
			return ""
		}
		seed = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name: c.cookieName, Value: seed, Path: "/",
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
		})
		// A page rendered in the same request must see the new seed.
		r.AddCookie(&http.Cookie{Name: c.cookieName, Value: seed})
	}
	return c.sign(seed)
}

// Valid reports whether token matches this browser's cookie.
func (c *CSRF) Valid(r *http.Request, token string) bool {
	seed := c.seed(r)
	if seed == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(c.sign(seed)))
}

// Check validates a state-changing request: the form field csrf_token or
// the X-CSRF-Token header. The form must already be size-limited.
func (c *CSRF) Check(r *http.Request) bool {
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf_token")
	}
	return c.Valid(r, token)
}

func (c *CSRF) seed(r *http.Request) string {
	ck, err := r.Cookie(c.cookieName)
	if err != nil || len(ck.Value) != csrfCookieLen {
		return ""
	}
	return ck.Value
}

func (c *CSRF) sign(seed string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
