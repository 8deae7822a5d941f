package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// BenchmarkGatewayRequest is one signed-in request through the real
// server.Handler(): observe middleware (request id, metrics, access log
// formatting into a discarding logger), dispatch, gate (session cache,
// identity cache with its signed assertion), header rewrite and the
// forward to an in-process upstream over loopback.
func BenchmarkGatewayRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Gatehouse-Assertion") == "" {
			http.Error(w, "no assertion", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	b.Cleanup(up.Close)
	g := servertest.Start(b, servertest.Options{Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 64}}
		c.Log.Access = true
	}})
	g.CreateUser(b, account.NewAccount{Email: "bench@example.com", FirstName: "Bench", LastName: "User",
		Password: pw, CompanyID: "acme", Role: "viewer"})
	c := servertest.Client(b)
	g.Login(b, c, "bench@example.com", pw)
	base, err := url.Parse(g.URL)
	if err != nil {
		b.Fatal(err)
	}
	cookies := c.Jar.Cookies(base)
	h := g.Server.Handler()

	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, g.URL+"/app/items?page=2", nil)
		req.Header.Set("Accept", "application/json")
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
