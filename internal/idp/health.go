package idp

import (
	"sync"
	"time"
)

// Health is how one provider has fared lately, as this process saw it.
type Health struct {
	LastSuccess   time.Time
	LastFailure   time.Time
	FailureReason string
	// DiscoveryOK and JWKSOK: the last probe found the discovery document
	// and a usable key set answering; ProbedAt is when.
	DiscoveryOK bool
	JWKSOK      bool
	ProbedAt    time.Time
	Successes   int
	Failures    int
}

// healthBook records each provider's Health.
type healthBook struct {
	mu sync.Mutex
	m  map[string]*Health
}

func (b *healthBook) with(id string, fn func(*Health)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*Health{}
	}
	h := b.m[id]
	if h == nil {
		h = &Health{}
		b.m[id] = h
	}
	fn(h)
}

// SignedIn records a sign-in through id that started a session.
func (r *Registry) SignedIn(id string, at time.Time) {
	r.health.with(id, func(h *Health) { h.LastSuccess = at; h.Successes++ })
}

// SignInFailed records a sign-in through id that failed, and why.
func (r *Registry) SignInFailed(id string, at time.Time, reason string) {
	r.health.with(id, func(h *Health) { h.LastFailure, h.FailureReason = at, reason; h.Failures++ })
}

// Probed records whether id's discovery document and key set answer.
func (r *Registry) Probed(id string, at time.Time, discovery, jwks bool) {
	r.health.with(id, func(h *Health) { h.DiscoveryOK, h.JWKSOK, h.ProbedAt = discovery, jwks, at })
}

// Health returns what is known of id.
func (r *Registry) Health(id string) Health {
	var out Health
	r.health.with(id, func(h *Health) { out = *h })
	return out
}
