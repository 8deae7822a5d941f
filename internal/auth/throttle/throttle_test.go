package throttle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

func ipOf(r *http.Request) string { return r.Header.Get("X-Test-IP") }
func req(ip string) *http.Request {
	r := httptest.NewRequest("POST", "/.gatehouse/login", nil)
	r.Header.Set("X-Test-IP", ip)
	return r
}

func newGuard(t *testing.T, o throttle.Options) (*throttle.Guard, *clocktest.Clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	return throttle.New(st, o, ipOf, c.Now, nil), c
}

// failAda records n failed sign-ins for ada from one address.
func failAda(ctx context.Context, g *throttle.Guard, n int) {
	for range n {
		g.Failed(ctx, req("10.0.0.1"), "ada@example.com")
	}
}

// adaAllowed reports whether ada may try to sign in from that address.
func adaAllowed(ctx context.Context, g *throttle.Guard) bool {
	ok, _ := g.Allow(ctx, req("10.0.0.1"), "ada@example.com")
	return ok
}

func TestLockoutEngagesAndLifts(t *testing.T) {
	ctx := context.Background()
	g, c := newGuard(t, throttle.Options{IPLimit: 1000})
	for i := range 5 {
		if ok, retry := g.Allow(ctx, req("10.0.0.1"), "Ada@Example.com"); !ok || retry != 0 {
			t.Fatalf("attempt %d refused", i+1)
		}
		g.Failed(ctx, req("10.0.0.1"), "Ada@Example.com")
		c.Add(time.Minute)
	}
	// Locked, whatever the case of the email and whichever IP asks.
	ok, retry := g.Allow(ctx, req("10.0.0.2"), "ada@example.COM")
	if ok || retry != 0 {
		t.Fatalf("after 5 failures: ok=%v retry=%s, want locked (false, 0)", ok, retry)
	}
	// Another account is not affected.
	if ok, _ := g.Allow(ctx, req("10.0.0.1"), "bob@example.com"); !ok {
		t.Fatal("lockout leaked to another account")
	}
	// The fifth failure was a minute ago; the lock lasts 15 minutes from it.
	c.Add(13 * time.Minute)
	if adaAllowed(ctx, g) {
		t.Fatal("lock lifted before 15 minutes")
	}
	c.Add(time.Minute + time.Second)
	if !adaAllowed(ctx, g) {
		t.Fatal("lock still on after 15 minutes")
	}
	// A fresh lock needs five fresh failures.
	failAda(ctx, g, 1)
	if !adaAllowed(ctx, g) {
		t.Fatal("one failure after the lock locked again")
	}
}

func TestFailuresOutsideWindowDoNotLock(t *testing.T) {
	ctx := context.Background()
	g, c := newGuard(t, throttle.Options{IPLimit: 1000})
	failAda(ctx, g, 4)
	c.Add(16 * time.Minute)
	failAda(ctx, g, 1)
	if !adaAllowed(ctx, g) {
		t.Fatal("failures spread over more than the window locked the account")
	}
}

func TestSuccessResetsCounter(t *testing.T) {
	ctx := context.Background()
	g, _ := newGuard(t, throttle.Options{IPLimit: 1000})
	failAda(ctx, g, 4)
	g.Succeeded(ctx, httptest.NewRecorder(), req("10.0.0.1"), "ada@example.com")
	failAda(ctx, g, 4)
	if !adaAllowed(ctx, g) {
		t.Fatal("success did not reset the failure count")
	}
}

func TestMaxFailuresCapped(t *testing.T) {
	ctx := context.Background()
	g, _ := newGuard(t, throttle.Options{MaxFailures: 100000, IPLimit: 100000})
	failAda(ctx, g, 100)
	if adaAllowed(ctx, g) {
		t.Fatal("more than 100 failures allowed")
	}
}

func TestIPLimit(t *testing.T) {
	ctx := context.Background()
	g, c := newGuard(t, throttle.Options{IPLimit: 3, IPWindow: time.Minute})
	c.Set(c.Now().Truncate(time.Minute))
	for i := range 3 {
		if ok, _ := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketForgot); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, retry := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketForgot)
	if ok || retry <= 0 || retry > 2*time.Minute {
		t.Fatalf("4th request: ok=%v retry=%s", ok, retry)
	}
	// Other IPs and other buckets have their own counts.
	if ok, _ := g.LimitIP(ctx, req("10.0.0.2"), throttle.BucketForgot); !ok {
		t.Fatal("another IP refused")
	}
	if ok, _ := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketLogin); !ok {
		t.Fatal("another bucket refused")
	}
	// Allow reports the IP limit as a wait.
	for range 3 {
		g.Allow(ctx, req("10.0.0.3"), "x@example.com")
	}
	if ok, retry := g.Allow(ctx, req("10.0.0.3"), "x@example.com"); ok || retry <= 0 {
		t.Fatalf("Allow over IP limit: ok=%v retry=%s", ok, retry)
	}
	// The window slides: just after the period boundary the previous
	// period still weighs almost fully.
	c.Add(61 * time.Second)
	if ok, _ := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketForgot); ok {
		t.Fatal("a burst at the boundary got through a sliding window")
	}
	c.Add(2 * time.Minute)
	if ok, _ := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketForgot); !ok {
		t.Fatal("limit still on after the window")
	}
}

func TestRetryAfterIsHonest(t *testing.T) {
	ctx := context.Background()
	g, c := newGuard(t, throttle.Options{IPLimit: 2, IPWindow: time.Minute})
	c.Set(c.Now().Truncate(time.Minute).Add(10 * time.Second))
	for range 3 {
		g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketLogin)
	}
	ok, retry := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketLogin)
	if ok {
		t.Fatal("over the limit")
	}
	c.Add(retry + time.Second)
	if ok, _ := g.LimitIP(ctx, req("10.0.0.1"), throttle.BucketLogin); !ok {
		t.Fatalf("still refused after waiting the Retry-After of %s", retry)
	}
}
