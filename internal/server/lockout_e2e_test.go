package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// forwardedFor makes every request of a client arrive as if through the
// trusted proxy on loopback for the client at addr.
type forwardedFor struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

// clientFrom is a fresh browser-like client (its own cookie jar) at addr;
// the gateway must trust 127.0.0.1 as a proxy.
func clientFrom(t *testing.T, addr string) *http.Client {
	c := servertest.Client(t)
	c.Transport = forwardedFor{addr: addr, next: http.DefaultTransport}
	return c
}

// trySignIn posts the login form for c and returns the status; unlike
// servertest's helpers it does not touch t, so goroutines may call it.
func trySignIn(g *servertest.Gateway, c *http.Client, email, password string) (int, error) {
	resp, err := c.Get(g.URL + "/.gatehouse/login")
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	const marker = `<meta name="csrf-token" content="`
	_, rest, ok := strings.Cut(string(body), marker)
	if !ok {
		return 0, fmt.Errorf("login page without csrf token: %d", resp.StatusCode)
	}
	token, _, _ := strings.Cut(rest, `"`)
	resp, err = c.PostForm(g.URL+"/.gatehouse/login", url.Values{
		"email": {email}, "password": {password}, "csrf_token": {token}, "rd": {"/"},
	})
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// An attacker who knows a colleague's email hammers wrong passwords from
// 20 addresses. Clients that never signed in to the account are locked
// out; the owner's usual browser, which signed in before and holds a
// device cookie, still gets in, during the attack and after it.
func TestAttackerCannotLockOwnerOut(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			g := servertest.Start(t, servertest.Options{Postgres: pg, Configure: func(c *config.Config) {
				c.TrustedProxies = []string{"127.0.0.1"}
			}})
			const email = "owner@example.com"
			g.CreateUser(t, account.NewAccount{Email: email, Password: pw, CompanyID: "acme", Role: "viewer"})

			owner := clientFrom(t, "192.0.2.10")
			g.Login(t, owner, email, pw)
			if !hasCookie(owner, g.URL, "gatehouse_device") {
				t.Fatal("a successful sign-in left no device cookie")
			}
			g.Logout(t, owner)

			const addrs, perAddr = 20, 2
			var wg sync.WaitGroup
			errs := make(chan error, addrs*perAddr+1)
			for i := range addrs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range perAddr {
						c := clientFrom(t, fmt.Sprintf("198.51.100.%d", i+1))
						if code, err := trySignIn(g, c, email, "guess"); err != nil || code != http.StatusUnauthorized {
							errs <- fmt.Errorf("attacker at 198.51.100.%d: status %d, %v", i+1, code, err)
						}
					}
				}()
			}
			// The owner signs in while the attack runs...
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, err := trySignIn(g, owner, email, pw); err != nil || code != http.StatusSeeOther {
					errs <- fmt.Errorf("owner during the attack: status %d, %v", code, err)
				}
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// ...and after it, with the account locked for everyone else.
			g.Logout(t, owner)
			if code, err := trySignIn(g, owner, email, pw); err != nil || code != http.StatusSeeOther {
				t.Fatalf("owner's usual browser after the attack: status %d, %v; want 303", code, err)
			}
			fresh := clientFrom(t, "203.0.113.7")
			if code, err := trySignIn(g, fresh, email, pw); err != nil || code != http.StatusUnauthorized {
				t.Fatalf("a fresh client with the right password after the attack: status %d, %v; want 401 (locked)", code, err)
			}
		})
	}
}

func hasCookie(c *http.Client, base, name string) bool {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return true
		}
	}
	return false
}
