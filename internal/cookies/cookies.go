// Package cookies names the cookies the gateway sets and recognises them in
// any spelling, so the proxy can keep them away from upstream apps.
package cookies

import "strings"

// Prefix begins the name of every cookie the gateway sets. The whole
// namespace is the gateway's: upstream apps must not use it, and the proxy
// neither forwards such cookies to them nor lets them set one.
const Prefix = "gatehouse_"

// Space is what net/http trims around cookie names and pairs.
const Space = " \t\r\n"

// The base names of the gateway's cookies; Name adds the __Host- prefix.
const (
	Session = Prefix + "session"
	CSRF    = Prefix + "csrf"
	SSO     = Prefix + "sso"
	// Device marks a browser that has signed in to an account before, so
	// failed sign-ins elsewhere do not lock its owner out.
	Device = Prefix + "device"
)

// Passkey is the base name of a passkey ceremony's cookie; each kind of
// ceremony has its own, so two in flight do not overwrite each other.
func Passkey(kind string) string { return Prefix + kind }

// hostPrefix makes browsers refuse the cookie unless it is Secure, has
// Path=/ and no Domain, so a sibling subdomain cannot plant or shadow it.
const hostPrefix = "__Host-"

// Name is the name to set for base: with the __Host- prefix when the
// gateway is served over https.
func Name(base string, secure bool) string {
	if secure {
		return hostPrefix + base
	}
	return base
}

// Owned reports whether a cookie called name belongs to the gateway: its
// name, without a __Host- or __Secure- prefix, begins with Prefix, ignoring
// case. Browsers compare cookie names case-sensitively, but servers and
// frameworks do not always, so every spelling counts.
func Owned(name string) bool {
	name = strings.Trim(name, Space)
	for _, p := range [...]string{hostPrefix, "__secure-"} {
		if hasFoldedPrefix(name, p) {
			name = name[len(p):]
			break
		}
	}
	return hasFoldedPrefix(name, Prefix)
}

// Mentioned reports whether Prefix appears anywhere in s, ignoring case:
// when it does not, s names none of the gateway's cookies. It lets a
// caller skip parsing a Cookie line, the common case, without allocating.
func Mentioned(s string) bool {
	// Look only where the prefix could end: at each "_", which the
	// byte search finds fast and which is rare in cookie lines.
	const head = len(Prefix) - 1
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '_')
		if j < 0 {
			return false
		}
		end := i + j
		if end >= head && hasFoldedPrefix(s[end-head:], Prefix) {
			return true
		}
		i = end + 1
	}
}

// hasFoldedPrefix compares ASCII case-insensitively without allocating.
func hasFoldedPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != lower(prefix[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
