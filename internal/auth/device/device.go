// Package device issues and reads device cookies: signed proof that a
// browser has signed in to an account before, so that password failures
// from it are counted apart from everyone else's.
package device

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/session"
)

const (
	// DefaultTTL is how long a device cookie is honoured after it was issued.
	DefaultTTL = 90 * 24 * time.Hour

	version  = "d1"
	nonceLen = 16
	// maxCookieLen bounds what is handed to the decoder: a cookie for the
	// longest email (320 bytes) is under 600 characters.
	maxCookieLen = 700
	// macContext keeps a device MAC from ever verifying as any other value
	// signed with the same key.
	macContext = "gatehouse device cookie\x00"
)

var b64 = base64.RawURLEncoding

// Cookies issues and verifies device cookies with a key shared by every
// replica. The cookie carries the account's login (its normalised email),
// a random nonce that names the device, and when it was issued, under an
// HMAC-SHA256: it cannot be forged, moved to another account or kept past
// its TTL.
type Cookies struct {
	key    []byte
	name   string
	secure bool
	ttl    time.Duration
	rand   io.Reader
	now    func() time.Time
}

// New returns the device cookies. ttl <= 0 takes DefaultTTL.
func New(key []byte, secure bool, ttl time.Duration, rand io.Reader, now func() time.Time) *Cookies {
	name := session.DeviceCookieName
	if secure {
		name = "__Host-" + name
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cookies{key: key, name: name, secure: secure, ttl: ttl, rand: rand, now: now}
}

// Name is the cookie's name.
func (c *Cookies) Name() string { return c.name }

// Normalise is the form of a login that cookies and counters are keyed on.
func Normalise(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// ID returns the device id that r's cookie carries for login, or "" when r
// has no cookie, or one that is forged, expired, malformed or for another
// login. Several cookies of that name (a planted duplicate) count as none.
func (c *Cookies) ID(r *http.Request, login string) string {
	var raw string
	n := 0
	for _, ck := range r.Cookies() {
		if ck.Name == c.name {
			raw = ck.Value
			n++
		}
	}
	if n != 1 || len(raw) > maxCookieLen {
		return ""
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 5 || parts[0] != version {
		return ""
	}
	mac, err := b64.DecodeString(parts[4])
	if err != nil || !hmac.Equal(mac, c.mac(strings.Join(parts[:4], "."))) {
		return ""
	}
	who, err := b64.DecodeString(parts[1])
	if err != nil || string(who) != Normalise(login) {
		return ""
	}
	issued, err := b64.DecodeString(parts[3])
	if err != nil || len(issued) != 8 {
		return ""
	}
	at := time.Unix(int64(binary.BigEndian.Uint64(issued)), 0)
	if now := c.now(); at.After(now.Add(time.Minute)) || now.Sub(at) > c.ttl {
		return ""
	}
	return parts[2]
}

// Issue sets a new device cookie for login on w: a fresh nonce, so a
// device's counters start over after each successful sign-in.
func (c *Cookies) Issue(w http.ResponseWriter, login string) error {
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return err
	}
	issued := binary.BigEndian.AppendUint64(nil, uint64(c.now().Unix()))
	payload := strings.Join([]string{version, b64.EncodeToString([]byte(Normalise(login))),
		b64.EncodeToString(nonce), b64.EncodeToString(issued)}, ".")
	http.SetCookie(w, &http.Cookie{
		Name: c.name, Value: payload + "." + b64.EncodeToString(c.mac(payload)),
		Path: "/", MaxAge: int(c.ttl / time.Second),
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (c *Cookies) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(macContext))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
