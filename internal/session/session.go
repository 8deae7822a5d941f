// Package session keeps server-side, revocable sessions and the cookie that
// names them: the browser holds a random token only, the store its hash.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrNoSession means the request carries no valid session: no cookie, a
// forged or damaged one, or a session that ended or expired.
var ErrNoSession = errors.New("session: no valid session")

// Defaults, matching the documented configuration defaults.
const (
	DefaultIdleTimeout       = 30 * time.Minute
	DefaultAbsoluteTimeout   = 12 * time.Hour
	DefaultSharedIdleTimeout = 10 * time.Minute
	DefaultCacheSize         = 100000
	// MaxCacheTTL is both the default and the ceiling: the contract lets a
	// cached session be trusted at most 5 s without the store.
	MaxCacheTTL = 5 * time.Second
	// DefaultStoreTimeout bounds one store read made for a request. A
	// database that stops answering without closing its connections (a
	// network partition) must cost a request a 503, not a hang until TCP
	// gives up minutes later.
	DefaultStoreTimeout = 2 * time.Second

	minHashKeyLen = 32
	// maxUserAgent bounds what a client can make us store.
	maxUserAgent = 512
)

// Options configures a Manager. Zero durations and sizes take the defaults.
type Options struct {
	// PublicURL decides the cookie's form: https gives a Secure cookie
	// named with the __Host- prefix.
	PublicURL         *url.URL
	IdleTimeout       time.Duration
	AbsoluteTimeout   time.Duration
	SharedIdleTimeout time.Duration // for shared-computer sessions
	CacheSize         int
	CacheTTL          time.Duration // at most MaxCacheTTL
	// StoreTimeout bounds each store read a lookup makes (default
	// DefaultStoreTimeout).
	StoreTimeout time.Duration
	// HashKey signs cookies (HMAC-SHA256); at least 32 bytes, the same on
	// every replica (kept in store.Secrets).
	HashKey []byte
	// Bus is where the Manager publishes the ids of every session it ends,
	// so each process sharing the store (this one included) drops them
	// from its caches at once. Nil is for a Manager no other cache
	// depends on (a command-line tool, a test).
	Bus Publisher
}

// Publisher carries the ids of ended sessions to every process sharing
// the store; invalidate.Bus is one. Publish must not block on its
// subscribers.
type Publisher interface {
	Publish(ctx context.Context, sessionIDs []string) error
}

// publishTimeout bounds one publish of ended sessions.
const publishTimeout = 2 * time.Second

// StartParams describes the sign-in that starts a session.
type StartParams struct {
	AccountID   string
	AMR         []string
	IDP         string
	IDTokenHint string
	Shared      bool // shared-computer account: SharedIdleTimeout applies
	UserAgent   string
	IP          string
	// CredentialID is the passkey used to sign in (nil for other methods),
	// so EndCredential can end the session when that passkey is revoked.
	CredentialID []byte
	// ProviderSID and ProviderSubject are what the identity provider IDP
	// knows an SSO session by, so EndProviderSessions can end it.
	ProviderSID     string
	ProviderSubject string
}

// Manager starts, finds and ends sessions. It is safe for concurrent use.
type Manager struct {
	st         store.Sessions
	now        func() time.Time
	rand       io.Reader
	log        *slog.Logger
	codec      *securecookie.SecureCookie
	cookieName string
	secure     bool

	idle, sharedIdle, absolute, ttl time.Duration
	storeTimeout                    time.Duration

	cache    *cache
	keyBufs  *sync.Pool
	flushMu  sync.Mutex
	active   atomic.Int64
	flushInt time.Duration // how often Run writes touches
	purgeInt time.Duration // how often Run purges expired sessions
	bus      Publisher     // nil: ends stay in this process
}

