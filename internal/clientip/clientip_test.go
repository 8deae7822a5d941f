package clientip

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func mustNew(t *testing.T, trusted ...string) *Resolver {
	t.Helper()
	r, err := New(trusted)
	if err != nil {
		t.Fatalf("New(%q): %v", trusted, err)
	}
	return r
}

func TestNewRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "not-an-ip", "10.0.0.1/", "", "1.2.3.4:80"} {
		if _, err := New([]string{"127.0.0.1", bad}); err == nil {
			t.Errorf("New accepted %q", bad)
		}
	}
}

func TestTrusted(t *testing.T) {
	r := mustNew(t, "10.0.0.0/8", "192.0.2.7", "2001:db8::/32")
	cases := map[string]bool{
		"10.1.2.3":         true,
		"::ffff:10.1.2.3":  true, // IPv4-mapped, as a dual-stack listener reports it
		"192.0.2.7":        true,
		"192.0.2.8":        false,
		"2001:db8::1":      true,
		"2001:db9::1":      false,
		"11.0.0.1":         false,
		"::ffff:192.0.2.8": false,
	}
	for s, want := range cases {
		if got := r.Trusted(netip.MustParseAddr(s)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", s, got, want)
		}
	}
	if r.Trusted(netip.Addr{}) {
		t.Error("the zero address must never be trusted")
	}
	var nilResolver *Resolver
	if nilResolver.Trusted(netip.MustParseAddr("10.0.0.1")) {
		t.Error("a nil Resolver must trust nobody")
	}
}

func TestClientIP(t *testing.T) {
	r := mustNew(t, "10.0.0.0/8", "::1")
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer ignores XFF", "203.0.113.9:5555", []string{"1.1.1.1"}, "203.0.113.9"},
		{"untrusted peer without XFF", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"trusted peer without XFF", "10.0.0.2:1234", nil, "10.0.0.2"},
		{"trusted peer, one hop", "10.0.0.2:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left entries are skipped", "10.0.0.2:1234", []string{"6.6.6.6, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"multiple header lines", "10.0.0.2:1234", []string{"6.6.6.6", "198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"all trusted gives leftmost", "10.0.0.2:1234", []string{"10.0.0.5, 10.0.0.4"}, "10.0.0.5"},
		{"garbage stops the walk", "10.0.0.2:1234", []string{"6.6.6.6, junk, 10.0.0.4"}, "10.0.0.4"},
		{"hop with port", "10.0.0.2:1234", []string{"198.51.100.1:4444"}, "198.51.100.1"},
		{"bracketed IPv6 hop", "10.0.0.2:1234", []string{"[2001:db8::5]:443"}, "2001:db8::5"},
		{"IPv6 trusted peer", "[::1]:8080", []string{"2001:db8::5"}, "2001:db8::5"},
		{"mapped peer", "[::ffff:10.0.0.2]:1", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.remote
			for _, v := range c.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.ClientIP(req); got != netip.MustParseAddr(c.want) {
				t.Errorf("ClientIP = %v, want %v", got, c.want)
			}
		})
	}
}

func TestClientIPUnparseableRemote(t *testing.T) {
	r := mustNew(t, "10.0.0.0/8")
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "@"
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := r.ClientIP(req); got.IsValid() {
		t.Errorf("ClientIP = %v, want the zero Addr for an unparseable peer", got)
	}
}

func TestForwardedProtoHost(t *testing.T) {
	r := mustNew(t, "10.0.0.0/8")

	req := httptest.NewRequest("GET", "http://gw.example/", nil)
	req.RemoteAddr = "203.0.113.9:1"
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	if p, h := r.ForwardedProtoHost(req); p != "http" || h != "gw.example" {
		t.Errorf("untrusted: got %s %s, want http gw.example", p, h)
	}

	req.TLS = &tls.ConnectionState{}
	if p, _ := r.ForwardedProtoHost(req); p != "https" {
		t.Errorf("untrusted TLS: got %s, want https", p)
	}

	req = httptest.NewRequest("GET", "http://gw.internal/", nil)
	req.RemoteAddr = "10.0.0.1:1"
	req.Header.Set("X-Forwarded-Proto", "HTTPS, http")
	req.Header.Set("X-Forwarded-Host", "app.example, gw.internal")
	if p, h := r.ForwardedProtoHost(req); p != "https" || h != "app.example" {
		t.Errorf("trusted: got %s %s, want https app.example", p, h)
	}

	req.Header.Set("X-Forwarded-Proto", "gopher")
	req.Header.Del("X-Forwarded-Host")
	if p, h := r.ForwardedProtoHost(req); p != "http" || h != "gw.internal" {
		t.Errorf("trusted with bogus proto: got %s %s, want http gw.internal", p, h)
	}
}
