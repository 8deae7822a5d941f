package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// counter is a build func that counts its calls.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) build(sid string) func() (Claims, error) {
	return func() (Claims, error) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return Claims{Audience: "app", Subject: "u", SessionID: sid}, nil
	}
}

func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func newTestCache(t testing.TB, max int) (*Cache, *Keyring, *clock) {
	t.Helper()
	kr, _, clk := loadedKeyring(t)
	return NewCache(NewSigner(kr, testIssuer, 0, clk.Now), max), kr, clk
}

func mustGet(t *testing.T, c *Cache, key string, build func() (Claims, error)) string {
	t.Helper()
	tok, err := c.Get(key, build)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCacheHitReturnsSameToken(t *testing.T) {
	c, kr, clk := newTestCache(t, 0)
	var n counter
	key := CacheKey("s1", "app", "v1")
	first := mustGet(t, c, key, n.build("s1"))
	clk.Add(time.Minute)
	if again := mustGet(t, c, key, n.build("s1")); again != first {
		t.Fatal("cache hit returned a different token")
	}
	if n.calls() != 1 {
		t.Fatalf("build called %d times, want 1", n.calls())
	}
	if _, err := Verify(first, kr.JWKS(), testIssuer, "app", clk.Now(), 0); err != nil {
		t.Fatal(err)
	}
	// Another audience or version is another entry.
	if mustGet(t, c, CacheKey("s1", "app", "v2"), n.build("s1")) == first {
		t.Fatal("a new version stamp reused the old token")
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 2 {
		t.Fatalf("Stats = %d hits, %d misses; want 1, 2", hits, misses)
	}
}

func TestCacheRefreshesNearExpiry(t *testing.T) {
	c, _, clk := newTestCache(t, 0)
	var n counter
	key := CacheKey("s1", "app", "v1")
	first := mustGet(t, c, key, n.build("s1"))
	exp := clk.Now().Add(MaxAssertionTTL)

	clk.Set(exp.Add(-DefaultRefreshMargin - time.Second))
	if mustGet(t, c, key, n.build("s1")) != first {
		t.Fatal("refreshed with more than the margin left")
	}
	clk.Set(exp.Add(-DefaultRefreshMargin))
	second := mustGet(t, c, key, n.build("s1"))
	if second == first || n.calls() != 2 {
		t.Fatalf("not refreshed with the margin left (builds %d)", n.calls())
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d after refresh, want 1", c.Len())
	}
	clk.Add(time.Second)
	if mustGet(t, c, key, n.build("s1")) != second {
		t.Fatal("the refreshed token was not cached")
	}
}

func TestCacheMarginCappedForShortTTL(t *testing.T) {
	kr, _, clk := loadedKeyring(t)
	c := NewCache(NewSigner(kr, testIssuer, 60*time.Second, clk.Now), 0)
	var n counter
	key := CacheKey("s1", "app", "v1")
	first := mustGet(t, c, key, n.build("s1"))
	clk.Add(29 * time.Second)
	if mustGet(t, c, key, n.build("s1")) != first {
		t.Fatal("a 60s assertion was never served from the cache")
	}
}

func TestCacheInvalidateSession(t *testing.T) {
	c, _, _ := newTestCache(t, 0)
	var n counter
	a1 := mustGet(t, c, CacheKey("s1", "app", "v"), n.build("s1"))
	mustGet(t, c, CacheKey("s1", "wiki", "v"), n.build("s1"))
	b := mustGet(t, c, CacheKey("s2", "app", "v"), n.build("s2"))

	c.InvalidateSession("s1")
	if c.Len() != 1 {
		t.Fatalf("Len = %d after invalidating s1, want 1", c.Len())
	}
	if mustGet(t, c, CacheKey("s2", "app", "v"), n.build("s2")) != b {
		t.Fatal("invalidating s1 dropped s2")
	}
	if mustGet(t, c, CacheKey("s1", "app", "v"), n.build("s1")) == a1 {
		t.Fatal("s1 served from the cache after invalidation")
	}

	c.InvalidateAll()
	if c.Len() != 0 {
		t.Fatalf("Len = %d after InvalidateAll", c.Len())
	}
	if mustGet(t, c, CacheKey("s2", "app", "v"), n.build("s2")) == b {
		t.Fatal("s2 served from the cache after InvalidateAll")
	}
}

func TestCacheDoesNotKeepTokenBuiltAcrossInvalidation(t *testing.T) {
	c, _, _ := newTestCache(t, 0)
	key := CacheKey("s1", "app", "v")
	tok, err := c.Get(key, func() (Claims, error) {
		c.InvalidateSession("s1") // a logout while the claims were being built
		return Claims{Audience: "app"}, nil
	})
	if err != nil || tok == "" {
		t.Fatalf("Get = %q, %v", tok, err)
	}
	if c.Len() != 0 {
		t.Fatal("a token built before an invalidation was cached")
	}
}

func TestCacheBuildError(t *testing.T) {
	c, _, _ := newTestCache(t, 0)
	boom := errors.New("boom")
	if _, err := c.Get("k", func() (Claims, error) { return Claims{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("Get = %v, want the build error", err)
	}
	if c.Len() != 0 {
		t.Fatal("a failed build was cached")
	}
}

func TestCacheDropsTokensOfRetiredKey(t *testing.T) {
	c, kr, clk := newTestCache(t, 0)
	var n counter
	key := CacheKey("s1", "app", "v")
	oldKid := kr.CurrentKeyID()
	first := mustGet(t, c, key, n.build("s1"))

	// Rotate so that the new key takes over before the cached token's
	// refresh margin is reached.
	kr.PublishDelay = time.Minute
	newKid, err := kr.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	if mustGet(t, c, key, n.build("s1")) != first {
		t.Fatal("token dropped while its key still signs")
	}
	clk.Add(30 * time.Second)
	tok := mustGet(t, c, key, n.build("s1"))
	if tok == first || headerKid(t, first) != oldKid || headerKid(t, tok) != newKid {
		t.Fatalf("after the new key took over: kid %q, want %q", headerKid(t, tok), newKid)
	}
}

func TestCacheIsBounded(t *testing.T) {
	c, _, _ := newTestCache(t, 3)
	var n counter
	for i := range 10 {
		sid := fmt.Sprint("s", i)
		mustGet(t, c, CacheKey(sid, "app", "v"), n.build(sid))
		if c.Len() > 3 {
			t.Fatalf("Len = %d after %d inserts, max 3", c.Len(), i+1)
		}
	}
	if c.Len() != 3 || len(c.ring) != 3 {
		t.Fatalf("Len = %d, ring %d; want 3, 3", c.Len(), len(c.ring))
	}
	// Every entry in the maps is in the ring, and the other way round.
	seen := 0
	for sid, g := range c.bySession {
		for rest, e := range g {
			if c.ring[e.slot] != e || e.sid != sid || e.rest != rest {
				t.Fatalf("entry %s/%s inconsistent", sid, rest)
			}
			seen++
		}
	}
	if seen != 3 {
		t.Fatalf("maps hold %d entries, want 3", seen)
	}
}

func TestCacheEvictionSparesRecentlyUsed(t *testing.T) {
	c, _, _ := newTestCache(t, 2)
	var n counter
	a := CacheKey("a", "app", "v")
	b := CacheKey("b", "app", "v")
	tokA := mustGet(t, c, a, n.build("a"))
	mustGet(t, c, b, n.build("b"))
	mustGet(t, c, a, n.build("a")) // a is used again, b is not
	mustGet(t, c, CacheKey("c", "app", "v"), n.build("c"))
	builds := n.calls()
	if mustGet(t, c, a, n.build("a")) != tokA || n.calls() != builds {
		t.Fatal("the recently used entry was evicted")
	}
	if _, ok := c.bySession["b"]; ok {
		t.Fatal("the unused entry was kept")
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	c, _, clk := newTestCache(t, 50)
	var n counter
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				sid := fmt.Sprint("s", (g*7+i)%80)
				if _, err := c.Get(CacheKey(sid, "app", "v"), n.build(sid)); err != nil {
					t.Error(err)
					return
				}
				switch i % 50 {
				case 10:
					c.InvalidateSession(sid)
				case 20:
					clk.Add(time.Second)
				case 49:
					if g == 0 {
						c.InvalidateAll()
					}
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("Len = %d, max 50", c.Len())
	}
}

func TestCacheHitAllocations(t *testing.T) {
	c, _, _ := newTestCache(t, 0)
	var n counter
	key := CacheKey("s1", "app", "v1")
	build := n.build("s1")
	mustGet(t, c, key, build)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Get(key, build); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("a cache hit allocates %v times, want at most 1", allocs)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c, _, _ := newTestCache(b, 0)
	key := CacheKey("ses_0123456789", "app", "v1")
	build := func() (Claims, error) { return fullClaims(), nil }
	if _, err := c.Get(key, build); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(key, build); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
