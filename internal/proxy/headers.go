package proxy

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/cookies"
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

// upstreamHeader returns the header to send upstream: a copy of h without
// the names the gateway alone may set, and without the gateway's cookies.
//
// Removed are every name beginning with X-Gatehouse-, X-Forwarded-User,
// -Email, -Groups and -Preferred-Username (a client posing as a signed-in
// user), and X-Forwarded-*, Forwarded and X-Real-IP (the gateway writes
// its own). Names are compared case-insensitively with "_" read as "-",
// because many upstream stacks (CGI, WSGI, Rack) fold X_Forwarded_Email and
// X-Forwarded-Email together.
//
// The copy is made with room for the headers the gateway adds, so setting
// them never grows the map: one allocation instead of several.
func upstreamHeader(h http.Header) http.Header {
	out := make(http.Header, len(h)+addedHeaders)
	for k, v := range h {
		if !isGatewayHeader(k) {
			out[k] = v
		}
	}
	StripGatewayCookies(out)
	return out
}

// addedHeaders is how many headers rewrite adds: the identity headers,
// X-Forwarded-For, -Proto and -Host, and room for the User-Agent
// ReverseProxy adds when the client sent none.
const addedHeaders = len(identityHeaderNames) + 4

// isGatewayHeader reports whether the gateway owns the header name: the
// identity family and the forwarding family.
func isGatewayHeader(name string) bool {
	return isIdentityHeader(name) || hasFoldedPrefix(name, "x-forwarded-") ||
		foldedEqual(name, "forwarded") || foldedEqual(name, "x-real-ip")
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

// StripGatewayCookies removes every cookie of the gateway (cookies.Owned:
// the session, the CSRF seed, the sign-in flows' state, in any spelling)
// from all Cookie header lines, keeping the other cookie pairs byte for
// byte. An upstream that saw the CSRF seed could derive the CSRF token; one
// that saw the session could replay it. A line left empty is dropped, and
// the header with it when no line remains.
func StripGatewayCookies(h http.Header) {
	lines := h["Cookie"]
	if !slices.ContainsFunc(lines, mayHoldGatewayCookie) {
		return
	}
	kept := make([]string, 0, len(lines))
	changed := false
	for _, line := range lines {
		if !mayHoldGatewayCookie(line) {
			kept = append(kept, line)
			continue
		}
		stripped, removed := stripCookieLine(line)
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

// mayHoldGatewayCookie is the cheap test that spares the common line, one
// with only the app's cookies, any work.
func mayHoldGatewayCookie(line string) bool { return cookies.Mentioned(line) }

func stripCookieLine(line string) (string, bool) {
	var b strings.Builder
	removed := false
	rest := line
	for {
		part, more, found := strings.Cut(rest, ";")
		part = strings.Trim(part, cookies.Space)
		if part != "" {
			n, _, _ := strings.Cut(part, "=")
			if cookies.Owned(n) {
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

// dropGatewaySetCookies removes every Set-Cookie of an upstream's answer
// that would set or replace a gateway cookie, so an app can never plant a
// session (its own account's, say) in a user's browser or overwrite the
// CSRF seed. The app's other cookies pass untouched.
func dropGatewaySetCookies(h http.Header) {
	lines := h["Set-Cookie"]
	if !slices.ContainsFunc(lines, setsGatewayCookie) {
		return
	}
	kept := slices.DeleteFunc(slices.Clone(lines), setsGatewayCookie)
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// setsGatewayCookie reads a Set-Cookie line's name the way browsers do
// (RFC 6265bis §5.6: the text before the first "=" of the part before the
// first ";"). A line with an empty name, "=gatehouse_session=x", makes a
// nameless cookie that browsers send back as "gatehouse_session=x", so the
// name is read after any leading "=" as well.
func setsGatewayCookie(line string) bool {
	pair, _, _ := strings.Cut(line, ";")
	pair = strings.TrimLeft(strings.Trim(pair, cookies.Space), "= \t")
	name, _, _ := strings.Cut(pair, "=")
	return cookies.Owned(name)
}

// Identity is what the gateway vouches for on a forwarded request. It is
// built once per session and route and then shared by every request of
// that session: treat it as read-only once built.
type Identity struct {
	Assertion      string // signed ES256 JWT
	User           string // the account's stable id (the assertion's sub)
	Email          string
	Role           string // role in the route's company
	SharedComputer bool

	// values holds the header values in identityHeaderNames order, made
	// on first use so that setting the headers allocates nothing.
	once   sync.Once
	values [len(identityHeaderNames)]string
}

// identityHeaderNames are the headers of the contract's "Identity sent
// upstream", in canonical form.
var identityHeaderNames = [...]string{
	"X-Gatehouse-Assertion", "X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Role",
	"X-Gatehouse-Shared-Computer", "X-Forwarded-User", "X-Forwarded-Email",
}

// IdentityHeaderNames returns the names SetHeaders writes.
func IdentityHeaderNames() []string { return slices.Clone(identityHeaderNames[:]) }

// SetHeaders writes the identity headers of the contract. Callers remove
// incoming identity headers first so no spoofed spelling survives beside
// them.
//
// The value slices are shared by every request of the session. Each has
// a capacity of one, so an Add appends to a new array; nothing in net/http
// writes into a header value slice in place.
func (id *Identity) SetHeaders(h http.Header) {
	id.once.Do(func() {
		id.values = [...]string{id.Assertion, id.User, id.Email, id.Role,
			strconv.FormatBool(id.SharedComputer), id.User, id.Email}
	})
	for i, name := range identityHeaderNames {
		h[name] = id.values[i : i+1 : i+1]
	}
}
