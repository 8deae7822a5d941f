package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// timedFailure signs in with a wrong password from a fresh client at addr
// and returns how long the POST took; it must answer 401.
func timedFailure(t *testing.T, g *servertest.Gateway, addr, email string) time.Duration {
	t.Helper()
	c := clientFrom(t, addr)
	if _, err := c.Get(g.URL + "/.gatehouse/login"); err != nil { // the CSRF cookie, untimed
		t.Fatal(err)
	}
	start := time.Now()
	code, err := trySignIn(g, c, email, "not the password")
	d := time.Since(start)
	if err != nil || code != http.StatusUnauthorized {
		t.Fatalf("failed sign-in as %s: status %d, %v", email, code, err)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// A failed sign-in takes as long for an email with an account as for one
// without, with the hashing paced by its CPU cap (one slot, held after
// each computation) so that any extra step on one side shows as queueing.
// Six pairs keep it short under -race, where one argon2 computation
// takes about a second of CPU. Pairs run in random order, each attempt from a fresh client and address;
// the owner's account is locked halfway through, as an attacker's probing
// would lock it.
func TestFailedSignInTimingDoesNotRevealAccounts(t *testing.T) {
	// PostgreSQL: the SQLite driver is Go, which -race slows down so much
	// that its queries would drown the hashing this test is about.
	g := servertest.Start(t, servertest.Options{Postgres: true, Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Password.HashCPUPercent = 20
		c.Password.MaxConcurrentHashes = 1
	}})
	g.CreateUser(t, account.NewAccount{Email: "owner@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	compareFailedSignIns(t, g, "owner@example.com")
}

// Hashes stored before the argon2 parameters changed cost what they were
// made with. An unknown email must cost the same, not the (here much
// lighter) configured parameters: otherwise every account that has not
// signed in since the change stands out.
func TestFailedSignInTimingWithHashesOfOlderParameters(t *testing.T) {
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Password.Argon2 = config.Argon2{MemoryKiB: 19456, Iterations: 1, Parallelism: 1}
		c.Password.HashCPUPercent = 100 // the signal here is the parameters, not the pacing
	}})
	owner := g.CreateUser(t, account.NewAccount{Email: "owner@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
	older := password.NewHasher(password.Params{MemoryKiB: 65536, Iterations: 1, Parallelism: 1}, 1, nil)
	stored, err := older.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Store.UpdateAccount(context.Background(), owner.ID, func(a *store.Account) error {
		a.PasswordHash = stored
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Someone has signed in (or tried) since the gateway started, as on any
	// gateway in use.
	timedFailure(t, g, "198.51.100.200", "owner@example.com")
	compareFailedSignIns(t, g, "owner@example.com")
}

// compareFailedSignIns times six pairs of failed sign-ins, one for email
// (an existing account) and one for an unknown email, in random order,
// each attempt from a fresh client and address, and fails when the
// medians differ: within 1.5x, or within 40 ms (below that, -race and a
// busy machine make noise larger than any single step of the handler).
// Six pairs keep it short under -race, where one argon2 computation takes
// about a second of CPU.
func compareFailedSignIns(t *testing.T, g *servertest.Gateway, email string) {
	t.Helper()
	const pairs = 6
	var known, unknown []time.Duration
	for i := range pairs {
		knownFirst := rand.IntN(2) == 0
		for j := range 2 {
			addr := fmt.Sprintf("198.51.100.%d", 2*i+j+1)
			if (j == 0) == knownFirst {
				known = append(known, timedFailure(t, g, addr, email))
			} else {
				unknown = append(unknown, timedFailure(t, g, addr, fmt.Sprintf("nobody%d@example.com", i)))
			}
		}
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median failed sign-in: existing account %v, unknown email %v", mk, mu)
	lo, hi := min(mk, mu), max(mk, mu)
	if hi-lo > 40*time.Millisecond && float64(hi) > 1.5*float64(lo) {
		t.Fatalf("failed sign-ins: existing account median %v, unknown email %v: timing tells which emails have accounts\nexisting %v\nunknown  %v", mk, mu, known, unknown)
	}
}
