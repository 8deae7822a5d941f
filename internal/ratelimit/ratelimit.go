// Package ratelimit bounds how often one client address may call the
// gateway's unauthenticated endpoints. It counts in memory, per process, so
// a request over the limit is refused before it reaches the store at all.
package ratelimit

import (
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// The table is split into shards, each with its own lock, so concurrent
// requests from different addresses rarely wait on one another, and each
// shard holds at most shardSize addresses, so no flood of addresses can
// grow the process: 64 × 1024 buckets of a few dozen bytes, under 4 MiB.
const (
	shards    = 64
	shardSize = 1024
)

// Limiter is a token bucket per client address: each address may make Burst
// requests at once, and one more every 1/Rate seconds. A bucket that has
// refilled completely says nothing an absent one does not, so it may be
// dropped at any time; that is how the table stays bounded.
type Limiter struct {
	perSecond float64
	burst     float64
	now       func() time.Time
	seed      maphash.Seed
	shards    [shards]shard
}

type shard struct {
	mu      sync.Mutex
	buckets map[netip.Addr]bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// New returns a limiter that allows burst requests at once and perMinute a
// minute after that, per address. now is the clock (time.Now in
// production).
func New(perMinute, burst int, now func() time.Time) *Limiter {
	l := &Limiter{perSecond: float64(perMinute) / 60, burst: float64(burst), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[netip.Addr]bucket)
	}
	return l
}

// Key is the address a limit is kept under. An IPv6 client usually holds a
// whole /64, so its addresses share one bucket; otherwise one client could
// take as many buckets as it likes and flush everyone else's.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Allow takes one request from addr's bucket. When the bucket is empty it
// answers false and how long until a request would be allowed again.
func (l *Limiter) Allow(addr netip.Addr) (bool, time.Duration) {
	k := Key(addr)
	now := l.now()
	s := &l.shards[maphash.Comparable(l.seed, k)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[k]
	if !ok {
		if len(s.buckets) >= shardSize {
			l.evict(s, now)
		}
		b = bucket{tokens: l.burst, at: now}
	}
	b.tokens = l.refill(b, now)
	b.at = now
	if b.tokens < 1 {
		s.buckets[k] = b
		wait := time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
		return false, wait
	}
	b.tokens--
	s.buckets[k] = b
	return true, 0
}

func (l *Limiter) refill(b bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at).Seconds()
	if elapsed <= 0 {
		return b.tokens
	}
	return min(l.burst, b.tokens+elapsed*l.perSecond)
}

// evict makes room in a full shard: first by dropping the buckets that have
// refilled (they change nothing), and when every address in it is still
// limited, by dropping one of them at random. Filling a shard takes over a
// thousand networks that are all busy at once; the worst it can do is hand
// one of them a fresh burst.
func (l *Limiter) evict(s *shard, now time.Time) {
	for k, b := range s.buckets {
		if l.refill(b, now) >= l.burst {
			delete(s.buckets, k)
		}
	}
	if len(s.buckets) < shardSize {
		return
	}
	for k := range s.buckets {
		delete(s.buckets, k)
		return
	}
}

// Len is the number of addresses tracked, for tests and metrics.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// Handler passes a request to next only while its client address is within
// the limit; otherwise it sets Retry-After (whole seconds, rounded up) and
// lets refuse answer, without calling next.
func (l *Limiter) Handler(next http.Handler, addr func(*http.Request) netip.Addr, refuse func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.Allow(addr(r))
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			refuse(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
