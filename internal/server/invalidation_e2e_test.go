package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
)

// secondGateway runs another gateway process on g's PostgreSQL schema: its
// own caches, listeners and LISTEN connection, the same data.
func secondGateway(t *testing.T, g *servertest.Gateway) *servertest.Gateway {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.Config
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", pub.Addr().(*net.TCPAddr).Port)
	cfg.Listen, cfg.OpsListen = pub.Addr().String(), ops.Addr().String()
	return servertest.StartWith(t, cfg, pub, ops, servertest.Options{})
}

// TestSessionEndReachesEveryProcess: with two gateways on one PostgreSQL, a
// logout, a "sign out everywhere else" from the account page and a block
// on one stop the session on the other within a second, although the other had the session in its cache (trusted for
// up to session.cache_ttl = 5s without a store read).
func TestSessionEndReachesEveryProcess(t *testing.T) {
	up := newUpstream(t)
	g1 := servertest.Start(t, servertest.Options{Postgres: true, Configure: func(c *config.Config) {
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	g2 := secondGateway(t, g1)
	acct := g1.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Password: pw, CompanyID: "acme", Role: "viewer"})

	t.Run("logout", func(t *testing.T) {
		d := g1.SessionEndReaches(t, g2, "ada@example.com", pw, "/app", time.Second, func(c *http.Client) {
			g1.Logout(t, c)
		})
		t.Logf("logout on one gateway reached the other in %s", d)
	})

	t.Run("everywhere else", func(t *testing.T) {
		var kept *http.Client
		d := g1.SessionEndReaches(t, g2, "ada@example.com", pw, "/app", time.Second, func(*http.Client) {
			kept = g1.SignOutEverywhereElse(t, "ada@example.com", pw)
		})
		t.Logf("\"sign out everywhere else\" on one gateway reached the other in %s", d)
		for _, g := range []*servertest.Gateway{g1, g2} {
			if _, resp := g.Get(t, kept, "/app", "application/json"); resp.StatusCode != http.StatusOK {
				t.Fatalf("the session that signed out everywhere else, on %s: %d", g.URL, resp.StatusCode)
			}
		}
		g1.Logout(t, kept)
	})

	t.Run("block", func(t *testing.T) {
		d := g1.SessionEndReaches(t, g2, "ada@example.com", pw, "/app", time.Second, func(*http.Client) {
			if _, err := g1.Server.Accounts.Block(context.Background(), "", acct.ID); err != nil {
				t.Fatalf("block: %v", err)
			}
		})
		t.Logf("block on one gateway reached the other in %s", d)
	})
}
