package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
)

const sessionCookie = "__Host-gatehouse_session"

// seen is what the echo upstream reports about the request it received.
type seen struct {
	Path    string      `json:"path"`
	RawPath string      `json:"raw_path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

func echoUpstream(t testing.TB) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{
			Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host, Header: r.Header,
		})
	}))
	t.Cleanup(up.Close)
	return up
}

// gateway mimics the server: normalise, match, (pretend) policy, forward.
// A request carrying "Test-Sign-In" is treated as signed in.
type gateway struct {
	router *Router
	status []int // statuses given to ErrorPage
	mu     sync.Mutex
}

func newGateway(t testing.TB, routes []config.Route, trusted ...string) *gateway {
	t.Helper()
	res, err := clientip.New(trusted)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{}
	rt, err := NewRouter(routes, Options{
		TrustedProxies: res,
		Logger:         slog.New(slog.DiscardHandler),
		ErrorPage: func(w http.ResponseWriter, r *http.Request, status int) {
			g.mu.Lock()
			g.status = append(g.status, status)
			g.mu.Unlock()
			w.WriteHeader(status)
			fmt.Fprintf(w, "gateway error %d", status)
		},
	})
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	t.Cleanup(rt.Close)
	g.router = rt
	return g
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	clean, err := NormalizePath(r.URL.EscapedPath())
	if err != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	host, err := CanonicalHost(r.Host)
	if err != nil {
		http.Error(w, "bad host", http.StatusBadRequest)
		return
	}
	route, ok := g.router.Match(host, clean)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Test-Route", route.Config.Audience)
	var id *Identity
	if r.Header.Get("Test-Sign-In") != "" {
		id = &Identity{Assertion: "signed.jwt.here", User: "user-1", Email: "ann@example.com", Role: "viewer"}
	}
	route.Forward(w, r, id)
}

func decodeSeen(t *testing.T, body io.Reader) seen {
	t.Helper()
	var s seen
	if err := json.NewDecoder(body).Decode(&s); err != nil {
		t.Fatalf("decoding upstream echo: %v", err)
	}
	return s
}

func TestMatch(t *testing.T) {
	routes := []config.Route{
		{PathPrefix: "/", Upstream: "http://u1", Audience: "root"},
		{PathPrefix: "/app", Upstream: "http://u1", Audience: "app"},
		{PathPrefix: "/app/admin", Upstream: "http://u1", Audience: "app-admin"},
		{PathPrefix: "/files/", Upstream: "http://u2", Audience: "files"},
		{Host: "Wiki.Example.com", PathPrefix: "/", Upstream: "http://u3", Audience: "wiki"},
		{Host: "wiki.example.com", PathPrefix: "/api", Upstream: "http://u3", Audience: "wiki-api"},
		{Host: "only.example.com", PathPrefix: "/x", Upstream: "http://u3", Audience: "only-x"},
		{PathPrefix: "/Strict/", Upstream: "http://u4", Audience: "strict", CaseSensitive: true},
		{PathPrefix: "/kit/", Upstream: "http://u4", Audience: "kit"},
	}
	g := newGateway(t, routes)
	cases := []struct{ host, path, want string }{
		{"gw.example.com", "/", "root"},
		{"gw.example.com", "/app", "app"},
		{"gw.example.com", "/app/", "app"},
		{"gw.example.com", "/app/x", "app"},
		{"gw.example.com", "/apps", "root"},
		{"gw.example.com", "/App", "app"}, // any case, as IIS and Express read it
		{"gw.example.com", "/APP/ADMIN/x", "app-admin"},
		{"gw.example.com", "/Strict/x", "strict"},
		{"gw.example.com", "/Strict", "strict"},
		{"gw.example.com", "/strict/x", "root"},  // the route opted out of case folding
		{"gw.example.com", "/\u212Ait/x", "kit"}, // KELVIN SIGN folds to k
		{"gw.example.com", "/kits", "root"},
		{"gw.example.com", "/app/admin", "app-admin"},
		{"gw.example.com", "/app/admin/users", "app-admin"},
		{"gw.example.com", "/app/administrator", "app"},
		{"gw.example.com", "/files", "files"}, // "/files/" covers "/files"
		{"gw.example.com", "/filesx", "root"},
		{"gw.example.com", "/files/", "files"},
		{"gw.example.com", "/files/a/b", "files"},
		{"wiki.example.com", "/app", "wiki"}, // host match beats a longer host-less prefix
		{"WIKI.example.com:8443", "/api/v1", "wiki-api"},
		{"wiki.example.com", "/apis", "wiki"},
		{"only.example.com", "/x/1", "only-x"},
		{"only.example.com", "/y", "root"}, // falls back to host-less routes
		{"[::1]:8080", "/app", "app"},
		{"Wiki.Example.Com.", "/api", "wiki-api"},
		{"wiki.example.com.:443", "/api", "wiki-api"},
	}
	for _, c := range cases {
		host, err := CanonicalHost(c.host)
		if err != nil {
			t.Fatalf("CanonicalHost(%q): %v", c.host, err)
		}
		r, ok := g.router.Match(host, c.path)
		if !ok || r.Config.Audience != c.want {
			got := "<none>"
			if ok {
				got = r.Config.Audience
			}
			t.Errorf("Match(%q, %q) = %s, want %s", c.host, c.path, got, c.want)
		}
	}

	g2 := newGateway(t, []config.Route{{Host: "a.example", PathPrefix: "/", Upstream: "http://u"}})
	if _, ok := g2.router.Match("b.example", "/"); ok {
		t.Error("a host-only configuration matched another host")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	g := newGateway(t, []config.Route{
		{PathPrefix: "/", Upstream: "http://u1"},
		{Host: "wiki.example.com", PathPrefix: "/api", Upstream: "http://u3"},
	})
	allocs := testing.AllocsPerRun(100, func() {
		host, _ := CanonicalHost("wiki.example.com:443")
		g.router.Match(host, "/api/x")
	})
	if allocs != 0 {
		t.Errorf("CanonicalHost and Match allocated %v times", allocs)
	}
}

func TestRouteConfigDefaultsPrefix(t *testing.T) {
	rc := config.Route{Upstream: "http://u", Audience: "aud", Company: "acme", Public: true,
		Allow: config.Allow{Roles: []string{"admin"}}}
	g := newGateway(t, []config.Route{rc})
	r, ok := g.router.Match("x", "/anything")
	if !ok {
		t.Fatal("no match for the default prefix")
	}
	want := rc
	want.PathPrefix = "/"
	if !reflect.DeepEqual(r.Config, want) {
		t.Errorf("Config = %+v, want %+v", r.Config, want)
	}
}

func TestNewRouterReportsEveryProblem(t *testing.T) {
	_, err := NewRouter([]config.Route{
		{PathPrefix: "/ok", Upstream: "http://u"},
		{PathPrefix: "relative", Upstream: "http://u"},
		{PathPrefix: "/a/../b", Upstream: "http://u"},
		{PathPrefix: "/ok", Upstream: "http://u"},
		{PathPrefix: "/c", Upstream: "ftp://u"},
		{PathPrefix: "/d", Upstream: "not a url"},
		{PathPrefix: "/e", Upstream: "http://u?x=1"},
		{PathPrefix: "/f", Upstream: "http://u", Timeout: config.Duration(-time.Second)},
		{PathPrefix: "/OK/", Upstream: "http://u"},
		{Host: "bad host", Upstream: "http://u"},
		{PathPrefix: "/g;x", Upstream: "http://u"},
		{PathPrefix: "/Cs", Upstream: "http://u", CaseSensitive: true},
		{PathPrefix: "/Cs/", Upstream: "http://u", CaseSensitive: true},
		{PathPrefix: "/cS", Upstream: "http://u", CaseSensitive: true},
	}, Options{})
	if err == nil {
		t.Fatal("NewRouter accepted bad routes")
	}
	if strings.Contains(err.Error(), "routes[13]") {
		t.Errorf("two case-sensitive prefixes that differ in case were refused:\n%v", err)
	}
	for _, want := range []string{
		"routes[1].path_prefix", "routes[2].path_prefix", "routes[3]: same host and path_prefix as routes[0]",
		"routes[4].upstream", "routes[5].upstream", "routes[6].upstream", "routes[7]: timeout",
		"routes[8]: same host and path_prefix as routes[0]", "routes[9].host", "routes[10].path_prefix",
		"routes[12]: same host and path_prefix as routes[11]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestForwardPathTricks checks that the route chosen and the path the
// upstream receives always agree, whatever encoding tricks the client uses.
func TestForwardPathTricks(t *testing.T) {
	up := echoUpstream(t)
	routes := []config.Route{
		{PathPrefix: "/", Upstream: up.URL, Audience: "root"},
		{PathPrefix: "/admin-only", Upstream: up.URL, Audience: "admin"},
	}
	g := newGateway(t, routes)
	cases := []struct {
		target    string
		status    int
		wantRoute string
		wantPath  string
	}{
		{"/admin-only/../x", 200, "root", "/x"},
		{"//admin-only", 200, "admin", "/admin-only"},
		{"/x//..//admin-only/", 200, "admin", "/admin-only/"},
		{"/%61dmin-only", 200, "admin", "/admin-only"},
		{"/public/%2e%2e/admin-only", 200, "admin", "/admin-only"},
		// Matching folds case and reads "/admin-only/" as "/admin-only";
		// the path goes upstream as the client spelled it.
		{"/Admin-only", 200, "admin", "/Admin-only"},
		{"/ADMIN-ONLY/x", 200, "admin", "/ADMIN-ONLY/x"},
		{"/admin-only;x/", 400, "", ""},
		{"/admin-only%3b/", 400, "", ""},
		{"/admin-only./", 400, "", ""},
		{"/admin-only%2e/", 400, "", ""},
		{"/admin-only%20/", 400, "", ""},
		{"/admin-only::$INDEX_ALLOCATION/", 400, "", ""},
		{"/admin-only%2F", 400, "", ""},
		{"/public%2F..%2Fadmin-only", 400, "", ""},
		{"/%2e%2e/admin-only", 400, "", ""},
		{"/public/..;/admin-only", 400, "", ""},
		{"/public%5C..%5Cadmin-only", 400, "", ""},
		{"/a%00", 400, "", ""},
		{"/sp%20ace/caf%C3%A9?q=%2F&x=1", 200, "root", "/sp ace/café"},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			req := httptest.NewRequest("GET", c.target, nil)
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.status != 200 {
				return
			}
			if got := rec.Header().Get("Test-Route"); got != c.wantRoute {
				t.Errorf("routed to %q, want %q", got, c.wantRoute)
			}
			s := decodeSeen(t, rec.Body)
			if s.Path != c.wantPath {
				t.Errorf("upstream saw path %q (raw %q), want %q", s.Path, s.RawPath, c.wantPath)
			}
			// What the upstream received must route to the same place.
			r, ok := g.router.Match("", s.Path)
			if !ok || r.Config.Audience != c.wantRoute {
				t.Errorf("upstream path %q would route elsewhere", s.Path)
			}
			if strings.Contains(c.target, "?") && s.Query != c.target[strings.Index(c.target, "?")+1:] {
				t.Errorf("query %q not passed through", s.Query)
			}
		})
	}
}

func TestForwardJoinsUpstreamBasePath(t *testing.T) {
	up := echoUpstream(t)
	g := newGateway(t, []config.Route{{PathPrefix: "/app/", Upstream: up.URL + "/base/"}})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/app/x/../y?z=1", nil))
	if s := decodeSeen(t, rec.Body); s.Path != "/base/app/y" || s.Query != "z=1" {
		t.Errorf("upstream saw %q ? %q, want /base/app/y ? z=1", s.Path, s.Query)
	}
}

func TestRouteRefusesAPathOutsideItself(t *testing.T) {
	up := echoUpstream(t)
	g := newGateway(t, []config.Route{
		{PathPrefix: "/", Upstream: up.URL},
		{PathPrefix: "/admin-only", Upstream: up.URL, Audience: "admin"},
	})
	admin, _ := g.router.Match("", "/admin-only")
	for _, target := range []string{"/elsewhere", "/admin-only%2F"} {
		rec := httptest.NewRecorder()
		admin.Forward(rec, httptest.NewRequest("GET", target, nil), nil)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s via the admin route: %d, want 400", target, rec.Code)
		}
	}
}

var spoofHeaders = []string{
	"X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Role", "X-Gatehouse-Assertion",
	"X-Gatehouse-Shared-Computer", "X-GATEHOUSE-ROLE", "x_gatehouse_user", "X_Gatehouse_Extra",
	"X-Forwarded-User", "X-Forwarded-Email", "X_Forwarded_Email", "x_forwarded_user",
	"X-Forwarded-Groups", "X_FORWARDED_GROUPS", "X-Forwarded-Preferred-Username",
	"x_forwarded_preferred_username",
}

func TestForwardStripsSpoofedIdentity(t *testing.T) {
	up := echoUpstream(t)
	g := newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL, Public: true}})
	gw := httptest.NewServer(g)
	defer gw.Close()

	for _, signedIn := range []bool{false, true} {
		req, _ := http.NewRequest("GET", gw.URL+"/page", nil)
		for _, k := range spoofHeaders {
			req.Header[k] = []string{"mallory"} // raw spelling on the wire
		}
		req.Header.Set("Cookie", "app=1; "+sessionCookie+"=secret-session; theme=dark")
		req.Header.Add("Cookie", sessionCookie+"=again")
		if signedIn {
			req.Header.Set("Test-Sign-In", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		s := decodeSeen(t, resp.Body)
		resp.Body.Close()

		for k, vs := range s.Header {
			for _, v := range vs {
				if strings.Contains(v, "mallory") {
					t.Errorf("signedIn=%v: spoofed %s: %s reached the upstream", signedIn, k, v)
				}
				if strings.Contains(v, "secret-session") || strings.Contains(v, "again") {
					t.Errorf("signedIn=%v: session cookie reached the upstream in %s", signedIn, k)
				}
			}
		}
		if got := strings.Join(s.Header.Values("Cookie"), "; "); got != "app=1; theme=dark" {
			t.Errorf("signedIn=%v: app cookies = %q, want %q", signedIn, got, "app=1; theme=dark")
		}
		if !signedIn {
			for k := range s.Header {
				if isIdentityHeader(k) {
					t.Errorf("anonymous request reached the upstream with %s", k)
				}
			}
			continue
		}
		want := map[string]string{
			"X-Gatehouse-Assertion": "signed.jwt.here", "X-Gatehouse-User": "user-1",
			"X-Gatehouse-Email": "ann@example.com", "X-Gatehouse-Role": "viewer",
			"X-Gatehouse-Shared-Computer": "false", "X-Forwarded-User": "user-1",
			"X-Forwarded-Email": "ann@example.com",
		}
		for k, v := range want {
			if got := s.Header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s = %q, want exactly %q", k, got, v)
			}
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	up := echoUpstream(t)
	routes := []config.Route{{PathPrefix: "/", Upstream: up.URL}}
	send := func(t *testing.T, g *gateway) seen {
		t.Helper()
		gw := httptest.NewServer(g)
		defer gw.Close()
		req, _ := http.NewRequest("GET", gw.URL+"/", nil)
		req.Host = "gw.example.com"
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.5")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "app.example.com")
		req.Header["X_Forwarded_For"] = []string{"7.7.7.7"}
		req.Header.Set("X-Real-Ip", "8.8.8.8")
		req.Header.Set("Forwarded", "for=9.9.9.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return decodeSeen(t, resp.Body)
	}
	check := func(t *testing.T, s seen, xff, proto, host string) {
		t.Helper()
		if got := strings.Join(s.Header.Values("X-Forwarded-For"), ", "); got != xff {
			t.Errorf("X-Forwarded-For = %q, want %q", got, xff)
		}
		if got := s.Header.Get("X-Forwarded-Proto"); got != proto {
			t.Errorf("X-Forwarded-Proto = %q, want %q", got, proto)
		}
		if got := s.Header.Get("X-Forwarded-Host"); got != host {
			t.Errorf("X-Forwarded-Host = %q, want %q", got, host)
		}
		for _, k := range []string{"X_Forwarded_For", "X-Real-Ip", "Forwarded"} {
			if v, ok := s.Header[k]; ok {
				t.Errorf("%s: %q reached the upstream", k, v)
			}
		}
	}
	t.Run("untrusted peer", func(t *testing.T) {
		check(t, send(t, newGateway(t, routes)), "127.0.0.1", "http", "gw.example.com")
	})
	t.Run("trusted peer", func(t *testing.T) {
		check(t, send(t, newGateway(t, routes, "127.0.0.0/8")), "6.6.6.6, 203.0.113.5, 127.0.0.1", "https", "app.example.com")
	})
}

// The upstream sees exactly the client's Accept-Encoding, none included:
// the gateway neither asks for compression on its own nor inflates.
func TestAcceptEncodingIsTheClients(t *testing.T) {
	up := echoUpstream(t)
	gw := httptest.NewServer(newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL}}))
	defer gw.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, sent := range []string{"", "br, zstd"} {
		req, _ := http.NewRequest("GET", gw.URL+"/", nil)
		if sent != "" {
			req.Header.Set("Accept-Encoding", sent)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		s := decodeSeen(t, resp.Body)
		resp.Body.Close()
		if got := strings.Join(s.Header.Values("Accept-Encoding"), ", "); got != sent {
			t.Errorf("client sent Accept-Encoding %q, upstream saw %q", sent, got)
		}
	}
}

// A route's timeout of 0 means no response-header timeout, as documented;
// routes that differ only in it get transports of their own.
func TestZeroTimeoutMeansNone(t *testing.T) {
	rt, err := NewRouter([]config.Route{
		{PathPrefix: "/a", Upstream: "http://127.0.0.1:9"},
		{PathPrefix: "/b", Upstream: "http://127.0.0.1:9", Timeout: config.Duration(5 * time.Second)},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	for _, tr := range rt.transports {
		got = append(got, tr.ResponseHeaderTimeout)
	}
	if !reflect.DeepEqual(got, []time.Duration{0, 5 * time.Second}) {
		t.Errorf("response-header timeouts %v, want [0s 5s]", got)
	}
}

func TestUpstreamDownIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	g := newGateway(t, []config.Route{{PathPrefix: "/", Upstream: "http://" + addr}})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusBadGateway || len(g.status) != 1 || g.status[0] != http.StatusBadGateway {
		t.Errorf("status %d (error page saw %v), want 502 rendered by the error page", rec.Code, g.status)
	}
}

func TestUpstreamTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	g := newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL, Timeout: config.Duration(100 * time.Millisecond)}})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/slow", nil))
	if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "gateway error 504") {
		t.Errorf("status %d %q, want 504 from the error page", rec.Code, rec.Body)
	}
}

func TestWebSocketUpgradePassesThrough(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || !strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		io.Copy(conn, rw) // echo until the client closes
	}))
	defer up.Close()
	gw := httptest.NewServer(newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL}}))
	defer gw.Close()

	conn, err := net.Dial("tcp", gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	for _, msg := range []string{"hello", "second frame"} {
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
		if string(buf) != msg {
			t.Errorf("echo %q, want %q", buf, msg)
		}
	}
}

func TestServerSentEventsStream(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	}))
	defer up.Close()
	gw := httptest.NewServer(newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL}}))
	defer gw.Close()

	resp, err := http.Get(gw.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	done := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		done <- line
	}()
	select {
	case line := <-done:
		if line != "data: first\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the first event did not arrive while the upstream was still streaming")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest of stream %q", rest)
	}
}

// TestUpstreamKeepAlive counts TCP connections the upstream accepts: the
// shared transport must reuse them rather than dial per request.
func TestUpstreamKeepAlive(t *testing.T) {
	var newConns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	g := newGateway(t, []config.Route{
		{PathPrefix: "/", Upstream: up.URL},
		{PathPrefix: "/other", Upstream: up.URL}, // same upstream: same pool
	})
	gw := httptest.NewServer(g)
	defer gw.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	defer client.CloseIdleConnections()

	get := func(path string) error {
		resp, err := client.Get(gw.URL + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || string(b) != "ok" {
			return fmt.Errorf("status %d body %q err %v", resp.StatusCode, b, err)
		}
		return nil
	}
	for i := range 500 {
		path := "/x"
		if i%2 == 1 {
			path = "/other/x"
		}
		if err := get(path); err != nil {
			t.Fatal(err)
		}
	}
	if n := newConns.Load(); n > 2 {
		t.Errorf("500 sequential requests opened %d upstream connections, want at most 2", n)
	}

	const concurrency = 64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				if err := get("/y"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("upstream connections opened: %d", newConns.Load())
	if n := newConns.Load(); n > concurrency+8 {
		t.Errorf("%d upstream connections for %d-way concurrency, want at most %d", n, concurrency, concurrency+8)
	}
}

func BenchmarkForward(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	g := newGateway(b, []config.Route{{PathPrefix: "/", Upstream: up.URL}})
	id := &Identity{Assertion: strings.Repeat("a", 600), User: "user-1", Email: "ann@example.com", Role: "viewer"}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/app/dashboard?tab=1", nil)
		req.Header = browserHeaders()
		req.Header.Set("Cookie", "app_session=abc; "+sessionCookie+"=s; theme=dark")
		clean, err := NormalizePath(req.URL.EscapedPath())
		if err != nil {
			b.Fatal(err)
		}
		route, ok := g.router.Match(req.Host, clean)
		if !ok {
			b.Fatal("no route")
		}
		rec := httptest.NewRecorder()
		route.Forward(rec, req, id)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// An upstream's answers, informational ones included, cannot set a gateway
// cookie; the app's own cookies pass.
func TestUpstreamSetCookieForGatewayNamesIsDropped(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload; as=style")
		w.Header().Add("Set-Cookie", "gatehouse_session=early")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("Set-Cookie")
		w.Header().Add("Set-Cookie", "__Host-gatehouse_session=planted; Path=/; Secure")
		w.Header().Add("Set-Cookie", "Gatehouse_CSRF=planted")
		w.Header().Add("Set-Cookie", "app=1; Path=/")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, []config.Route{{PathPrefix: "/", Upstream: up.URL}})
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)

	var early []string
	req, _ := http.NewRequest("GET", gw.URL+"/page", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			early = append(early, h.Values("Set-Cookie")...)
			if h.Get("Link") == "" {
				t.Error("the 103's Link header was lost")
			}
			return nil
		},
	}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(early) != 0 {
		t.Errorf("a 103 carried %q", early)
	}
	if got := resp.Header.Values("Set-Cookie"); !reflect.DeepEqual(got, []string{"app=1; Path=/"}) {
		t.Errorf("Set-Cookie = %q, want the app's own only", got)
	}
}
