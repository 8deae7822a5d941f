package proxy

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// identityNames are the exact names (lower-case, "-" for "_") that carry an
// identity to upstreams besides the X-Gatehouse-* family.
var identityNames = [...]string{
	"x-forwarded-user",
	"x-forwarded-email",
	"x-forwarded-groups",
	"x-forwarded-preferred-username",
}

const identityPrefix = "x-gatehouse-"

// StripIdentityHeaders deletes every header a client could use to pose as a
// signed-in user: names beginning with X-Gatehouse- and the X-Forwarded-User,
// -Email, -Groups and -Preferred-Username headers. Names are compared
// case-insensitively with "_" read as "-", because many upstream stacks
// (CGI, WSGI, Rack) fold X_Forwarded_Email and X-Forwarded-Email together.
// It allocates nothing when no header matches.
func StripIdentityHeaders(h http.Header) {
	for k := range h {
		if isIdentityHeader(k) {
			delete(h, k)
		}
	}
}

func isIdentityHeader(name string) bool {
	if len(name) < len(identityPrefix) {
		return false
	}
	if hasFoldedPrefix(name, identityPrefix) {
		return true
	}
	for _, n := range identityNames {
		if len(name) == len(n) && hasFoldedPrefix(name, n) {
			return true
		}
	}
	return false
}

// stripForwardingHeaders deletes X-Forwarded-*, Forwarded and X-Real-IP in
// every spelling; the gateway writes its own.
func stripForwardingHeaders(h http.Header) {
	for k := range h {
		if hasFoldedPrefix(k, "x-forwarded-") || foldedEqual(k, "forwarded") || foldedEqual(k, "x-real-ip") {
			delete(h, k)
		}
	}
}

// hasFoldedPrefix compares without allocating; prefix must be lower-case
// and use "-".
func hasFoldedPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if foldByte(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func foldedEqual(s, lower string) bool {
	return len(s) == len(lower) && hasFoldedPrefix(s, lower)
}

func foldByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case c == '_':
		return '-'
	}
	return c
}

// StripCookie removes every cookie called name (compared case-sensitively,
// as browsers do, and ignoring spaces around the name) from all Cookie
// header lines, keeping the other cookie pairs byte for byte. A line left
// empty is dropped, and the header with it when no line remains.
func StripCookie(h http.Header, name string) {
	lines := h["Cookie"]
	if len(lines) == 0 || name == "" {
		return
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, name) }) {
		return
	}
	kept := make([]string, 0, len(lines))
	changed := false
	for _, line := range lines {
		if !strings.Contains(line, name) {
			kept = append(kept, line)
			continue
		}
		stripped, removed := stripCookieLine(line, name)
		if !removed {
			kept = append(kept, line)
			continue
		}
		changed = true
		if stripped != "" {
			kept = append(kept, stripped)
		}
	}
	if !changed {
		return
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}

func stripCookieLine(line, name string) (string, bool) {
	var b strings.Builder
	removed := false
	rest := line
	for {
		part, more, found := strings.Cut(rest, ";")
		part = trimSpace(part)
		if part != "" {
			n, _, _ := strings.Cut(part, "=")
			if trimSpace(n) == name {
				removed = true
			} else {
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(part)
			}
		}
		if !found {
			break
		}
		rest = more
	}
	return b.String(), removed
}

// trimSpace trims the same characters net/http trims around cookie pairs.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Identity is what the gateway vouches for on a forwarded request.
type Identity struct {
	Assertion      string // signed ES256 JWT
	User           string // the account's stable id (the assertion's sub)
	Email          string
	Role           string // role in the route's company
	SharedComputer bool
}

type identityKey struct{}

// WithIdentity returns a context carrying id for the forwarder to send
// upstream.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity stored by WithIdentity, if any.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok && id != nil
}

// SetHeaders writes the identity headers of the contract. Callers strip
// incoming identity headers first (StripIdentityHeaders) so no spoofed
// spelling survives beside them.
func (id *Identity) SetHeaders(h http.Header) {
	h.Set("X-Gatehouse-Assertion", id.Assertion)
	h.Set("X-Gatehouse-User", id.User)
	h.Set("X-Gatehouse-Email", id.Email)
	h.Set("X-Gatehouse-Role", id.Role)
	h.Set("X-Gatehouse-Shared-Computer", strconv.FormatBool(id.SharedComputer))
	h.Set("X-Forwarded-User", id.User)
	h.Set("X-Forwarded-Email", id.Email)
}
