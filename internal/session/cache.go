package session

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// entry is one cached session.
type entry struct {
	// Guarded by cache.mu.
	key       [sha256.Size]byte // digest of the cookie value that maps here
	sess      store.Session
	idle      time.Duration
	checkedAt time.Time // when the store last confirmed the record
	slot      int
	dead      bool // dropped: a lookup in flight must not revive it

	// Written on the hot path under the read lock, hence atomics.
	lastSeen atomic.Int64 // unix nanoseconds of the latest request seen here
	flushed  atomic.Int64 // the lastSeen value already written to the store
	ref      atomic.Bool  // CLOCK reference bit
}

// view is what a lookup copies out of an entry while holding the read lock.
type view struct {
	e         *entry
	sess      store.Session
	idle      time.Duration
	checkedAt time.Time
}

// touchMark remembers which lastSeen value a flush wrote for an entry.
type touchMark struct {
	e  *entry
	at int64
}

// cache is a bounded map of sessions with CLOCK eviction: a hit only sets
// a bit, so the hot path needs no write lock and no list splicing.
type cache struct {
	mu    sync.RWMutex
	max   int
	byKey map[[sha256.Size]byte]*entry
	byID  map[string]*entry
	ring  []*entry
	free  []int
	hand  int
	// epoch moves on every revocation. A store read that straddles one may
	// still answer its own request, but its result is cached as unconfirmed
	// so the next lookup asks the store again rather than trusting it.
	epoch uint64
	// pending keeps the unflushed touches of evicted entries.
	pending map[string]time.Time
}

func newCache(max int) *cache {
	return &cache{
		max:     max,
		byKey:   make(map[[sha256.Size]byte]*entry),
		byID:    make(map[string]*entry),
		pending: make(map[string]time.Time),
	}
}

// get returns a copy of the entry for key.
func (c *cache) get(key [sha256.Size]byte) (view, bool) {
	c.mu.RLock()
	e := c.byKey[key]
	if e == nil {
		c.mu.RUnlock()
		return view{}, false
	}
	v := view{e: e, sess: e.sess, idle: e.idle, checkedAt: e.checkedAt}
	c.mu.RUnlock()
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return v, true
}

func (c *cache) currentEpoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// put caches sess under key as confirmed by the store at checkedAt, unless
// a revocation happened since epoch was read. seen is the request time to
// record; flushed says whether the store already holds it.
func (c *cache) put(key [sha256.Size]byte, sess store.Session, idle time.Duration, checkedAt time.Time, epoch uint64, seen time.Time, flushed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		checkedAt = time.Time{}
	}
	if old := c.byKey[key]; old != nil && old.sess.ID != sess.ID {
		c.remove(old)
	}
	e := c.byID[sess.ID]
	if e == nil {
		e = &entry{}
		e.slot = c.slotFor()
		c.ring[e.slot] = e
		c.byID[sess.ID] = e
	} else if e.key != key {
		// Another spelling of the same cookie: keep one key per entry so
		// variants cannot grow the map past the bound.
		if c.byKey[e.key] == e {
			delete(c.byKey, e.key)
		}
	}
	e.key = key
	c.byKey[key] = e
	e.sess = sess
	e.idle = idle
	if checkedAt.After(e.checkedAt) || checkedAt.IsZero() {
		e.checkedAt = checkedAt
	}
	ns := seen.UnixNano()
	if ns > e.lastSeen.Load() {
		e.lastSeen.Store(ns)
	}
	if flushed && ns > e.flushed.Load() {
		e.flushed.Store(ns)
	}
	e.ref.Store(true)
}

// confirm records a fresh store copy of a cached session. It reports false
// when the entry was dropped meanwhile.
func (c *cache) confirm(e *entry, sess store.Session, checkedAt time.Time, epoch uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.dead {
		return false
	}
	e.sess = sess
	if epoch == c.epoch {
		e.checkedAt = checkedAt
	}
	return true
}

