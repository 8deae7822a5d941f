package proxy

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	ok := map[string]string{
		"":                   "",
		"beta.test":          "beta.test",
		"beta.test.":         "beta.test",
		"BETA.Test.":         "beta.test",
		"beta.test:80":       "beta.test",
		"beta.test:443":      "beta.test",
		"beta.test.:8443":    "beta.test",
		"beta.test:":         "beta.test",
		"localhost:8080":     "localhost",
		"127.0.0.1:80":       "127.0.0.1",
		"[::1]:8080":         "::1",
		"[0::0:1]":           "::1",
		"[2001:DB8::1]":      "2001:db8::1",
		"[::ffff:1.2.3.4]":   "::ffff:1.2.3.4",
		"under_score.local":  "under_score.local",
		"xn--caf-dma.test":   "xn--caf-dma.test",
		"a-b.c-d.example":    "a-b.c-d.example",
		"Beta.Test.:443":     "beta.test",
		"beta.test.:0443":    "beta.test",
		"BETA.TEST":          "beta.test",
		"example.com:65535":  "example.com",
		"single-label-host.": "single-label-host",
	}
	for in, want := range ok {
		got, err := CanonicalHost(in)
		if err != nil || got != want {
			t.Errorf("CanonicalHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"beta.test%00", "beta.test\x00", "beta.test%2e", "beta.test..", "beta..test", ".beta.test",
		".", "beta test", "beta.test ", "beta.test\t", "beta.test\r\n", "bêta.test", "beta.test:8o",
		"beta.test:123456", "beta.test::80", "::1", "[::1", "[]", "[::1]x", "[fe80::1%25eth0]",
		"user@beta.test", "beta.test/x", "beta.test,other.test", "beta.test\\", "beta.test;", ":80", "[::1]:x",
	}
	for _, in := range bad {
		if got, err := CanonicalHost(in); !errors.Is(err, ErrBadHost) {
			t.Errorf("CanonicalHost(%q) = %q, %v; want ErrBadHost", in, got, err)
		}
	}
}

func TestCanonicalHostDoesNotAllocateForCanonicalHosts(t *testing.T) {
	for _, h := range []string{"beta.test", "beta.test:443", "beta.test."} {
		if allocs := testing.AllocsPerRun(100, func() { CanonicalHost(h) }); allocs != 0 {
			t.Errorf("CanonicalHost(%q) allocated %v times", h, allocs)
		}
	}
}

// FuzzCanonicalHost: a canonical host is lower case, has no port, no
// trailing dot and only the bytes of a host name or IPv6 literal, and
// canonicalising it again changes nothing.
func FuzzCanonicalHost(f *testing.F) {
	for _, s := range []string{
		"beta.test", "BETA.test.", "beta.test.:443", "beta.test%00", "[::1]:80", "beta.test..",
		"beta.test ", "[fe80::1%25eth0]", "b\x00eta.test",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CanonicalHost(in)
		if err != nil {
			if !errors.Is(err, ErrBadHost) || out != "" {
				t.Fatalf("CanonicalHost(%q) = %q, %v", in, out, err)
			}
			return
		}
		if out != strings.ToLower(out) || strings.HasSuffix(out, ".") {
			t.Fatalf("CanonicalHost(%q) = %q: not canonical", in, out)
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._:", c) >= 0) {
				t.Fatalf("CanonicalHost(%q) = %q: byte %q", in, out, c)
			}
		}
		again := out
		if strings.Contains(out, ":") {
			again = "[" + out + "]"
		}
		if back, err := CanonicalHost(again); err != nil || back != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, back, err)
		}
	})
}
