package proxy

import (
	"errors"
	"strings"
)

// ErrAmbiguousPath means a request path could be read more than one way by
// the gateway and an upstream (encoded "/" or "\", control characters, bad
// escapes, ".." above the root, ";" parameters, a segment ending in a dot or
// a space). Callers answer 400 and forward nothing.
var ErrAmbiguousPath = errors.New("proxy: ambiguous request path")

// NormalizePath turns an escaped request path (r.URL.EscapedPath(), or the
// path part of X-Forwarded-Uri) into the one canonical, decoded path that
// routing and policy look at and that is forwarded upstream.
//
// It percent-decodes, resolves "." and ".." segments (also when they were
// encoded, as in "/%2e%2e/"), collapses runs of "/", and keeps a trailing
// "/" when the input had one or ended in a dot segment (RFC 3986 §5.2.4:
// "/a/b/.." is "/a/"). It refuses rather than guesses (ErrAmbiguousPath):
//   - an encoded "/" (%2F) or "\" (%5C), or a literal "\";
//   - NUL or any other control character, literal or encoded;
//   - an escape that is not "%" and two hex digits;
//   - a ".." that would climb above the root: "/%2e%2e/admin" is refused,
//     never quietly mapped to "/admin", so a probe is visible as a 400;
//   - a ";" anywhere (also "%3B"): servlet containers cut a segment's
//     parameters, so "/admin;x/" is their "/admin/" while nginx and Node
//     read a segment "admin;x", and ".;x" and "..;x" are dot segments;
//   - a segment that ends in "." or " " (also "%2E", "%20"): IIS and
//     Windows drop them, so "/admin./" and "/admin%20/" are "/admin/"
//     there;
//   - a segment holding ":$" (IIS's "::$DATA" and "::$INDEX_ALLOCATION"
//     name a file's or a directory's stream: "/admin::$INDEX_ALLOCATION/"
//     is "/admin/");
//   - a path that does not start with "/" (except "", which means "/").
//
// The result always starts with "/", holds no "//" and no dot segments, and
// is decoded: a literal "%" in it stands for itself. Normalising its
// escaped form (url.URL{Path: p}.EscapedPath()) gives it back unchanged.
func NormalizePath(escapedPath string) (string, error) {
	if escapedPath == "" {
		return "/", nil
	}
	if escapedPath[0] != '/' {
		return "", ErrAmbiguousPath
	}
	if isClean(escapedPath) {
		return escapedPath, nil
	}
	decoded, err := decodePath(escapedPath)
	if err != nil {
		return "", err
	}
	return resolveDots(decoded)
}

// isClean reports whether p needs no work at all, the common case, so that
// NormalizePath allocates nothing for ordinary requests.
func isClean(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%', c == '\\', c < 0x20, c == 0x7f, c == ';', c == ' ':
			return false
		case c == '.':
			// A segment's trailing dot (or a dot segment, seen at its
			// slash below) is for resolveDots to judge.
			if i+1 == len(p) || p[i+1] == '/' {
				return false
			}
		case c == ':':
			if i+1 < len(p) && p[i+1] == '$' {
				return false
			}
		case c == '/':
			// "//" and "/." (a dot segment may follow) start at a
			// slash; look at what comes next.
			if i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.') {
				return false
			}
		}
	}
	return true
}

// decodePath percent-decodes p, refusing the characters that would let the
// decoded path split differently from the encoded one.
func decodePath(p string) (string, error) {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", ErrAmbiguousPath
			}
			c = unhex(p[i+1])<<4 | unhex(p[i+2])
			if c == '/' {
				return "", ErrAmbiguousPath
			}
			i += 2
		}
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "", ErrAmbiguousPath
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// resolveDots removes empty and dot segments from a decoded path that starts
// with "/".
func resolveDots(p string) (string, error) {
	segs := make([]string, 0, strings.Count(p, "/"))
	trailing := false
	rest := p[1:]
	for {
		seg, more, found := strings.Cut(rest, "/")
		trailing = false
		switch {
		case seg == "":
			trailing = true
		case seg == ".":
			trailing = true
		case seg == "..":
			if len(segs) == 0 {
				return "", ErrAmbiguousPath
			}
			segs = segs[:len(segs)-1]
			trailing = true
		case !plainSegment(seg):
			return "", ErrAmbiguousPath
		default:
			segs = append(segs, seg)
		}
		if !found {
			break
		}
		rest = more
	}
	if len(segs) == 0 {
		return "/", nil
	}
	n := len(segs)
	for _, s := range segs {
		n += len(s)
	}
	if trailing {
		n++
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailing {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// plainSegment reports whether a decoded segment (neither empty nor a dot
// segment) reads the same to every common upstream: no ";" parameters, no
// trailing "." or " ", no Windows stream name.
func plainSegment(seg string) bool {
	if last := seg[len(seg)-1]; last == '.' || last == ' ' {
		return false
	}
	return strings.IndexByte(seg, ';') < 0 && !strings.Contains(seg, ":$")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