// slotFor finds a ring slot for a new entry, evicting one when full.
// Called with mu held.
func (c *cache) slotFor() int {
	if n := len(c.free); n > 0 {
		s := c.free[n-1]
		c.free = c.free[:n-1]
		return s
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, nil)
		return len(c.ring) - 1
	}
	for {
		s := c.hand
		c.hand = (c.hand + 1) % len(c.ring)
		e := c.ring[s]
		if e == nil {
			return s
		}
		if e.ref.Load() {
			e.ref.Store(false)
			continue
		}
		if ls := e.lastSeen.Load(); ls > e.flushed.Load() {
			c.keepPending(e.sess.ID, time.Unix(0, ls))
		}
		c.unlink(e)
		return s
	}
}

// keepPending records a touch to flush later. Called with mu held.
func (c *cache) keepPending(id string, t time.Time) {
	if old, ok := c.pending[id]; !ok || t.After(old) {
		c.pending[id] = t
	}
}

// unlink takes e out of the maps and marks it dead, leaving its slot to
// the caller. Called with mu held.
func (c *cache) unlink(e *entry) {
	if c.byKey[e.key] == e {
		delete(c.byKey, e.key)
	}
	if c.byID[e.sess.ID] == e {
		delete(c.byID, e.sess.ID)
	}
	e.dead = true
}

// remove drops e and frees its slot. Called with mu held.
func (c *cache) remove(e *entry) {
	if e.dead {
		return
	}
	c.unlink(e)
	c.ring[e.slot] = nil
	c.free = append(c.free, e.slot)
}

// drop revokes the given sessions in this process: the very next lookup
// goes to the store. Their unflushed touches are discarded.
func (c *cache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, id := range ids {
		delete(c.pending, id)
		if e := c.byID[id]; e != nil {
			c.remove(e)
		}
	}
}

// unconfirmAll makes every entry ask the store at its next lookup, keeping
// the entries and their unflushed touches.
func (c *cache) unconfirmAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, e := range c.byID {
		e.checkedAt = time.Time{}
	}
}

// dropEntry revokes one entry found by a lookup.
func (c *cache) dropEntry(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.pending, e.sess.ID)
	c.remove(e)
}

// dropAccount revokes every cached session of the account and returns
// their ids.
func (c *cache) dropAccount(accountID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	var ids []string
	for id, e := range c.byID {
		if e.sess.AccountID == accountID {
			ids = append(ids, id)
			delete(c.pending, id)
			c.remove(e)
		}
	}
	return ids
}

// sweep drops entries for which expired reports true, to free memory held
// by sessions nobody uses any more.
func (c *cache) sweep(expired func(v view) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byID {
		if expired(view{e: e, sess: e.sess, idle: e.idle, checkedAt: e.checkedAt}) {
			delete(c.pending, e.sess.ID)
			c.remove(e)
		}
	}
}

// touches collects every touch not yet written to the store.
func (c *cache) touches() (map[string]time.Time, []touchMark) {
	c.mu.Lock()
	batch := c.pending
	c.pending = make(map[string]time.Time)
	c.mu.Unlock()

	var marks []touchMark
	c.mu.RLock()
	defer c.mu.RUnlock()
	for id, e := range c.byID {
		ls := e.lastSeen.Load()
		if ls <= e.flushed.Load() {
			continue
		}
		t := time.Unix(0, ls)
		if old, ok := batch[id]; !ok || t.After(old) {
			batch[id] = t
		}
		marks = append(marks, touchMark{e: e, at: ls})
	}
	return batch, marks
}

// flushDone records that a flush wrote marks; on failure it puts evicted
// touches back so the next flush retries them (entries still cached stay dirty).
func (c *cache) flushDone(batch map[string]time.Time, marks []touchMark, ok bool) {
	if ok {
		for _, mk := range marks {
			for {
				old := mk.e.flushed.Load()
				if old >= mk.at || mk.e.flushed.CompareAndSwap(old, mk.at) {
					break
				}
			}
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cached := make(map[string]bool, len(marks))
	for _, mk := range marks {
		cached[mk.e.sess.ID] = true
	}
	for id, t := range batch {
		// A cached entry keeps its own dirty mark; if it was evicted since,
		// eviction already parked its touch in pending.
		if cached[id] {
			continue
		}
		c.keepPending(id, t)
	}
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byID)
}
