package proxy

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestUpstreamHeaderDropsWhatTheGatewayOwns(t *testing.T) {
	h := http.Header{}
	spoofed := []string{
		"X-Gatehouse-User", "X-Gatehouse-Assertion", "X_Gatehouse_Role", "x_gatehouse_user",
		"X-GATEHOUSE-ROLE", "x-gatehouse-", "X-Gatehouse-Anything-New",
		"X-Forwarded-User", "X_Forwarded_Email", "x-forwarded-email", "X-Forwarded-Groups",
		"X_FORWARDED_PREFERRED_USERNAME", "X-Forwarded-Preferred-Username",
		// The forwarding family, which the gateway writes itself.
		"X-Forwarded-For", "X_Forwarded_Host", "x-forwarded-proto", "X-Forwarded-Users",
		"X-Forwarded-User-Agent", "Forwarded", "X-Real-Ip", "x_real_ip",
	}
	for _, k := range spoofed {
		h[k] = []string{"attacker"} // raw keys, as a server might hand them over
	}
	kept := []string{
		"Accept", "X-Gatehousex", "X-Gate-House-User", "Authorization", "Forwarded-For",
	}
	for _, k := range kept {
		h[k] = []string{"ok"}
	}
	h["Cookie"] = []string{"app=1; __Host-gatehouse=secret; theme=dark"}
	out := upstreamHeader(h, "__Host-gatehouse")
	for _, k := range spoofed {
		if _, ok := out[k]; ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range kept {
		if out.Get(k) != "ok" {
			t.Errorf("%s was removed", k)
		}
	}
	if got := out.Get("Cookie"); got != "app=1; theme=dark" {
		t.Errorf("Cookie = %q, want the app's cookies only", got)
	}
	if len(h) != len(spoofed)+len(kept)+1 || h.Get("Cookie") == "" {
		t.Error("upstreamHeader changed the header it copied")
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

func TestIdentityHeaders(t *testing.T) {
	id := &Identity{Assertion: "jwt", User: "u1", Email: "a@example.com", Role: "viewer", SharedComputer: true}
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
	if len(h) != len(want) {
		t.Errorf("%d headers set, want %d", len(h), len(want))
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", k, got, v)
		}
	}
	if got := (&Identity{}).headerValue(t, "X-Gatehouse-Shared-Computer"); got != "false" {
		t.Errorf("shared computer flag = %q, want false", got)
	}

	// The values are shared by every request of a session: a second
	// request's Add must not show up in the first one's header.
	h2 := http.Header{}
	id.SetHeaders(h2)
	h2.Add("X-Gatehouse-Role", "extra")
	if got := h.Values("X-Gatehouse-Role"); len(got) != 1 || got[0] != "viewer" {
		t.Errorf("an Add on another request's header leaked in: %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { id.SetHeaders(h) }); allocs != 0 {
		t.Errorf("SetHeaders allocated %v times", allocs)
	}
}

func (id *Identity) headerValue(t *testing.T, name string) string {
	t.Helper()
	h := http.Header{}
	id.SetHeaders(h)
	return h.Get(name)
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

func TestStripCookieDoesNotAllocateWithoutTheCookie(t *testing.T) {
	h := browserHeaders()
	if allocs := testing.AllocsPerRun(100, func() { StripCookie(h, "__Host-gatehouse") }); allocs != 0 {
		t.Errorf("StripCookie on a request without the session cookie allocated %v times", allocs)
	}
}

// The copy is one map made at its final size: adding the gateway's own
// headers afterwards must not grow it.
func TestUpstreamHeaderHasRoomForTheGatewaysHeaders(t *testing.T) {
	h := browserHeaders()
	id := &Identity{Assertion: "jwt", User: "u1", Email: "a@example.com", Role: "viewer"}
	allocs := testing.AllocsPerRun(100, func() {
		out := upstreamHeader(h, "__Host-gatehouse")
		out["X-Forwarded-For"], out["X-Forwarded-Proto"], out["X-Forwarded-Host"] = nil, nil, nil
		out["User-Agent"] = nil
		id.SetHeaders(out)
	})
	base := testing.AllocsPerRun(100, func() { headerSink = make(http.Header, len(h)+addedHeaders) })
	if allocs > base {
		t.Errorf("copy and gateway headers took %v allocations, the map alone %v", allocs, base)
	}
}

var headerSink http.Header

func BenchmarkUpstreamHeader(b *testing.B) {
	h := browserHeaders()
	b.ReportAllocs()
	for b.Loop() {
		upstreamHeader(h, "__Host-gatehouse")
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
