package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	ok := map[string]string{
		"":                 "/",
		"/":                "/",
		"/x":               "/x",
		"/app/page":        "/app/page",
		"/app/page/":       "/app/page/",
		"/admin-only/../x": "/x",
		"//admin-only":     "/admin-only",
		"///a//b///":       "/a/b/",
		"/a/./b":           "/a/b",
		"/a/b/.":           "/a/b/",
		"/a/b/..":          "/a/",
		"/a/b/../..":       "/",
		"/.well-known/x":   "/.well-known/x",
		"/a/%2e/b":         "/a/b",
		"/a/%2E%2e/b":      "/b",
		"/a/.%2e/b":        "/b",
		"/caf%C3%A9":       "/café",
		"/%41dmin-only":    "/Admin-only",
		"/Admin-only":      "/Admin-only", // case is kept: only matching folds it
		"/..a/b..c":        "/..a/b..c",
		"/a.b/c.d":         "/a.b/c.d",
		"/a:b/c%3Ad":       "/a:b/c:d",
		"/50%25":           "/50%",
		"/sp%20ace":        "/sp ace",
	}
	for in, want := range ok {
		got, err := NormalizePath(in)
		if err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"/admin-only%2F",
		"/admin-only%2f..%2f",
		"/a%5Cb",
		"/a%5cb",
		`/a\b`,
		`/a\..\b`,
		"/%2e%2e/admin-only",
		"/../admin-only",
		"/a/../../b",
		"/..",
		"/a/b%00",
		"/a/b\x00",
		"/a\tb",
		"/a%0Ab",
		"/a%7f",
		"/%",
		"/%2",
		"/%zz",
		"/%%32F",
		"/x/..;/admin-only",
		"/admin-only/..%3Bx/",
		"/x/.;/admin-only",
		"/x/%2e%2e;jsessionid=1/admin-only",
		"admin-only",
		"*",
		// What servlet containers, IIS and Windows read as another path.
		"/admin-only;x/",
		"/admin-only%3bx/",
		"/admin-only%3B/",
		"/a;b/c",
		"/a/x;..",
		"/admin-only/x..;/",
		"/;/admin-only",
		"/admin-only./",
		"/admin-only.",
		"/admin-only%2e/",
		"/admin-only%2E",
		"/admin-only%20/",
		"/admin-only%20",
		"/admin-only.%20./x",
		"/..a/b..",
		"/admin-only.../x",
		"/admin-only::$INDEX_ALLOCATION/x",
		"/admin-only:$i30:$INDEX_ALLOCATION/",
		"/admin-only%3a%3a$DATA",
	}
	for _, in := range bad {
		if got, err := NormalizePath(in); !errors.Is(err, ErrAmbiguousPath) {
			t.Errorf("NormalizePath(%q) = %q, %v; want ErrAmbiguousPath", in, got, err)
		}
	}
}

func TestNormalizePathCleanInputDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := NormalizePath("/app/dashboard/items/42"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("NormalizePath allocated %v times for a clean path", allocs)
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{
		"/", "/admin-only/../x", "//admin-only", "/admin-only%2F", "/%2e%2e/admin-only",
		"/a/./b/", "/a/b/..", "/caf%C3%A9", "/50%25", "/x/..;/y", `/a\b`, "/a%00",
		"/admin-only;x/", "/admin-only%3b/", "/Admin-Only/", "/admin-only./", "/admin-only%20/",
		"/admin-only%2e/", "/admin-only::$DATA", "/admin-only",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if err != nil {
			if !errors.Is(err, ErrAmbiguousPath) || out != "" {
				t.Fatalf("NormalizePath(%q) = %q, %v", in, out, err)
			}
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("NormalizePath(%q) = %q: does not start with /", in, out)
		}
		if strings.Contains(out, "//") {
			t.Fatalf("NormalizePath(%q) = %q: contains //", in, out)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q: has a dot segment", in, out)
			}
			// Nothing another server would read as a different segment.
			if strings.ContainsAny(seg, ";") || strings.Contains(seg, ":$") ||
				strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") {
				t.Fatalf("NormalizePath(%q) = %q: segment %q reads differently elsewhere", in, out, seg)
			}
		}
		// The output is decoded; what travels upstream is its escaped form,
		// and both must normalise back to the same path.
		escaped := (&url.URL{Path: out}).EscapedPath()
		again, err := NormalizePath(escaped)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> (escaped %q) %q, %v", in, out, escaped, again, err)
		}
		if !strings.Contains(out, "%") {
			again, err := NormalizePath(out)
			if err != nil || again != out {
				t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
			}
		}
	})
}
