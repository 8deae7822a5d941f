package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// forwardedFor makes every request of a client arrive as if through the
// trusted proxy on loopback from addr.
type forwardedFor struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

// clientFrom is a fresh browser-like client (own cookie jar) at addr.
func clientFrom(t *testing.T, addr string) *http.Client {
	c := servertest.Client(t)
	c.Transport = forwardedFor{addr: addr, next: http.DefaultTransport}
	return c
}

// timedFailure signs in with a wrong password from a fresh client at addr
// and returns how long the POST took; it must answer 401.
func timedFailure(t *testing.T, g *servertest.Gateway, addr, email string) time.Duration {
	t.Helper()
	c := clientFrom(t, addr)
	token := g.CSRFToken(t, c, "/.gatehouse/login")
	form := url.Values{"email": {email}, "password": {"not the password"}, "csrf_token": {token}, "rd": {"/"}}
	start := time.Now()
	body, resp := g.PostForm(t, c, "/.gatehouse/login", form)
	d := time.Since(start)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("failed sign-in as %s: status %d: %.200s", email, resp.StatusCode, body)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestFailedSignInTimingDoesNotRevealAccounts(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Password.HashCPUPercent = 20
	})
	g.CreateUser(t, account.NewAccount{Email: "owner@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "busy@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	stop := make(chan struct{})
	done := make(chan struct{})
	for w := range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c := clientFrom(t, fmt.Sprintf("203.0.113.%d", (w*100+n)%250+1))
				token := g.CSRFToken(t, c, "/.gatehouse/login")
				g.PostForm(t, c, "/.gatehouse/login", url.Values{"email": {"busy@example.com"}, "password": {pw}, "csrf_token": {token}})
			}
		}()
	}
	defer func() { close(stop) }()
	const pairs = 12
	var known, unknown []time.Duration
	for i := range pairs {
		addrs := [2]string{fmt.Sprintf("198.51.100.%d", 2*i+1), fmt.Sprintf("198.51.100.%d", 2*i+2)}
		first := rand.IntN(2)
		for j := range 2 {
			if j == first {
				known = append(known, timedFailure(t, g, addrs[j], "owner@example.com"))
			} else {
				unknown = append(unknown, timedFailure(t, g, addrs[j], fmt.Sprintf("nobody%d@example.com", i)))
			}
		}
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median failed sign-in: existing account %v, unknown email %v (existing %v, unknown %v)", mk, mu, known, unknown)
	_ = strings.Contains
}
