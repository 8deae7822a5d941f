package identity

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCacheEntries bounds a Cache created with maxEntries <= 0.
const DefaultCacheEntries = 100000

// DefaultRefreshMargin: a cached assertion is replaced once it has less than
// this much life left, so an app never receives one about to expire.
const DefaultRefreshMargin = 60 * time.Second

// keySep separates the parts of a cache key. A unit separator cannot occur
// in session ids or audiences, so the session id is always the first part.
const keySep = "\x1f"

// CacheKey builds the key Cache.Get expects: the session id first (so
// InvalidateSession can find every entry of a session), then the audience
// and a version stamp that changes whenever the claims would (role,
// properties, account edits).
func CacheKey(sid, audience, version string) string {
	return sid + keySep + audience + keySep + version
}

// Cache keeps signed assertions so the proxy does not sign with ECDSA on
// every request. A hit costs one read lock and two map lookups.
type Cache struct {
	// RefreshMargin: see DefaultRefreshMargin. It is capped at half the
	// signer's TTL so short TTLs still get hits. Set it before use.
	RefreshMargin time.Duration

	signer *Signer
	max    int

	hits, misses atomic.Uint64

	mu        sync.RWMutex
	bySession map[string]map[string]*cacheEntry // sid -> rest of key -> entry
	ring      []*cacheEntry                     // clock eviction; nil slots are free
	hand      int
	n         int
	gen       uint64 // bumped by every invalidation
}

type cacheEntry struct {
	sid, rest string
	token     string
	kid       string
	exp       time.Time
	slot      int
	ref       atomic.Bool // set on a hit; the clock hand clears it once before evicting
}

// NewCache returns a cache holding at most maxEntries assertions
// (DefaultCacheEntries when maxEntries <= 0).
func NewCache(s *Signer, maxEntries int) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	return &Cache{
		RefreshMargin: DefaultRefreshMargin,
		signer:        s,
		max:           maxEntries,
		bySession:     make(map[string]map[string]*cacheEntry),
	}
}

func splitKey(key string) (sid, rest string) {
	if i := strings.Index(key, keySep); i >= 0 {
		return key[:i], key[i+len(keySep):]
	}
	return key, ""
}

func (c *Cache) margin() time.Duration {
	if half := c.signer.ttl / 2; c.RefreshMargin > half {
		return half
	}
	return c.RefreshMargin
}

// Get returns the assertion cached under key (see CacheKey) while it has
// more than the refresh margin of life left and was signed by the key that
// signs now; otherwise it calls build, signs the claims and caches the result.
func (c *Cache) Get(key string, build func() (Claims, error)) (string, error) {
	sid, rest := splitKey(key)
	now := c.signer.now()
	var kid string
	if k := c.signer.keyring.snap.Load().current(now); k != nil {
		kid = k.id
	}
	minExp := now.Add(c.margin())

	c.mu.RLock()
	if e := c.bySession[sid][rest]; e != nil && e.kid == kid && e.exp.After(minExp) {
		token := e.token
		e.ref.Store(true)
		c.mu.RUnlock()
		c.hits.Add(1)
		return token, nil
	}
	gen := c.gen
	c.mu.RUnlock()
	c.misses.Add(1)

	claims, err := build()
	if err != nil {
		return "", err
	}
	token, kid, exp, err := c.signer.sign(claims)
	if err != nil {
		return "", err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	// An invalidation while we were building may concern these very
	// claims (a logout, a role change): hand the token out once, but do
	// not keep it.
	if c.gen != gen {
		return token, nil
	}
	group := c.bySession[sid]
	if e := group[rest]; e != nil {
		e.token, e.kid, e.exp = token, kid, exp
		e.ref.Store(true)
		return token, nil
	}
	if group == nil {
		group = make(map[string]*cacheEntry)
		c.bySession[sid] = group
	}
	e := &cacheEntry{sid: sid, rest: rest, token: token, kid: kid, exp: exp}
	e.slot = c.claimSlot()
	c.ring[e.slot] = e
	group[rest] = e
	c.n++
	return token, nil
}

// claimSlot returns a free ring slot, evicting with the clock algorithm
// when the cache is full. The caller holds the write lock.
func (c *Cache) claimSlot() int {
	if len(c.ring) < c.max {
		c.ring = append(c.ring, nil)
		return len(c.ring) - 1
	}
	for {
		i := c.hand
		c.hand = (c.hand + 1) % len(c.ring)
		e := c.ring[i]
		if e == nil {
			return i
		}
		if e.ref.Swap(false) {
			continue
		}
		c.remove(e)
		return i
	}
}

// remove drops e from the maps and frees its slot. The caller holds the write lock.
func (c *Cache) remove(e *cacheEntry) {
	group := c.bySession[e.sid]
	delete(group, e.rest)
	if len(group) == 0 {
		delete(c.bySession, e.sid)
	}
	c.ring[e.slot] = nil
	c.n--
}

// InvalidateSession drops every assertion cached for the session, for a
// logout or any change to what its assertions say.
func (c *Cache) InvalidateSession(sid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, e := range c.bySession[sid] {
		c.remove(e)
	}
}

// InvalidateAll empties the cache (a role model or access rule change).
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.bySession)
	clear(c.ring)
	c.ring = c.ring[:0]
	c.hand = 0
	c.n = 0
}

// Len returns the number of cached assertions.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

// Stats returns the hit and miss counts since the cache was created, for metrics.
func (c *Cache) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}
