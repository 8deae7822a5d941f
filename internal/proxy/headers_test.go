package proxy

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/cookies"
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
	h["Cookie"] = []string{"app=1; __Host-gatehouse_session=secret; theme=dark"}
	out := upstreamHeader(h)
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

func TestStripGatewayCookies(t *testing.T) {
	cases := []struct {
		in   []string
		want []string // nil: header gone
	}{
		{[]string{"__Host-gatehouse_session=abc"}, nil},
		{[]string{"a=1; __Host-gatehouse_session=abc; b=2"}, []string{"a=1; b=2"}},
		{[]string{"a=1;__Host-gatehouse_csrf=abc;b=\"q v\""}, []string{"a=1; b=\"q v\""}},
		{[]string{"gatehouse_session=x; gatehouse_csrf=y; app=z"}, []string{"app=z"}},
		{[]string{" __Host-gatehouse_sso =x ; app=z"}, []string{"app=z"}},
		{[]string{"app=__Host-gatehouse_session"}, []string{"app=__Host-gatehouse_session"}},
		// Every spelling a server might read as the gateway's.
		{[]string{"__host-GATEHOUSE_Session=x; __Secure-gatehouse_csrf=y; Gatehouse_pk_login=z; k=v"}, []string{"k=v"}},
		{[]string{"gatehouse_anything_new=1"}, nil},
		{[]string{"my_gatehouse_session=keep; gatehouse-session=keep; __Host-gatehouse=keep"},
			[]string{"my_gatehouse_session=keep; gatehouse-session=keep; __Host-gatehouse=keep"}},
		{[]string{"a=1", "__Host-gatehouse_session=abc", "b=2; gatehouse_csrf=d"}, []string{"a=1", "b=2"}},
		{[]string{"a=1;  b=2"}, []string{"a=1;  b=2"}}, // untouched lines stay byte for byte
	}
	for _, c := range cases {
		h := http.Header{"Cookie": append([]string(nil), c.in...)}
		StripGatewayCookies(h)
		got, ok := h["Cookie"]
		if c.want == nil {
			if ok {
				t.Errorf("StripGatewayCookies(%q) left %q, want header gone", c.in, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("StripGatewayCookies(%q) = %q, want %q", c.in, got, c.want)
		}
	}

	h := http.Header{}
	StripGatewayCookies(h)
	if _, ok := h["Cookie"]; ok {
		t.Error("StripGatewayCookies created a Cookie header")
	}
}

func TestDropGatewaySetCookies(t *testing.T) {
	planted := []string{
		"gatehouse_session=attacker; Path=/; HttpOnly",
		"__Host-gatehouse_session=attacker; Path=/; Secure",
		"__HOST-GateHouse_Session=attacker",
		"__Secure-gatehouse_csrf=seed; Secure",
		"gatehouse_csrf=seed",
		" gatehouse_sso = x",
		"=gatehouse_session=attacker; Path=/", // a nameless cookie browsers send back as gatehouse_session=attacker
		"gatehouse_pk_login=x",
	}
	kept := []string{
		"app_session=1; Path=/",
		"theme=dark",
		"my_gatehouse_session=1",
		"prefs=gatehouse_session",
	}
	h := http.Header{"Set-Cookie": append(append([]string(nil), planted...), kept...)}
	dropGatewaySetCookies(h)
	if got := h["Set-Cookie"]; !reflect.DeepEqual(got, kept) {
		t.Errorf("Set-Cookie = %q, want the app's own only: %q", got, kept)
	}

	h = http.Header{"Set-Cookie": {"gatehouse_session=x"}}
	dropGatewaySetCookies(h)
	if _, ok := h["Set-Cookie"]; ok {
		t.Error("an emptied Set-Cookie header stayed")
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

func TestStripGatewayCookiesDoesNotAllocateWithoutThem(t *testing.T) {
	h := browserHeaders()
	if allocs := testing.AllocsPerRun(100, func() { StripGatewayCookies(h) }); allocs != 0 {
		t.Errorf("StripGatewayCookies on a request without gateway cookies allocated %v times", allocs)
	}
	up := http.Header{"Set-Cookie": {"app_session=1; Path=/", "theme=dark"}}
	if allocs := testing.AllocsPerRun(100, func() { dropGatewaySetCookies(up) }); allocs != 0 {
		t.Errorf("dropGatewaySetCookies on an answer without gateway cookies allocated %v times", allocs)
	}
}

// The copy is one map made at its final size: adding the gateway's own
// headers afterwards must not grow it.
func TestUpstreamHeaderHasRoomForTheGatewaysHeaders(t *testing.T) {
	h := browserHeaders()
	id := &Identity{Assertion: "jwt", User: "u1", Email: "a@example.com", Role: "viewer"}
	allocs := testing.AllocsPerRun(100, func() {
		out := upstreamHeader(h)
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
		upstreamHeader(h)
	}
}

func BenchmarkStripCookie(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{"Cookie": {"app_session=abc123; __Host-gatehouse_session=s3cr3t; theme=dark"}}
		StripGatewayCookies(h)
	}
}

// FuzzStripCookie: no gateway cookie survives, and every other cookie
// net/http can read is still there, in order.
func FuzzStripCookie(f *testing.F) {
	f.Add("a=1; __Host-gatehouse_session=abc; b=2")
	f.Add("__Host-gatehouse_session=x;__HOST-GATEHOUSE_CSRF=y")
	f.Add(" sid =1;sid=2; sidx=3")
	f.Add(`q="a b"; sid=; =; ;;`)
	f.Fuzz(func(t *testing.T, line string) {
		in := http.Header{"Cookie": {line}}
		out := http.Header{"Cookie": {line}}
		StripGatewayCookies(out)
		for _, l := range out["Cookie"] {
			if l == "" && line != "" {
				t.Fatalf("StripGatewayCookies left an empty Cookie line from %q", line)
			}
			for _, part := range strings.Split(l, ";") {
				n, _, _ := strings.Cut(part, "=")
				if cookies.Owned(n) {
					t.Fatalf("cookie %q survived in %q (from %q)", n, l, line)
				}
			}
		}
		var want []string
		for _, c := range (&http.Request{Header: in}).Cookies() {
			if !cookies.Owned(c.Name) {
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

// FuzzSetCookie: whatever an upstream answers, no Set-Cookie that a browser
// would store under a gateway name survives.
func FuzzSetCookie(f *testing.F) {
	f.Add("gatehouse_session=x; Path=/")
	f.Add("=__Host-gatehouse_session=x")
	f.Add(" \t__secure-GATEHOUSE_csrf=1")
	f.Add("app=1; gatehouse_session=2")
	f.Fuzz(func(t *testing.T, line string) {
		h := http.Header{"Set-Cookie": {line}}
		dropGatewaySetCookies(h)
		for _, l := range h["Set-Cookie"] {
			if c, err := http.ParseSetCookie(l); err == nil && cookies.Owned(c.Name) {
				t.Fatalf("Set-Cookie %q for %q survived", l, c.Name)
			}
			if browserName(l) != "" && cookies.Owned(browserName(l)) {
				t.Fatalf("Set-Cookie %q survived", l)
			}
		}
	})
}

// browserName is the name a browser stores a Set-Cookie line under, and
// sends back: for a nameless cookie, what its value has before "=".
func browserName(line string) string {
	pair, _, _ := strings.Cut(line, ";")
	name, value, ok := strings.Cut(pair, "=")
	if !ok {
		return ""
	}
	if strings.TrimSpace(name) == "" {
		name, _, _ = strings.Cut(value, "=")
	}
	return strings.TrimSpace(name)
}
