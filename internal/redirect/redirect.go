// Package redirect decides whether a post-login "rd" target is safe to send
// a browser to: a same-origin path or an absolute URL on an allowed host.
// It also builds the sign-in and terms URLs carrying one, so the gate and
// the pages that send a browser there spell them the same way.
package redirect

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// LoginURL is the sign-in page URL with rd set to target; base is the
// gateway's public URL, or "" for a same-origin path.
func LoginURL(base string, target string) string {
	return base + "/.gatehouse/login?rd=" + url.QueryEscape(target)
}

// TermsPath is the terms-of-use interstitial the gate sends people to
// until they accept the configured version.
const TermsPath = "/.gatehouse/terms"

// TermsURL is the terms-of-use page URL with rd set to target; base as
// for LoginURL.
func TermsURL(base string, target string) string {
	return base + TermsPath + "?rd=" + url.QueryEscape(target)
}

// maxLen bounds a redirect target; anything longer is not a page a user was
// on and only serves to stress parsers.
const maxLen = 8192

// maxDecodeRounds is how many layers of percent-encoding are peeled off
// while looking for hidden "//", "\" or control characters. A target still
// changing after that is refused outright.
const maxDecodeRounds = 3

// Validator checks redirect targets against the gateway's public origin and
// an allow-list of extra hosts. It is immutable and safe for concurrent use.
type Validator struct {
	public  *url.URL
	allowed map[string]bool // normalised "host" or "host:port"
}

// New builds a Validator. publicURL is the URL browsers use for the gateway;
// allowedHosts are further host names ("app.example.com") or host:port pairs
// that absolute redirect targets may name.
func New(publicURL string, allowedHosts []string) (*Validator, error) {
	pu, err := url.Parse(publicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("redirect: public URL %q is not an absolute http(s) URL", publicURL)
	}
	v := &Validator{public: pu, allowed: make(map[string]bool, len(allowedHosts)+1)}
	v.allowed[normaliseHost(pu.Scheme, pu.Host)] = true
	for _, h := range allowedHosts {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, "/@\\?#") {
			return nil, fmt.Errorf("redirect: allowed host %q is not a host name", h)
		}
		v.allowed[normaliseHost("", h)] = true
	}
	return v, nil
}

// Validate returns rd and true when rd is safe to redirect to, and "" and
// false otherwise (callers then use "/"). Safe means either an absolute path
// on this origin ("/x?y#z") or an absolute http(s) URL, without user info,
// whose host is the public host or an allowed one. Anything a browser might
// read as another origin — "//host", "/\host", embedded tabs or newlines,
// encoded slashes or backslashes — is refused rather than repaired.
func (v *Validator) Validate(rd string) (string, bool) {
	if rd == "" || len(rd) > maxLen || !cleanLayers(rd) {
		return "", false
	}
	if rd[0] == '/' {
		return v.validatePath(rd)
	}
	return v.validateAbsolute(rd)
}

func (v *Validator) validatePath(rd string) (string, bool) {
	// "//host" and "/\host" are network-path references to browsers.
	if len(rd) > 1 && (rd[1] == '/' || rd[1] == '\\') {
		return "", false
	}
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return rd, true
}

func (v *Validator) validateAbsolute(rd string) (string, bool) {
	// Require the literal "scheme://" form: browsers read "https:/evil" and
	// "https:evil" as pointing at host "evil", while Go sees no host at all.
	i := strings.Index(rd, "://")
	if i <= 0 {
		return "", false
	}
	scheme := strings.ToLower(rd[:i])
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	// Only plain host characters: percent-encoding, "@" or anything exotic
	// in the authority is where browser and Go parsers disagree.
	if !plainHost(u.Host) {
		return "", false
	}
	if !v.allowed[normaliseHost(scheme, u.Host)] {
		return "", false
	}
	return rd, true
}

// cleanLayers refuses control characters, spaces at the edges (browsers
// strip them, which can turn " //evil" into "//evil"), backslashes, and a
// leading "//" or "/\" in the string or in any percent-decoded layer of it.
func cleanLayers(s string) bool {
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for round := 0; ; round++ {
		if !cleanLayer(s) {
			return false
		}
		if !strings.Contains(s, "%") {
			return true
		}
		if round == maxDecodeRounds {
			return false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			return true
		}
		s = d
	}
}

func cleanLayer(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	if strings.HasPrefix(s, "//") {
		return false
	}
	// Non-ASCII whitespace and controls (U+0085, U+2028 …) are refused too:
	// no legitimate page path needs them raw.
	for _, r := range s {
		if r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == '\uFFFD' {
			return false
		}
	}
	return true
}

func plainHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// normaliseHost lower-cases the host and drops the scheme's default port, so
// "Example.com:443" under https equals "example.com".
func normaliseHost(scheme, hostport string) string {
	u := url.URL{Host: strings.ToLower(hostport)}
	host, port := u.Hostname(), u.Port()
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return host
	}
	return net.JoinHostPort(host, port)
}