// NewManager checks opts and returns a Manager over st. A nil now, rand or
// logger means time.Now, crypto/rand and a discarding logger.
func NewManager(st store.Sessions, opts Options, now func() time.Time, rnd io.Reader, logger *slog.Logger) (*Manager, error) {
	if st == nil {
		return nil, errors.New("session: no store")
	}
	if len(opts.HashKey) < minHashKeyLen {
		return nil, fmt.Errorf("session: hash key must be at least %d bytes, got %d", minHashKeyLen, len(opts.HashKey))
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return fmt.Errorf("session: %s must not be negative", name)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	if err := errors.Join(
		def(&opts.IdleTimeout, DefaultIdleTimeout, "idle timeout"),
		def(&opts.AbsoluteTimeout, DefaultAbsoluteTimeout, "absolute timeout"),
		def(&opts.SharedIdleTimeout, DefaultSharedIdleTimeout, "shared idle timeout"),
		def(&opts.CacheTTL, MaxCacheTTL, "cache TTL"),
		def(&opts.StoreTimeout, DefaultStoreTimeout, "store timeout"),
	); err != nil {
		return nil, err
	}
	if opts.AbsoluteTimeout < time.Second {
		return nil, errors.New("session: absolute timeout must be at least 1s")
	}
	if opts.CacheTTL > MaxCacheTTL {
		return nil, fmt.Errorf("session: cache TTL %s is over the %s maximum", opts.CacheTTL, MaxCacheTTL)
	}
	if opts.CacheSize < 0 {
		return nil, errors.New("session: cache size must not be negative")
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	secure := opts.PublicURL != nil && opts.PublicURL.Scheme == "https"
	// The __Host- name makes browsers refuse the cookie unless it is
	// Secure, has Path=/ and no Domain, so a sibling subdomain cannot plant
	// or shadow it.
	name := cookies.Name(cookies.Session, secure)
	key := append([]byte(nil), opts.HashKey...)
	// securecookie checks its embedded timestamp against the wall clock (it
	// has no clock hook); that only bounds a cookie's life as a second line.
	// Expiry proper is judged on the server-side record with m.now.
	codec := securecookie.New(key, nil).
		SetSerializer(securecookie.NopEncoder{}).
		MaxAge(int(opts.AbsoluteTimeout / time.Second)).
		MaxLength(maxCookieLen)
	return &Manager{
		st:           st,
		now:          now,
		rand:         rnd,
		log:          logger,
		codec:        codec,
		cookieName:   name,
		secure:       secure,
		idle:         opts.IdleTimeout,
		sharedIdle:   opts.SharedIdleTimeout,
		absolute:     opts.AbsoluteTimeout,
		ttl:          opts.CacheTTL,
		storeTimeout: opts.StoreTimeout,
		cache:        newCache(opts.CacheSize),
		keyBufs:      newKeyBufs(),
		flushInt:     5 * time.Second,
		purgeInt:     time.Minute,
		bus:          opts.Bus,
	}, nil
}

// Start begins a new session for a successful sign-in and sets its cookie.
// The token and id are always new, and a session the request already
// carried is ended first, so a planted cookie can never be promoted to a
// signed-in one (session fixation).
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p StartParams) (store.Session, error) {
	if p.AccountID == "" {
		return store.Session{}, errors.New("session: start without an account")
	}
	if r != nil {
		if err := m.endRequestSession(ctx, r); err != nil {
			return store.Session{}, err
		}
	}
	token := make([]byte, tokenLen)
	rawID := make([]byte, 16)
	if _, err := io.ReadFull(m.rand, token); err != nil {
		return store.Session{}, fmt.Errorf("session: random token: %w", err)
	}
	if _, err := io.ReadFull(m.rand, rawID); err != nil {
		return store.Session{}, fmt.Errorf("session: random id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(rawID)
	// The idle timeout is fixed on the record, so a restart or another
	// replica applies the one the session started with.
	idle := m.idle
	if p.Shared {
		idle = m.sharedIdle
	}
	value, err := m.encodeCookie(token)
	if err != nil {
		return store.Session{}, fmt.Errorf("session: encode cookie: %w", err)
	}
	th := sha256.Sum256(token)
	now := m.now()
	ua := p.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	s := store.Session{
		ID:           id,
		TokenHash:    th[:],
		AccountID:    p.AccountID,
		AMR:          append([]string(nil), p.AMR...),
		IDP:          p.IDP,
		IDTokenHint:  p.IDTokenHint,
		UserAgent:    ua,
		IP:           p.IP,
		CredentialID: bytes.Clone(p.CredentialID),
		IdleTimeout:  idle,
		CreatedAt:    now,
		LastSeenAt:   now,
		ExpiresAt:    now.Add(m.absolute),

		ProviderSID:     p.ProviderSID,
		ProviderSubject: p.ProviderSubject,
	}
	epoch := m.cache.currentEpoch()
	if err := m.st.CreateSession(ctx, s); err != nil {
		return store.Session{}, fmt.Errorf("session: create: %w", err)
	}
	m.cache.put(m.cookieKey(value), s, idle, now, epoch, now, true)
	m.setCookie(w, value, !p.Shared)
	return s, nil
}

// Lookup returns the session of the request. It answers ErrNoSession when
// there is none or it has expired, and an error wrapping
// store.ErrUnavailable when the store cannot confirm it (the caller answers
// 503). A session confirmed by the store less than CacheTTL ago is served
// from memory with no I/O. The returned record shares its slices with the
// cache: treat it as read-only.
func (m *Manager) Lookup(ctx context.Context, r *http.Request) (store.Session, error) {
	raw, ok := m.rawCookie(r)
	if !ok {
		return store.Session{}, ErrNoSession
	}
	key := m.cookieKey(raw)
	now := m.now()
	if v, ok := m.cache.get(key); ok {
		if age := now.Sub(v.checkedAt); age >= 0 && age < m.ttl {
			return m.accept(ctx, v.e, v.sess, v.idle, now)
		}
		return m.revalidate(ctx, v, now)
	}

	token, ok := m.decodeCookie(raw)
	if !ok {
		return store.Session{}, ErrNoSession
	}
	th := sha256.Sum256(token)
	epoch := m.cache.currentEpoch()
	s, err := m.getByToken(ctx, th[:])
	if err != nil {
		return store.Session{}, m.storeErr(err)
	}
	idle := m.idleFor(s)
	if m.expired(s, idle, 0, now) {
		m.deleteExpired(ctx, s.ID)
		return store.Session{}, ErrNoSession
	}
	m.cache.put(key, s, idle, now, epoch, now, false)
	return s, nil
}

// revalidate asks the store about a cached session whose confirmation is
// older than CacheTTL. On a store failure the cached copy is not used.
func (m *Manager) revalidate(ctx context.Context, v view, now time.Time) (store.Session, error) {
	epoch := m.cache.currentEpoch()
	s, err := m.getByToken(ctx, v.sess.TokenHash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			m.cache.dropEntry(v.e)
		}
		return store.Session{}, m.storeErr(err)
	}
	if !m.cache.confirm(v.e, s, now, epoch) {
		return store.Session{}, ErrNoSession
	}
	return m.accept(ctx, v.e, s, v.idle, now)
}

// accept checks expiry of a session known to the store and records the
// request in memory for the next touch flush.
func (m *Manager) accept(ctx context.Context, e *entry, s store.Session, idle time.Duration, now time.Time) (store.Session, error) {
	if m.expired(s, idle, e.lastSeen.Load(), now) {
		m.cache.dropEntry(e)
		m.deleteExpired(ctx, s.ID)
		return store.Session{}, ErrNoSession
	}
	// A second's precision is plenty against minutes of idle timeout, and
	// skipping the write keeps cores from fighting over the cache line.
	ns := now.UnixNano()
	if old := e.lastSeen.Load(); ns-old >= int64(time.Second) {
		e.lastSeen.CompareAndSwap(old, ns)
	}
	return s, nil
}

// expired reports whether s is past its absolute expiry or idle for
// longer than idle, counting from the later of the stored last-seen time
// and seenNS, this process's unflushed one.
func (m *Manager) expired(s store.Session, idle time.Duration, seenNS int64, now time.Time) bool {
	if !now.Before(s.ExpiresAt) {
		return true
	}
	last := s.LastSeenAt
	if seenNS > 0 {
		if t := time.Unix(0, seenNS); t.After(last) {
			last = t
		}
	}
	return now.Sub(last) > idle
}

// idleFor is the idle timeout of s: the one fixed when it started, or the
// manager's default for a record that has none.
func (m *Manager) idleFor(s store.Session) time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return m.idle
}

// deleteExpired removes an expired session from the store. The request is
// refused either way, so a failure is only logged; the purge in Run will
// catch it later.
func (m *Manager) deleteExpired(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	if err := m.st.DeleteSession(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.WarnContext(ctx, "session: delete expired session", "sid", id, "err", err)
	}
}

// getByToken reads a session for a request, within the store timeout.
func (m *Manager) getByToken(ctx context.Context, tokenHash []byte) (store.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, m.storeTimeout)
	defer cancel()
	return m.st.GetSessionByToken(ctx, tokenHash)
}

