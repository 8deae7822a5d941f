package gate

import (
	"sync"
	"sync/atomic"
	"time"
)

// identityCache keeps, per (session, audience), the identity built for a
// route and its signed assertion, so the hot path neither queries the store
// for the account nor signs anything. It is bounded: when full, an
// arbitrary entry of the same shard is evicted (Go map iteration order),
// which is cheap and good enough for a cache whose entries live seconds.
type identityCache struct {
	shards   [cacheShards]cacheShard
	perShard int
}

const cacheShards = 64

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]*entry
}

// cacheKey names one cached identity: a session seen through a route's
// audience and company. A struct, not a joined string, so a lookup builds
// nothing.
type cacheKey struct {
	session, audience, company string
}

type entry struct {
	built    time.Time // when the account data was read
	exp      time.Time // when the assertion expires
	decision Decision
	// refreshing is set while a background rebuild of this entry runs.
	refreshing atomic.Bool
}

func newIdentityCache(max int) *identityCache {
	if max < cacheShards {
		max = cacheShards
	}
	c := &identityCache{perShard: max / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*entry)
	}
	return c
}

func (c *identityCache) shard(key cacheKey) *cacheShard {
	// FNV-1a over the session id, inline to avoid an allocation per
	// lookup; a session's entries for every route share a shard.
	h := uint32(2166136261)
	for i := 0; i < len(key.session); i++ {
		h ^= uint32(key.session[i])
		h *= 16777619
	}
	return &c.shards[h%cacheShards]
}

func (c *identityCache) get(key cacheKey) (*entry, bool) {
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	return e, ok
}

func (c *identityCache) put(key cacheKey, e *entry) {
	s := c.shard(key)
	s.mu.Lock()
	if _, exists := s.m[key]; !exists && len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = e
	s.mu.Unlock()
}

// dropSession removes every entry of the given sessions.
func (c *identityCache) dropSessions(ids map[string]bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k := range s.m {
			if ids[k.session] {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

// clear empties the cache, used when account data changes in bulk.
func (c *identityCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
