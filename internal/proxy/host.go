package proxy

import (
	"errors"
	"net/netip"
)

// ErrBadHost means a Host (or X-Forwarded-Host) is not a plain host name or
// IP literal with an optional port. Callers answer 400 and forward nothing.
var ErrBadHost = errors.New("proxy: invalid host")

// CanonicalHost returns the form of a Host header that routing compares:
// lower case, without the port (routes name hosts, not ports, so the
// default ports 80 and 443 and any other are all one host), without IPv6
// brackets, and without the trailing dot of a fully qualified name
// ("beta.test." is "beta.test" to DNS, and so to routing). It refuses
// (ErrBadHost) anything else a client may slip in to dodge a host route:
// NUL, "%", spaces, control and non-ASCII bytes, empty labels, a port that
// is not a number, a bare IPv6 address. "" stays "" (an HTTP/1.0 request
// without Host), which only host-less routes match.
//
// The common case, a host already in canonical form, costs no allocation.
func CanonicalHost(host string) (string, error) {
	name, ipv6, err := splitHost(host)
	if err != nil {
		return "", err
	}
	if ipv6 {
		return name, nil
	}
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if name == "" && host != "" {
		return "", ErrBadHost // ".", ":80"
	}
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '.':
			if i == 0 || name[i-1] == '.' || i == len(name)-1 {
				return "", ErrBadHost // an empty label
			}
		default:
			return "", ErrBadHost
		}
	}
	if upper {
		return toLower(name), nil
	}
	return name, nil
}

// splitHost removes the port and IPv6 brackets, checking both and the
// address inside the brackets.
func splitHost(host string) (name string, ipv6 bool, err error) {
	if host == "" {
		return "", false, nil
	}
	if host[0] == '[' {
		end := -1
		for i := 1; i < len(host); i++ {
			if host[i] == ']' {
				end = i
				break
			}
		}
		if end < 2 || !validPort(host[end+1:]) {
			return "", false, ErrBadHost
		}
		ip := host[1:end]
		for i := 0; i < len(ip); i++ {
			if c := ip[i]; !isHex(c) && c != ':' && c != '.' {
				// Zones ("%25eth0") name an interface of the client's,
				// nothing a route could mean.
				return "", false, ErrBadHost
			}
		}
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is6() {
			return "", false, ErrBadHost
		}
		// One spelling per address ("[::0:1]" is "[::1]"); rare enough
		// that the allocation does not matter.
		return a.String(), true, nil
	}
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			if !validPort(host[i:]) {
				return "", false, ErrBadHost
			}
			return host[:i], false, nil
		}
	}
	return host, false, nil
}

// validPort accepts "" or ":" followed by up to five digits.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != ':' || len(p) > 6 {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
