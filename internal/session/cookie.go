package session

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// tokenLen is the size of the bearer secret: 256 bits.
	tokenLen = 32
	// maxCookieLen bounds what is handed to the decoder. A genuine cookie
	// is 120 characters; anything much longer is junk and is refused before
	// any base64 or HMAC work is spent on it.
	maxCookieLen = 200
)

// CookieName is the name of the session cookie this manager sets and reads.
func (m *Manager) CookieName() string { return m.cookieName }

// ReadToken returns the session token carried by r's session cookie. It
// reports false for a missing, duplicated, oversized, malformed, forged,
// truncated or too old cookie; no store lookup is made.
func (m *Manager) ReadToken(r *http.Request) ([]byte, bool) {
	raw, ok := m.rawCookie(r)
	if !ok {
		return nil, false
	}
	return m.decodeCookie(raw)
}

// decodeCookie verifies the HMAC and the embedded timestamp of a raw cookie
// value and returns the token inside it.
func (m *Manager) decodeCookie(raw string) ([]byte, bool) {
	var token []byte
	if err := m.codec.Decode(m.cookieName, raw, &token); err != nil {
		return nil, false
	}
	if len(token) != tokenLen {
		return nil, false
	}
	return token, true
}

// encodeCookie wraps a token in a signed, timestamped cookie value.
func (m *Manager) encodeCookie(token []byte) (string, error) {
	return m.codec.Encode(m.cookieName, token)
}

// rawCookie finds the session cookie's value in the request's Cookie
// headers without allocating: this runs on every proxied request. Two
// cookies of our name are refused rather than guessing which is genuine,
// since a duplicate is how a cookie-tossing attacker shadows the real one.
func (m *Manager) rawCookie(r *http.Request) (string, bool) {
	var (
		found string
		count int
	)
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.Trim(part, " \t")
			eq := strings.IndexByte(part, '=')
			if eq < 0 || strings.Trim(part[:eq], " \t") != m.cookieName {
				continue
			}
			count++
			found = strings.Trim(part[eq+1:], " \t")
		}
	}
	if count != 1 {
		return "", false
	}
	if len(found) >= 2 && found[0] == '"' && found[len(found)-1] == '"' {
		found = found[1 : len(found)-1]
	}
	if found == "" || len(found) > maxCookieLen {
		return "", false
	}
	return found, true
}

// newKeyBufs makes the pool of scratch buffers that lets cookieKey hash a
// cookie string on the hot path without allocating a []byte copy each time.
func newKeyBufs() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]byte, 0, maxCookieLen); return &b }}
}

// cookieKey is the cache key of a raw cookie value. A collision-resistant
// digest is needed: a colliding string would be served another's session.
// Only the digest is kept, so the cache never holds a usable credential.
func (m *Manager) cookieKey(raw string) [sha256.Size]byte {
	bp := m.keyBufs.Get().(*[]byte)
	b := append((*bp)[:0], raw...)
	k := sha256.Sum256(b)
	*bp = b
	m.keyBufs.Put(bp)
	return k
}

// setCookie writes the session cookie. Shared-computer sessions get a
// browser-session cookie so closing the browser on the workstation drops it;
// personal ones persist until the absolute expiry so a browser restart does
// not sign the employee out.
func (m *Manager) setCookie(w http.ResponseWriter, value string, persistent bool) {
	c := &http.Cookie{
		Name:     m.cookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if persistent {
		c.MaxAge = int(m.absolute / time.Second)
	}
	http.SetCookie(w, c)
}

// ClearCookie tells the browser to drop the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.cookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   m.secure,
		SameSite: http.SameSiteLaxMode,
	})
}
