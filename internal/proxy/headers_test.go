package proxy

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestStripIdentityHeaders(t *testing.T) {
	h := http.Header{}
	spoofed := []string{
		"X-Gatehouse-User", "X-Gatehouse-Assertion", "X_Gatehouse_Role", "x_gatehouse_user",
		"X-GATEHOUSE-ROLE", "x-gatehouse-", "X-Gatehouse-Anything-New",
		"X-Forwarded-User", "X_Forwarded_Email", "x-forwarded-email", "X-Forwarded-Groups",
		"X_FORWARDED_PREFERRED_USERNAME", "X-Forwarded-Preferred-Username",
	}
	for _, k := range spoofed {
		h[k] = []string{"attacker"} // raw keys, as a server might hand them over
	}
	kept := []string{
		"Accept", "Cookie", "X-Forwarded-Users", "X-Forwarded-User-Agent", "X-Gatehousex",
		"X-Forwarded-For", "X-Gate-House-User", "Authorization",
	}
	for _, k := range kept {
		h[k] = []string{"ok"}
	}
	StripIdentityHeaders(h)
	for _, k := range spoofed {
		if _, ok := h[k]; ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range kept {
		if h.Get(k) != "ok" {
			t.Errorf("%s was removed", k)
		}
	}
}

func TestStripCookie(t *testing.T) {
	const name = "__Host-gatehouse"
	cases := []struct {
		in   []string
		want []string // nil: header gone
	}{
		{[]string{"__Host-gatehouse=abc"}, nil},
		{[]string{"a=1; __Host-gatehouse=abc; b=2"}, []string{"a=1; b=2"}},
		{[]string{"a=1;__Host-gatehouse=abc;b=\"q v\""}, []string{"a=1; b=\"q v\""}},
		{[]string{"__Host-gatehouse=x; __Host-gatehouse=y; app=z"}, []string{"app=z"}},
		{[]string{" __Host-gatehouse =x ; app=z"}, []string{"app=z"}},
		{[]string{"app=__Host-gatehouse"}, []string{"app=__Host-gatehouse"}},
		{[]string{"__host-gatehouse=keep"}, []string{"__host-gatehouse=keep"}}, // case-sensitive
		{[]string{"__Host-gatehouse2=keep; x__Host-gatehouse=keep"}, []string{"__Host-gatehouse2=keep; x__Host-gatehouse=keep"}},
		{[]string{"a=1", "__Host-gatehouse=abc", "b=2; __Host-gatehouse=d"}, []string{"a=1", "b=2"}},
		{[]string{"a=1;  b=2"}, []string{"a=1;  b=2"}}, // untouched lines stay byte for byte
	}
	for _, c := range cases {
		h := http.Header{"Cookie": append([]string(nil), c.in...)}
		StripCookie(h, name)
		got, ok := h["Cookie"]
		if c.want == nil {
			if ok {
				t.Errorf("StripCookie(%q) left %q, want header gone", c.in, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("StripCookie(%q) = %q, want %q", c.in, got, c.want)
		}
	}

	h := http.Header{}
	StripCookie(h, name)
	if _, ok := h["Cookie"]; ok {
		t.Error("StripCookie created a Cookie header")
	}
}

func TestIdentityContextAndHeaders(t *testing.T) {
	if _, ok := IdentityFrom(context.Background()); ok {
		t.Fatal("empty context carries an identity")
	}
	if _, ok := IdentityFrom(WithIdentity(context.Background(), nil)); ok {
		t.Fatal("a nil identity must read as absent")
	}
	id := &Identity{Assertion: "jwt", User: "u1", Email: "a@example.com", Role: "viewer", SharedComputer: true}
	got, ok := IdentityFrom(WithIdentity(context.Background(), id))
	if !ok || got != id {
		t.Fatalf("IdentityFrom = %v, %v", got, ok)
	}
	h := http.Header{}
	id.SetHeaders(h)
	want := map[string]string{
		"X-Gatehouse-Assertion":       "jwt",
		"X-Gatehouse-User":            "u1",
		"X-Gatehouse-Email":           "a@example.com",
		"X-Gatehouse-Role":            "viewer",
		"X-Gatehouse-Shared-Computer": "true",
		"X-Forwarded-User":            "u1",
		"X-Forwarded-Email":           "a@example.com",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	id.SharedComputer = false
	id.SetHeaders(h)
	if h.Get("X-Gatehouse-Shared-Computer") != "false" {
		t.Error("shared computer flag not written as false")
	}
}

func browserHeaders() http.Header {
	return http.Header{
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Accept-Encoding":           {"gzip, deflate, br, zstd"},
		"Accept-Language":           {"en-GB,en;q=0.9,fr;q=0.8"},
		"Cache-Control":             {"max-age=0"},
		"Cookie":                    {"app_session=abc123; theme=dark; _ga=GA1.1.1234"},
		"Referer":                   {"https://app.example.com/dashboard"},
		"Sec-Ch-Ua":                 {`"Chromium";v="130", "Not?A_Brand";v="99"`},
		"Sec-Ch-Ua-Mobile":          {"?0"},
		"Sec-Ch-Ua-Platform":        {`"Linux"`},
		"Sec-Fetch-Dest":            {"document"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"same-origin"},
		"Sec-Fetch-User":            {"?1"},
		"Upgrade-Insecure-Requests": {"1"},
		"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"},
		"X-Requested-With":          {"XMLHttpRequest"},
	}
}

func TestStripHeadersDoNotAllocateOnCleanRequests(t *testing.T) {
	h := browserHeaders()
	allocs := testing.AllocsPerRun(100, func() {
		StripIdentityHeaders(h)
		StripCookie(h, "__Host-gatehouse")
	})
	if allocs != 0 {
		t.Errorf("stripping a clean browser request allocated %v times", allocs)
	}
}

func BenchmarkStripIdentityHeaders(b *testing.B) {
	h := browserHeaders()
	b.ReportAllocs()
	for b.Loop() {
		StripIdentityHeaders(h)
	}
}

func BenchmarkStripCookie(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{"Cookie": {"app_session=abc123; __Host-gatehouse=s3cr3t; theme=dark"}}
		StripCookie(h, "__Host-gatehouse")
	}
}

// FuzzStripCookie: the named cookie never survives, and every other cookie
// net/http can read is still there, in order.
func FuzzStripCookie(f *testing.F) {
	f.Add("a=1; __Host-gatehouse=abc; b=2", "__Host-gatehouse")
	f.Add("__Host-gatehouse=x;__Host-gatehouse=y", "__Host-gatehouse")
	f.Add(" sid =1;sid=2; sidx=3", "sid")
	f.Add(`q="a b"; sid=; =; ;;`, "sid")
	f.Fuzz(func(t *testing.T, line, name string) {
		if !validCookieName(name) {
			return
		}
		in := http.Header{"Cookie": {line}}
		out := http.Header{"Cookie": {line}}
		StripCookie(out, name)
		for _, l := range out["Cookie"] {
			if l == "" && line != "" {
				t.Fatalf("StripCookie left an empty Cookie line from %q", line)
			}
			for _, part := range strings.Split(l, ";") {
				n, _, _ := strings.Cut(part, "=")
				if trimSpace(n) == name {
					t.Fatalf("cookie %q survived in %q (from %q)", name, l, line)
				}
			}
		}
		var want []string
		for _, c := range (&http.Request{Header: in}).Cookies() {
			if c.Name != name {
				want = append(want, c.Name+"="+c.Value)
			}
		}
		var got []string
		for _, c := range (&http.Request{Header: out}).Cookies() {
			got = append(got, c.Name+"="+c.Value)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("other cookies changed: %q -> %q; want %q (line %q)", line, got, want, out["Cookie"])
		}
	})
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
