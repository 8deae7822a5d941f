// Package identity holds the ES256 keys that sign identity assertions, the
// assertions themselves (JWTs), their cache, and the JWKS that publishes the keys.
package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Algorithm is the only signing algorithm Gatehouse uses.
const Algorithm = "ES256"

// MaxAssertionTTL bounds an assertion's lifetime (exp - iat), as the contract requires.
const MaxAssertionTTL = 5 * time.Minute

// Defaults for the Keyring's tunables.
const (
	// DefaultPublishDelay must exceed how long a verifier may keep an old
	// JWKS: our own Cache-Control max-age (5 min), plus the interval at
	// which other Gatehouse replicas refresh their keyring, plus slack for
	// verifiers that cache a little longer than told.
	DefaultPublishDelay = 10 * time.Minute
	// DefaultPruneMargin is added to RetireAt + MaxAssertionTTL before a
	// retired key leaves the JWKS. It covers clock skew between replicas and
	// a replica that has not yet refreshed and still signs with the old key
	// (so it must be at least the refresh interval given to Run).
	DefaultPruneMargin = 5 * time.Minute
)

// ErrNoSigningKey is returned when no loaded key may sign at the current time.
var ErrNoSigningKey = errors.New("identity: no signing key")

// Keyring keeps the signing keys from the store in memory. The hot path
// (Signer, Cache, JWKS) reads an immutable snapshot through an atomic
// pointer; Load, Refresh and Rotate replace it.
type Keyring struct {
	// PublishDelay is how long a key created by Rotate is published before
	// it starts signing. Set it before Load; see DefaultPublishDelay.
	PublishDelay time.Duration
	// PruneMargin: see DefaultPruneMargin. Set it before Load.
	PruneMargin time.Duration
	// RotateEvery, when positive, makes Run rotate once the newest key is
	// this old (config keys.rotate_every). Set it before Run.
	RotateEvery time.Duration

	keys   store.Keys
	now    func() time.Time
	rand   io.Reader
	logger *slog.Logger

	mu   sync.Mutex // serialises writers of snap
	snap atomic.Pointer[snapshot]
}

// key is one parsed signing key.
type key struct {
	id       string
	priv     *ecdsa.PrivateKey
	signer   jose.Signer
	created  time.Time
	signFrom time.Time
	retireAt time.Time
}

// signsAt reports whether the key may sign at t.
func (k *key) signsAt(t time.Time) bool {
	return !k.signFrom.After(t) && (k.retireAt.IsZero() || k.retireAt.After(t))
}

// snapshot is immutable once published.
type snapshot struct {
	keys []*key // newest first: SignFrom, then CreatedAt, then id, descending
	jwks []byte
	etag string
}

// current returns the signing key at t: the newest key with SignFrom <= t
// that is not retired at t.
func (s *snapshot) current(t time.Time) *key {
	if s == nil {
		return nil
	}
	for _, k := range s.keys {
		if k.signsAt(t) {
			return k
		}
	}
	return nil
}

// NewKeyring returns an empty keyring; call Load before use. rand is the
// entropy source for new keys (crypto/rand.Reader in production).
func NewKeyring(keys store.Keys, now func() time.Time, rand io.Reader, logger *slog.Logger) *Keyring {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Keyring{
		PublishDelay: DefaultPublishDelay,
		PruneMargin:  DefaultPruneMargin,
		keys:         keys,
		now:          now,
		rand:         rand,
		logger:       logger,
	}
}

// Load reads the keys from the store and, when none can sign now or later
// (a fresh store, or every key retired), creates one that signs at once.
func (r *Keyring) Load(ctx context.Context) error {
	return r.refresh(ctx)
}

// Refresh re-reads the keys, picking up rotations made by other processes
// (the `gatehouse keys rotate` command, other replicas). On error the
// previous snapshot stays in use.
func (r *Keyring) Refresh(ctx context.Context) error {
	return r.refresh(ctx)
}

func (r *Keyring) refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	stored, err := r.keys.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("identity: list signing keys: %w", err)
	}
	if !hasActiveKey(stored) {
		// Two replicas starting on an empty store may both get here; both
		// keys are published and the newest-first rule picks one to sign.
		k, err := r.newKey(r.now())
		if err != nil {
			return err
		}
		if err := r.keys.CreateSigningKey(ctx, k); err != nil {
			return fmt.Errorf("identity: create signing key: %w", err)
		}
		r.logger.Info("created signing key", "kid", k.ID)
		stored = append(stored, k)
	}
	snap, err := r.build(stored)
	if err != nil {
		return err
	}
	r.snap.Store(snap)
	return nil
}

// hasActiveKey reports whether some key signs now or will sign later
// without anyone rotating: one that is not retired.
func hasActiveKey(keys []store.SigningKey) bool {
	for _, k := range keys {
		if k.RetireAt.IsZero() {
			return true
		}
	}
	return false
}

// build parses stored keys into a snapshot. A key that cannot be parsed is
// logged and left out rather than taking the whole keyring down.
func (r *Keyring) build(stored []store.SigningKey) (*snapshot, error) {
	keys := make([]*key, 0, len(stored))
	for _, sk := range stored {
		k, err := parseKey(sk)
		if err != nil {
			r.logger.Error("ignoring unusable signing key", "kid", sk.ID, "err", err)
			continue
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.signFrom.Equal(b.signFrom) {
			return a.signFrom.After(b.signFrom)
		}
		if !a.created.Equal(b.created) {
			return a.created.After(b.created)
		}
		return a.id > b.id
	})

	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       &k.priv.PublicKey,
			KeyID:     k.id,
			Algorithm: Algorithm,
			Use:       "sig",
		})
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("identity: encode JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	return &snapshot{
		keys: keys,
		jwks: body,
		etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
	}, nil
}

