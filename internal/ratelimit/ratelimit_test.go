package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRate(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(60, 3, c.now) // one a second after a burst of three
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("past the burst: ok=%v wait=%v, want refused for at most 1s", ok, wait)
	}
	if ok, _ := l.Allow(netip.MustParseAddr("192.0.2.2")); !ok {
		t.Fatal("another address shares the first one's bucket")
	}
	c.t = c.t.Add(time.Second)
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("refused a second after the burst")
	}
	if ok, _ := l.Allow(a); ok {
		t.Fatal("allowed twice in a second after the burst")
	}
}

func TestIPv6NetworkSharesABucket(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(60, 1, c.now)
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2::1")); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2:ffff::9")); ok {
		t.Fatal("another address of the same /64 got its own bucket")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:192.0.2.1")); !ok {
		t.Fatal("an IPv4-mapped address was refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("192.0.2.1")); ok {
		t.Fatal("an IPv4 address and its mapped form got two buckets")
	}
}

// A flood of distinct addresses never grows the table past its bound, and
// addresses still limited survive as long as refilled ones can go first.
func TestTableStaysBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(60, 2, c.now)
	for i := range 200_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(a)
		if i%50_000 == 0 {
			c.t = c.t.Add(time.Hour) // every bucket so far has refilled
		}
	}
	if n := l.Len(); n > shards*shardSize {
		t.Fatalf("%d addresses tracked, bound %d", n, shards*shardSize)
	}
}

func TestHandlerRefusesWithRetryAfter(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(30, 1, c.now)
	calls := 0
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }),
		func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.7") },
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
	if calls != 1 || rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("calls %d, status %d, Retry-After %q; want 1 call, 429, 2", calls, rec.Code, rec.Header().Get("Retry-After"))
	}
}