// storeErr maps a store error for a lookup: an unknown token is no
// session, anything else means the store could not answer.
func (m *Manager) storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	}
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("session: lookup: %w", err)
	}
	return fmt.Errorf("session: lookup: %w: %w", store.ErrUnavailable, err)
}

// End ends the request's session in the store and in this process, then
// clears the cookie. When the store fails the cookie is kept so the user
// can retry; a request without a session just gets the cookie cleared.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := m.endRequestSession(ctx, r); err != nil {
		return err
	}
	m.ClearCookie(w)
	return nil
}

// endRequestSession deletes the session r's cookie names, if any.
func (m *Manager) endRequestSession(ctx context.Context, r *http.Request) error {
	raw, ok := m.rawCookie(r)
	if !ok {
		return nil
	}
	var id string
	if v, ok := m.cache.get(m.cookieKey(raw)); ok {
		id = v.sess.ID
	} else {
		token, ok := m.decodeCookie(raw)
		if !ok {
			return nil
		}
		th := sha256.Sum256(token)
		s, err := m.getByToken(ctx, th[:])
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return m.storeErr(err)
		}
		id = s.ID
	}
	return m.EndSession(ctx, id)
}

// EndSession ends one session by id. Ending a session that is already gone
// is not an error.
func (m *Manager) EndSession(ctx context.Context, id string) error {
	err := m.st.DeleteSession(ctx, id)
	m.cache.drop(id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session: end %s: %w", id, err)
	}
	m.ended(ctx, []string{id})
	return nil
}