func parseKey(sk store.SigningKey) (*key, error) {
	if sk.Algorithm != Algorithm {
		return nil, fmt.Errorf("algorithm %q, want %s", sk.Algorithm, Algorithm)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(sk.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 ECDSA key")
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: sk.ID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &key{
		id:       sk.ID,
		priv:     priv,
		signer:   signer,
		created:  sk.CreatedAt,
		signFrom: sk.SignFrom,
		retireAt: sk.RetireAt,
	}, nil
}

// newKey generates a P-256 key that signs from signFrom.
func (r *Keyring) newKey(signFrom time.Time) (store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), r.rand)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("identity: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("identity: encode key: %w", err)
	}
	kid, err := KeyID(&priv.PublicKey)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{
		ID:         kid,
		Algorithm:  Algorithm,
		PrivateKey: der,
		CreatedAt:  r.now(),
		SignFrom:   signFrom,
	}, nil
}

// KeyID derives a kid from a public key: base64url of the first 16 bytes of
// the SHA-256 of its PKIX DER encoding. Stable, so every replica agrees.
func KeyID(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("identity: encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// Rotate creates a new key, published at once but signing only from
// now + PublishDelay, and retires every key that has no RetireAt yet at that
// same instant, so exactly one key signs at any time. It returns the new kid.
func (r *Keyring) Rotate(ctx context.Context) (string, error) {
	signFrom := r.now().Add(r.PublishDelay)
	k, err := r.newKey(signFrom)
	if err != nil {
		return "", err
	}
	// Create before retiring: a crash in between leaves two unretired keys,
	// which the newest-first rule handles, rather than none.
	if err := r.keys.CreateSigningKey(ctx, k); err != nil {
		return "", fmt.Errorf("identity: create signing key: %w", err)
	}
	if err := r.keys.RetireSigningKeys(ctx, k.ID, signFrom); err != nil {
		return "", fmt.Errorf("identity: retire signing keys: %w", err)
	}
	r.logger.Info("rotated signing key", "kid", k.ID, "sign_from", signFrom)
	if err := r.refresh(ctx); err != nil {
		return k.ID, err
	}
	return k.ID, nil
}

// RotateIfDue rotates when RotateEvery is set and the newest key (the one
// signing, or the one about to) was created at least that long ago. Every
// replica runs it; the refresh just before makes a rotation by one of them
// visible to the others, so they do not rotate again.
func (r *Keyring) RotateIfDue(ctx context.Context) (bool, error) {
	if r.RotateEvery <= 0 {
		return false, nil
	}
	snap := r.snap.Load()
	if snap != nil && len(snap.keys) > 0 {
		newest := snap.keys[0].created
		for _, k := range snap.keys[1:] {
			if k.created.After(newest) {
				newest = k.created
			}
		}
		if r.now().Sub(newest) < r.RotateEvery {
			return false, nil
		}
	}
	if _, err := r.Rotate(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Prune deletes keys retired long enough ago that every assertion they
// signed has expired (RetireAt + MaxAssertionTTL + PruneMargin), then
// refreshes so they leave the JWKS.
func (r *Keyring) Prune(ctx context.Context) error {
	cutoff := r.now().Add(-(MaxAssertionTTL + r.PruneMargin))
	if err := r.keys.DeleteSigningKeysRetiredBefore(ctx, cutoff); err != nil {
		return fmt.Errorf("identity: prune signing keys: %w", err)
	}
	return r.refresh(ctx)
}

// Run prunes and refreshes every interval until ctx ends. every should be
// well below PublishDelay and no longer than PruneMargin (one minute is a
// good choice). Errors are logged; the last good snapshot stays in use.
func (r *Keyring) Run(ctx context.Context, every time.Duration) {
	if every > r.PruneMargin {
		r.logger.Warn("keyring refresh interval exceeds prune margin", "every", every, "prune_margin", r.PruneMargin)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.logger.Error("signing keys refresh failed", "err", err)
			}
			if _, err := r.RotateIfDue(ctx); err != nil && ctx.Err() == nil {
				r.logger.Error("scheduled signing key rotation failed", "err", err)
			}
		}
	}
}

// Ready reports whether a key that may sign now is loaded.
func (r *Keyring) Ready() bool {
	return r.snap.Load().current(r.now()) != nil
}

// signingKey returns the key that signs at t.
func (r *Keyring) signingKey(t time.Time) (*key, error) {
	k := r.snap.Load().current(t)
	if k == nil {
		return nil, ErrNoSigningKey
	}
	return k, nil
}

// CurrentKeyID returns the kid of the key signing now, "" when none.
func (r *Keyring) CurrentKeyID() string {
	if k := r.snap.Load().current(r.now()); k != nil {
		return k.id
	}
	return ""
}

// emptyJWKS is served before the first Load.
const emptyJWKS = `{"keys":[]}`

// JWKS returns the published public keys as a JWK Set (JSON). The slice is
// shared: callers must not modify it.
func (r *Keyring) JWKS() []byte {
	if s := r.snap.Load(); s != nil {
		return s.jwks
	}
	return []byte(emptyJWKS)
}

// JWKSHandler serves JWKS() for GET /.gatehouse/jwks.json. Verifiers may
// cache it for five minutes, which PublishDelay allows for.
func (r *Keyring) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, etag := []byte(emptyJWKS), `"empty"`
		if s := r.snap.Load(); s != nil {
			body, etag = s.jwks, s.etag
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", etag)
		if inm := req.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if req.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}

// etagMatches implements the weak comparison If-None-Match asks for.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
