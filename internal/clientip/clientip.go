// Package clientip works out who a request really came from, believing
// X-Forwarded-* headers only when the direct peer is a trusted proxy.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver knows which peers are trusted proxies. It is immutable after New
// and safe for concurrent use.
type Resolver struct {
	prefixes []netip.Prefix
}

// New builds a Resolver from CIDRs ("10.0.0.0/8") or single addresses
// ("192.0.2.1"). A nil or empty list trusts nobody.
func New(trusted []string) (*Resolver, error) {
	r := &Resolver{}
	for i, s := range trusted {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted_proxies[%d]: not a CIDR or IP address: %q", i, s)
			}
			r.prefixes = append(r.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies[%d]: not a CIDR or IP address: %q", i, s)
		}
		a = a.Unmap()
		r.prefixes = append(r.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

// Trusted reports whether addr belongs to a trusted proxy. IPv4-mapped IPv6
// addresses are compared as IPv4 so a dual-stack listener behaves the same.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if r == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Peer returns the address of the direct TCP peer, or the zero Addr when
// RemoteAddr cannot be parsed (for example a Unix socket).
func Peer(r *http.Request) netip.Addr {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// PeerTrusted reports whether the direct peer of r is a trusted proxy.
func (r *Resolver) PeerTrusted(req *http.Request) bool {
	return r.Trusted(Peer(req))
}

// ClientIP returns the address of the client. From an untrusted peer that is
// the peer itself; from a trusted proxy it is the rightmost X-Forwarded-For
// entry that is not itself a trusted proxy, because only the part of the chain
// our own proxies appended can be believed. When every entry is trusted the
// leftmost one is returned. Unparseable entries stop the walk: whatever lies
// left of them was written by someone we cannot vouch for, so the last
// trusted hop is the best answer.
func (r *Resolver) ClientIP(req *http.Request) netip.Addr {
	peer := Peer(req)
	if !r.Trusted(peer) {
		return peer
	}
	hops := forwardedFor(req.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return client
		}
		client = a
		if !r.Trusted(a) {
			return a
		}
	}
	return client
}

// ForwardedProtoHost returns the scheme and host the client used. The
// X-Forwarded-Proto and X-Forwarded-Host headers are honoured only from a
// trusted peer; otherwise the connection itself decides.
func (r *Resolver) ForwardedProtoHost(req *http.Request) (proto, host string) {
	proto, host = "http", req.Host
	if req.TLS != nil {
		proto = "https"
	}
	if !r.PeerTrusted(req) {
		return proto, host
	}
	if p := firstValue(req.Header.Get("X-Forwarded-Proto")); p != "" {
		if p = strings.ToLower(p); p == "http" || p == "https" {
			proto = p
		}
	}
	if h := firstValue(req.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	return proto, host
}

// firstValue takes the first element of a comma-separated header value: the
// one written by the proxy closest to the client.
func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// forwardedFor flattens every X-Forwarded-For line into one list of hops,
// in order, since proxies may append lines rather than extend the last one.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(line, ",") {
			if part = strings.TrimSpace(part); part != "" {
				hops = append(hops, part)
			}
		}
	}
	return hops
}

// parseHop accepts "1.2.3.4", "1.2.3.4:5678", "2001:db8::1" and
// "[2001:db8::1]:443".
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