// EndAccount ends every session of the account, in the store and in this
// process, and returns their ids.
func (m *Manager) EndAccount(ctx context.Context, accountID string) ([]string, error) {
	ids, err := m.st.DeleteAccountSessions(ctx, accountID)
	// Drop what this process holds even when the store failed: the next
	// lookup then asks the store, which either confirms or cannot answer.
	m.cache.drop(ids...)
	m.cache.dropAccount(accountID)
	if err != nil {
		return nil, fmt.Errorf("session: end sessions of %s: %w", accountID, err)
	}
	m.ended(ctx, ids)
	return ids, nil
}

// EndCredential ends the account's sessions that signed in with the
// passkey, for when it is revoked, and returns their ids.
func (m *Manager) EndCredential(ctx context.Context, accountID string, credentialID []byte) ([]string, error) {
	ids, err := m.st.DeleteCredentialSessions(ctx, accountID, credentialID)
	m.cache.drop(ids...)
	if err != nil {
		// Which sessions used the passkey is unknown here, so make every
		// one of the account's ask the store again.
		m.cache.dropAccount(accountID)
		return nil, fmt.Errorf("session: end passkey sessions of %s: %w", accountID, err)
	}
	m.ended(ctx, ids)
	return ids, nil
}

// ended drops sessions this Manager just ended from its cache and
// publishes them on the bus. Every way of ending sessions goes through it,
// so no process honours one for longer than the invalidation takes to
// reach it.
func (m *Manager) ended(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	m.cache.drop(ids...)
	if m.bus == nil {
		return
	}
	// Not only the caller's context: the sessions are already gone from
	// the store, and the other processes must hear it even if the client
	// disconnects now.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := m.bus.Publish(ctx, ids); err != nil {
		// Other processes still stop trusting the sessions once their
		// cache entry is older than the cache TTL (at most 5 s).
		m.log.WarnContext(ctx, "session: publishing ended sessions failed", "sessions", len(ids), "err", err)
	}
}

// Ended announces sessions that were deleted from the store outside the
// Manager, inside a transaction that also changed something else (an
// account blocked, deactivated or deleted, a password set), so that the
// change and the sign-out commit or fail together. Call it once the
// transaction has committed, never before: a process told earlier could
// read the not yet deleted session again and trust it for a cache TTL.
func (m *Manager) Ended(ctx context.Context, ids []string) { m.ended(ctx, ids) }

// Recheck makes every cached session ask the store again at its next
// lookup, for when ends published by other processes may have been
// missed (the invalidation bus reconnected).
func (m *Manager) Recheck() { m.cache.unconfirmAll() }

// Forget drops sessions from this process's cache only, for sessions
// another component or replica already deleted from the store.
func (m *Manager) Forget(ids []string) {
	m.cache.drop(ids...)
}
