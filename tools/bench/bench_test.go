package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestBareProxyReachesUpstreamThatSamplesAssertions: the bare proxy
// forwards to the upstream, which counts every request and verifies one
// assertion in SampleEvery; a token that does not verify is counted failed.
func TestBareProxyReachesUpstreamThatSamplesAssertions(t *testing.T) {
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"keys":[]}`)
	}))
	defer jwks.Close()
	up := &Upstream{JWKSURL: jwks.URL, Issuer: "http://gw", Audience: "app", SampleEvery: 2}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	target, _ := url.Parse(upSrv.URL)
	proxy := httptest.NewServer(NewBareProxy(target, slog.New(slog.DiscardHandler)))
	defer proxy.Close()

	for i := range 4 {
		req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/x", nil)
		if i < 2 {
			req.Header.Set("X-Gatehouse-Assertion", "not-a-jwt")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	got := up.Stats()
	want := Stats{Requests: 4, WithAssertion: 2, Verified: 0, Failed: 1}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// BenchmarkBareProxyRequest is the request of internal/server's
// BenchmarkGatewayRequest through the bare proxy to the same kind of
// upstream: the difference between the two is what the gateway itself adds.
func BenchmarkBareProxyRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}))
	b.Cleanup(up.Close)
	target, err := url.Parse(up.URL)
	if err != nil {
		b.Fatal(err)
	}
	h := NewBareProxy(target, slog.New(slog.DiscardHandler))

	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "http://localhost/app/items?page=2", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", "gatehouse_session=MTcwMDAwMDAwMHxEdi1CQkFFQ180SUFBUkFCRUFBQVJQLUNBQUVHYzNSeWFXNW5EQVFBQW1sa0JuTjBjbWx1Wnd3aUFDQjBiMnRsYmc9PXw")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
