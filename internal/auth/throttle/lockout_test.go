package throttle_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/device"
	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

func newDeviceGuard(t *testing.T, o throttle.Options) (*throttle.Guard, *clocktest.Clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	o.Devices = device.New([]byte("0123456789abcdef0123456789abcdef"), false, 0, rand.Reader, c.Now)
	if o.IPLimit == 0 {
		o.IPLimit = 100000
	}
	return throttle.New(st, o, ipOf, c.Now, nil), c
}

// signIn records a success for email from ip and returns the device
// cookie the guard gave the browser.
func signIn(t *testing.T, g *throttle.Guard, ip, email string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	g.Succeeded(context.Background(), w, req(ip), email)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("success set %d cookies, want the device cookie", len(cs))
	}
	return cs[0]
}

func reqWith(ip string, ck *http.Cookie) *http.Request {
	r := req(ip)
	if ck != nil {
		r.AddCookie(ck)
	}
	return r
}

func allowed(g *throttle.Guard, r *http.Request, email string) bool {
	ok, _ := g.Allow(context.Background(), r, email)
	return ok
}

func TestAttackerLocksOutUntrustedClientsNotTheOwnersDevice(t *testing.T) {
	ctx := context.Background()
	g, _ := newDeviceGuard(t, throttle.Options{})
	owner := signIn(t, g, "192.0.2.1", "ada@example.com")
	for i := range 20 {
		g.Failed(ctx, req(fmt.Sprintf("198.51.100.%d", i+1)), "ada@example.com")
	}
	if allowed(g, req("203.0.113.9"), "ada@example.com") {
		t.Fatal("a fresh client may still guess after 20 failures")
	}
	if !allowed(g, reqWith("192.0.2.1", owner), "Ada@Example.com") {
		t.Fatal("the owner's browser, which signed in before, is locked out by someone else's failures")
	}
	// A device cookie is for its account only.
	for range 5 {
		g.Failed(ctx, req("198.51.100.1"), "bob@example.com")
	}
	if allowed(g, reqWith("192.0.2.1", owner), "bob@example.com") {
		t.Fatal("ada's device cookie spared a browser from bob's lockout")
	}
}

func TestDeviceFailuresLockOnlyThatDevice(t *testing.T) {
	ctx := context.Background()
	g, c := newDeviceGuard(t, throttle.Options{})
	laptop := signIn(t, g, "192.0.2.1", "ada@example.com")
	phone := signIn(t, g, "192.0.2.2", "ada@example.com")
	for range 5 {
		g.Failed(ctx, reqWith("192.0.2.1", laptop), "ada@example.com")
	}
	if allowed(g, reqWith("192.0.2.1", laptop), "ada@example.com") {
		t.Fatal("five failures on a device did not lock it")
	}
	if !allowed(g, reqWith("192.0.2.2", phone), "ada@example.com") {
		t.Fatal("one device's failures locked another")
	}
	if !allowed(g, req("203.0.113.9"), "ada@example.com") {
		t.Fatal("a device's failures locked untrusted clients")
	}
	c.Add(15*time.Minute + time.Second)
	if !allowed(g, reqWith("192.0.2.1", laptop), "ada@example.com") {
		t.Fatal("the device's lock did not lift after the window")
	}
}

func TestForgedOrForeignDeviceCookieIsUntrusted(t *testing.T) {
	ctx := context.Background()
	g, _ := newDeviceGuard(t, throttle.Options{})
	good := signIn(t, g, "192.0.2.1", "ada@example.com")
	for range 5 {
		g.Failed(ctx, req("198.51.100.1"), "ada@example.com")
	}
	forged := *good
	forged.Value = good.Value[:len(good.Value)-2] + "AA"
	other := device.New([]byte("another key, another gateway...."), false, 0, rand.Reader, time.Now)
	w := httptest.NewRecorder()
	if err := other.Issue(w, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	for name, ck := range map[string]*http.Cookie{"forged": &forged, "other key": w.Result().Cookies()[0]} {
		if allowed(g, reqWith("192.0.2.1", ck), "ada@example.com") {
			t.Fatalf("%s device cookie was trusted", name)
		}
	}
	// Two cookies of the name (one planted) are no proof either.
	r := reqWith("192.0.2.1", good)
	r.AddCookie(&http.Cookie{Name: good.Name, Value: "junk"})
	if allowed(g, r, "ada@example.com") {
		t.Fatal("a duplicated device cookie was trusted")
	}
}

func TestLocksDoubleAndHardLockAfterConsecutiveFailures(t *testing.T) {
	ctx := context.Background()
	g, c := newDeviceGuard(t, throttle.Options{MaxFailures: 5, Window: 15 * time.Minute, MaxLock: time.Hour, HardLockAfter: 20})
	fail5 := func() {
		for range 5 {
			g.Failed(ctx, req("198.51.100.1"), "ada@example.com")
		}
	}
	// Locks of one run: 15m, 30m, 60m, then capped at 60m.
	for i, want := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour} {
		fail5()
		c.Add(want - time.Second)
		if allowed(g, req("203.0.113.9"), "ada@example.com") {
			t.Fatalf("lock %d lifted before %s", i+1, want)
		}
		c.Add(2 * time.Second)
		if !allowed(g, req("203.0.113.9"), "ada@example.com") {
			t.Fatalf("lock %d still on after %s", i+1, want)
		}
	}
	// The 20th consecutive failure locks until a success, however long.
	fail5()
	c.Add(7 * 24 * time.Hour)
	if allowed(g, req("203.0.113.9"), "ada@example.com") {
		t.Fatal("untrusted clients may guess again after 20 consecutive failures")
	}
	// The owner's device still signs in, and its success ends the run.
	owner := signIn(t, g, "192.0.2.1", "ada@example.com")
	if !allowed(g, reqWith("192.0.2.1", owner), "ada@example.com") {
		t.Fatal("the hard lock reached the owner's device")
	}
	signIn(t, g, "192.0.2.1", "ada@example.com")
	if !allowed(g, req("203.0.113.9"), "ada@example.com") {
		t.Fatal("a success did not end the run of consecutive failures")
	}
}

func TestHardLockCappedAt100(t *testing.T) {
	ctx := context.Background()
	g, c := newDeviceGuard(t, throttle.Options{MaxFailures: 100, HardLockAfter: 1000, Window: time.Minute, MaxLock: time.Minute})
	for range 99 {
		g.Failed(ctx, req("198.51.100.1"), "ada@example.com")
		c.Add(2 * time.Minute) // never 100 within one window
	}
	if !allowed(g, req("198.51.100.1"), "ada@example.com") {
		t.Fatal("locked before 100 consecutive failures")
	}
	g.Failed(ctx, req("198.51.100.1"), "ada@example.com")
	c.Add(time.Hour)
	if allowed(g, req("198.51.100.1"), "ada@example.com") {
		t.Fatal("more than 100 consecutive failures allowed")
	}
}
