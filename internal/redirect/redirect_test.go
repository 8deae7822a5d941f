package redirect

import (
	"net/url"
	"testing"
)

const publicURL = "https://gw.example.com"

var allowedHosts = []string{"app.example.com", "Wiki.Example.com:8443"}

func newValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := New(publicURL, allowedHosts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, pu := range []string{"", "gw.example.com", "/relative", "ftp://gw.example.com", "https://"} {
		if _, err := New(pu, nil); err == nil {
			t.Errorf("New(%q) accepted a public URL that is not absolute http(s)", pu)
		}
	}
	for _, h := range []string{"", "evil.com/path", "a@b", `a\b`} {
		if _, err := New(publicURL, []string{h}); err == nil {
			t.Errorf("New accepted allowed host %q", h)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	v := newValidator(t)
	for _, rd := range []string{
		"/",
		"/x",
		"/x?y#z",
		"/app/page?q=a+b&next=%2Fother#frag",
		"/a/b/c/",
		"/search?q=%E2%9C%93",
		"/caf%C3%A9",
		"/a:b", // a colon in a path segment is not a scheme
		"https://gw.example.com/x",
		"https://GW.example.com:443/x?y",
		"http://gw.example.com/", // same host, scheme left to the caller's deployment
		"https://app.example.com",
		"https://app.example.com/deep/link?x=1#top",
		"HTTPS://app.example.com/",
		"https://wiki.example.com:8443/page",
	} {
		got, ok := v.Validate(rd)
		if !ok || got != rd {
			t.Errorf("Validate(%q) = %q, %v; want it accepted unchanged", rd, got, ok)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	v := newValidator(t)
	for _, rd := range []string{
		"",
		"//evil.com",
		"//evil.com/x",
		"///evil.com",
		`/\evil.com`,
		`/\/evil.com`,
		"/\t/evil.com",
		"/\n/evil.com",
		"/\r\n/evil.com",
		"\t//evil.com",
		" //evil.com",
		"/x ",
		"/x\x00",
		"/x\x7f",
		`/path\with\backslash`,
		"/%2F%2Fevil.com",
		"/%2f/evil.com",
		"%2F%2Fevil.com",
		"/%5Cevil.com",
		"/%5cevil.com",
		"/%09/evil.com",
		"/%0d%0aSet-Cookie:x=y",
		"/%252F%252Fevil.com", // double-encoded
		"/%25252F%25252Fevil.com",
		"/%zz",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"vbscript:x",
		"ftp://gw.example.com/",
		"https:evil.com",
		"https:/evil.com",
		"https:///evil.com",
		"https://evil.com",
		"https://evil.com/gw.example.com",
		"https://gw.example.com.evil.com/",
		"https://gw.example.com@evil.com/",
		"https://public@evil",
		"https://user:pass@gw.example.com/",
		"https://evil.com#@gw.example.com",
		"https://evil.com?@gw.example.com",
		`https://gw.example.com\@evil.com`,
		"https://gw.example.com%2F@evil.com",
		"https://gw.example.com%40evil.com",
		"https://gw.example.com:8443/", // public host on another port is another origin
		"https://wiki.example.com/",    // allowed only on :8443
		"x",
		"relative/path",
		"?q=1",
		"#frag",
		"\u2028/evil",
		"/\u2028",
		"/\xff",
	} {
		if got, ok := v.Validate(rd); ok || got != "" {
			t.Errorf("Validate(%q) = %q, %v; want rejected", rd, got, ok)
		}
	}
}

func TestValidateLongInput(t *testing.T) {
	v := newValidator(t)
	long := "/" + string(make([]byte, 0, maxLen))
	for len(long) <= maxLen {
		long += "a"
	}
	if _, ok := v.Validate(long); ok {
		t.Error("an over-long target was accepted")
	}
}

// FuzzValidate checks the one property that matters: whatever is accepted
// stays on an allowed host, both as Go parses it and as a browser resolves
// it against the gateway's own URL.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"/", "/x?y#z", "//evil.com", `/\evil.com`, "/\t/evil.com", "/%2F%2Fevil.com",
		"https://gw.example.com/x", "https://app.example.com", "https://public@evil",
		"javascript:alert(1)", "https:evil.com", "/%252F%252Fevil", "/a/../..//evil",
	} {
		f.Add(s)
	}
	v := newValidator(f)
	base, err := url.Parse(publicURL + "/some/page?from=here")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rd string) {
		got, ok := v.Validate(rd)
		if !ok {
			if got != "" {
				t.Fatalf("rejected %q but returned %q", rd, got)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q which does not parse: %v", got, err)
		}
		if u.User != nil {
			t.Fatalf("accepted %q with user info", got)
		}
		if u.Host != "" && !v.allowed[normaliseHost(u.Scheme, u.Host)] {
			t.Fatalf("accepted %q on host %q", got, u.Host)
		}
		r := base.ResolveReference(u)
		if !v.allowed[normaliseHost(r.Scheme, r.Host)] {
			t.Fatalf("accepted %q which resolves to host %q", got, r.Host)
		}
		if r.Scheme != "http" && r.Scheme != "https" {
			t.Fatalf("accepted %q which resolves to scheme %q", got, r.Scheme)
		}
	})
}

// The target travels as one escaped query value, so a target carrying its
// own query or fragment cannot add parameters to the sign-in URL.
func TestLoginURL(t *testing.T) {
	for _, tc := range []struct{ base, target, want string }{
		{"", "/.gatehouse/account/", "/.gatehouse/login?rd=%2F.gatehouse%2Faccount%2F"},
		{"https://gw.example.com", "https://app.example.com/a?b=1&rd=//evil#x", "https://gw.example.com/.gatehouse/login?rd=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26rd%3D%2F%2Fevil%23x"},
	} {
		if got := LoginURL(tc.base, tc.target); got != tc.want {
			t.Errorf("LoginURL(%q, %q) = %q, want %q", tc.base, tc.target, got, tc.want)
		}
	}
}
