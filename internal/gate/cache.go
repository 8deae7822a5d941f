package gate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// identityCache keeps, per (session, audience, company), what the account
// is in that company and the assertion signed for that audience, so the
// hot path neither queries the store nor signs anything. It holds no
// decision: a route's policy is applied to the cached identity on every
// request, because routes that share an audience and a company may allow
// different roles. It is bounded: when full, an arbitrary entry of the
// same shard is evicted (Go map iteration order), which is cheap and good
// enough for a cache whose entries live seconds.
type identityCache struct {
	shards   [cacheShards]cacheShard
	perShard int
	// gen moves on every drop. A build that read the store before a drop
	// may still answer its own request, but is not cached, so data read
	// before a change (a role taken away) cannot outlive the change.
	gen atomic.Uint64
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

// entry is every input of a decision that comes from the store, for one
// key. The key names all of them: the account data is read for the key's
// company, the assertion is signed for its audience and session.
type entry struct {
	built time.Time // when the account data was read
	exp   time.Time // when the assertion expires, or the entry for one without it
	// status, role, capabilities and terms: what policy is applied to.
	id account.Identity
	// fwd is the identity sent upstream; nil when the account is not
	// active, since only an active account is ever vouched for.
	fwd *proxy.Identity
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

// generation is read before a build reads the store; put compares it.
func (c *identityCache) generation() uint64 { return c.gen.Load() }

// put caches e under key unless a drop happened since gen was read.
func (c *identityCache) put(key cacheKey, e *entry, gen uint64) {
	s := c.shard(key)
	s.mu.Lock()
	if c.gen.Load() != gen {
		s.mu.Unlock()
		return
	}
	if _, exists := s.m[key]; !exists && len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = e
	s.mu.Unlock()
}

// dropWhere removes every entry for which stale reports true.
func (c *identityCache) dropWhere(stale func(cacheKey, *entry) bool) {
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if stale(k, e) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

// clear empties the cache, used when account data changes in bulk.
func (c *identityCache) clear() {
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
