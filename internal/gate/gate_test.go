package gate

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// oneSession answers every lookup with the same live session.
type oneSession struct{ s store.Session }

func (o oneSession) Lookup(context.Context, *http.Request) (store.Session, error) {
	if o.s.ID == "" {
		return store.Session{}, session.ErrNoSession
	}
	return o.s, nil
}

// fixedIdentity is an active viewer of acme; reads counts store reads.
type fixedIdentity struct{ reads atomic.Int64 }

func (f *fixedIdentity) Identity(_ context.Context, accountID, company string) (account.Identity, error) {
	f.reads.Add(1)
	return account.Identity{
		Account: store.Account{ID: accountID, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
			Status: store.StatusActive, Kind: store.KindPersonal, Language: "en"},
		Company: company, Role: "viewer", Capabilities: []string{"view"}, Sites: []string{"*"},
	}, nil
}

// countingSigner makes a distinct token per signature; when gate is set,
// each signature waits for a value on it, so a test controls when a
// background rebuild finishes.
type countingSigner struct {
	n    atomic.Int64
	gate chan struct{}
}

func (c *countingSigner) Sign(cl identity.Claims) (string, error) {
	if c.gate != nil {
		<-c.gate
	}
	return fmt.Sprintf("token-%d-%s", c.n.Add(1), cl.Subject), nil
}

func newTestGate(tb testing.TB, signer Signer, ids Identities, now func() time.Time) *Gate {
	tb.Helper()
	router, err := proxy.NewRouter([]config.Route{{PathPrefix: "/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "acme"}}, proxy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	sess := oneSession{store.Session{ID: "sid-1", AccountID: "acc-1", AMR: []string{"pwd"}, IDP: "local"}}
	return New(router, sess, ids, signer, 1000, now, slog.New(slog.DiscardHandler))
}

func assertion(t *testing.T, g *Gate) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/app", nil)
	d := g.Decide(r.Context(), r, "localhost", "/app")
	if d.Outcome != Allow || d.Identity == nil {
		t.Fatalf("Decide = %v with identity %v, want Allow with one", d.Outcome, d.Identity)
	}
	return d.Identity.Assertion
}

// TestStaleIdentityRefreshedOffTheRequestPath: once the account data is
// older than DataTTL, a request still gets the valid cached assertion at
// once while one background rebuild makes the next; the new one is served
// as soon as it is ready.
func TestStaleIdentityRefreshedOffTheRequestPath(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	signer := &countingSigner{}
	ids := &fixedIdentity{}
	g := newTestGate(t, signer, ids, clk.Now)

	first := assertion(t, g)
	clk.Add(g.DataTTL + time.Second)
	signer.gate = make(chan struct{})
	for range 5 {
		if got := assertion(t, g); got != first {
			t.Fatalf("stale but valid entry: got %q, want the cached %q without waiting", got, first)
		}
	}
	signer.gate <- struct{}{} // let exactly one rebuild sign
	g.WaitRefreshes()
	signer.gate = nil
	second := assertion(t, g)
	if second == first {
		t.Fatal("the background rebuild did not replace the cached assertion")
	}
	if n := ids.reads.Load(); n != 2 {
		t.Fatalf("%d identity reads, want 2 (one build, one refresh)", n)
	}
}

// TestNearlyExpiredAssertionRebuiltOnRequest: an assertion with less than
// MinRemaining to live is never sent; the request waits for a new one.
func TestNearlyExpiredAssertionRebuiltOnRequest(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	g := newTestGate(t, &countingSigner{}, &fixedIdentity{}, clk.Now)
	first := assertion(t, g)
	clk.Add(identity.MaxAssertionTTL - g.MinRemaining + time.Second)
	if got := assertion(t, g); got == first {
		t.Fatal("an assertion about to expire was served while a new one was made")
	}
	g.WaitRefreshes()
}

// TestFreshIdentityServedFromCache: within DataTTL and outside the refresh
// window nothing is read or signed again.
func TestFreshIdentityServedFromCache(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	signer := &countingSigner{}
	ids := &fixedIdentity{}
	g := newTestGate(t, signer, ids, clk.Now)
	first := assertion(t, g)
	clk.Add(g.DataTTL - time.Second)
	if got := assertion(t, g); got != first {
		t.Fatal("a fresh entry was rebuilt")
	}
	if ids.reads.Load() != 1 || signer.n.Load() != 1 {
		t.Fatalf("reads %d, signatures %d; want 1 and 1", ids.reads.Load(), signer.n.Load())
	}
	g.ForgetSessions([]string{"sid-1"})
	if got := assertion(t, g); got == first {
		t.Fatal("ForgetSessions kept the cached identity")
	}
}

// BenchmarkDecide is the policy decision of a signed-in request whose
// identity is cached: path normalisation, route match, session lookup
// (a fake) and the identity cache.
func BenchmarkDecide(b *testing.B) {
	g := newTestGate(b, &countingSigner{}, &fixedIdentity{}, time.Now)
	r := httptest.NewRequest(http.MethodGet, "/app/reports/2026?x=1", nil)
	ctx := r.Context()
	b.ReportAllocs()
	for b.Loop() {
		if d := g.Decide(ctx, r, "localhost", "/app/reports/2026"); d.Outcome != Allow {
			b.Fatalf("outcome %v", d.Outcome)
		}
	}
}

// BenchmarkDecideParallel is the same decision from every core at once.
func BenchmarkDecideParallel(b *testing.B) {
	g := newTestGate(b, &countingSigner{}, &fixedIdentity{}, time.Now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/app/reports/2026", nil)
		for pb.Next() {
			if d := g.Decide(r.Context(), r, "localhost", "/app/reports/2026"); d.Outcome != Allow {
				b.Error("not allowed")
				return
			}
		}
	})
}

// TestForgetDropsWhatAChangeMadeStale: a change to the account, or to the
// rules of the route's company, drops the cached identity and assertion at
// once, well within DataTTL; a change to another account or company keeps
// it.
func TestForgetDropsWhatAChangeMadeStale(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change store.Change
		drops  bool
	}{
		{"the account", store.Change{Account: "acc-1"}, true},
		{"the route's company", store.Change{Company: "acme"}, true},
		{"another account", store.Change{Account: "acc-2"}, false},
		{"another company", store.Change{Company: "globex"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktest.New(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
			ids := &fixedIdentity{}
			g := newTestGate(t, &countingSigner{}, ids, clk.Now)
			first := assertion(t, g)
			g.Forget([]store.Change{tc.change})
			if dropped := assertion(t, g) != first; dropped != tc.drops {
				t.Fatalf("after a change to %s the cached assertion was dropped: %v, want %v", tc.name, dropped, tc.drops)
			}
		})
	}
}
