// Package password hashes and verifies passwords with argon2id and decides
// which passwords are acceptable (length, common passwords, the email itself).
package password

import (
	"context"
	crand "crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters (RFC 9106).
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultParams is RFC 9106's second recommended option scaled to a server
// that also proxies: 64 MiB, one pass, two lanes.
func DefaultParams() Params {
	return Params{MemoryKiB: 64 * 1024, Iterations: 1, Parallelism: 2}
}

const (
	saltLen = 16
	keyLen  = 32

	// Bounds on what a stored hash may ask for, so that a corrupted or
	// hostile record cannot make one verification allocate gigabytes.
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	minStoredSalt = 8
	maxStoredSalt = 64
	minStoredKey  = 16
	maxStoredKey  = 64
)

// ErrMalformedHash: a stored hash is not an argon2id PHC string this
// package can verify.
var ErrMalformedHash = errors.New("password: malformed argon2id hash")

// Hasher hashes and verifies passwords. Every argon2 computation holds one
// slot of a semaphore, so a flood of logins queues up instead of taking
// every core away from proxying.
type Hasher struct {
	params Params
	slots  chan struct{}
	rand   io.Reader
	// duty is the fraction of its time a slot may spend computing (1: no
	// cap); see LimitCPU.
	duty float64
	// dummy is a hash that no password matches (its key is random, not
	// derived), so that verifying against it when there is no account is
	// a real Verify: same parsing, queue and work. It starts with the
	// current parameters and then follows those of the last stored hash
	// verified: hashes made before a change of parameters cost what they
	// were made with, and an unknown email must cost the same.
	dummy atomic.Pointer[dummyHash]
}

// dummyHash is a hash no password matches, with the parameters it was
// made with.
type dummyHash struct {
	params Params
	phc    string
}

// NewHasher returns a Hasher that hashes with p (zero fields take the
// defaults), runs at most maxConcurrent argon2 computations at once
// (<= 0: one per CPU) and draws salts from rand (nil: crypto/rand).
func NewHasher(p Params, maxConcurrent int, rand io.Reader) *Hasher {
	d := DefaultParams()
	if p.MemoryKiB == 0 {
		p.MemoryKiB = d.MemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	// argon2 needs at least 8 KiB per lane; below that it silently raises
	// the memory, and the stored m= would then never match the parameters.
	if floor := 8 * uint32(p.Parallelism); p.MemoryKiB < floor {
		p.MemoryKiB = floor
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	if rand == nil {
		rand = crand.Reader
	}
	h := &Hasher{
		params: p,
		slots:  make(chan struct{}, maxConcurrent),
		rand:   rand,
		duty:   1,
	}
	h.dummy.Store(newDummy(p))
	return h
}

// newDummy returns a hash of parameters p that no password matches. Its
// salt and key come from crypto/rand whatever the Hasher's rand is: a
// predictable dummy could be matched by a chosen password.
func newDummy(p Params) *dummyHash {
	b := make([]byte, saltLen+keyLen)
	_, _ = crand.Read(b) // never fails (crypto/rand panics instead)
	return &dummyHash{params: p, phc: encodePHC(p, b[:saltLen], b[saltLen:])}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// LimitCPU caps the share of the machine's CPU (percent of all cores) that
// hashing may take. Each computation keeps min(parallelism, cores) cores
// busy; after it, its slot stays taken long enough that the slots together
// stay under the cap. The caller gets its answer at once: only the next
// computation waits. So one sign-in is as fast as ever, while 50 at once
// (or an attack) queue instead of taking the cores proxying needs. Call it
// before use; 100 or more removes the cap.
func (h *Hasher) LimitCPU(percent int, cores int) {
	lanes := min(int(h.params.Parallelism), cores)
	if percent >= 100 || percent <= 0 || lanes <= 0 {
		h.duty = 1
		return
	}
	h.duty = min(1, float64(percent)/100*float64(cores)/float64(lanes*cap(h.slots)))
}

// compute runs one argon2 computation in a slot, giving up when ctx ends
// before a slot is free, and releases the slot as LimitCPU says.
func (h *Hasher) compute(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	start := time.Now()
	f()
	if h.duty >= 1 {
		<-h.slots
		return nil
	}
	rest := time.Duration(float64(time.Since(start)) * (1/h.duty - 1))
	time.AfterFunc(rest, func() { <-h.slots })
	return nil
}

// Hash returns pw hashed with a fresh salt, as a PHC string.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	var key []byte
	if err := h.compute(ctx, func() {
		key = argon2.IDKey([]byte(pw), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, keyLen)
	}); err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether pw matches the stored PHC hash, and whether the
// hash should be replaced because it was made with other parameters.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	h.followParams(p)
	var got []byte
	if err := h.compute(ctx, func() {
		got = argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	}); err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params || len(salt) != saltLen || len(want) != keyLen, nil
}

// DummyHash returns a hash that no password matches, made with the
// parameters of the last stored hash verified (at first, the current
// ones). The login handler verifies against it when no account matches, so
// response time does not reveal which emails exist, even while stored
// hashes still carry parameters older than the configured ones.
func (h *Hasher) DummyHash() string { return h.dummy.Load().phc }

// followParams makes the dummy cost what a hash of parameters p costs.
// It allocates only when the parameters change, which is rare.
func (h *Hasher) followParams(p Params) {
	if h.dummy.Load().params == p {
		return
	}
	h.dummy.Store(newDummy(p))
}

// Strict: a hash has exactly one spelling, so stored strings compare and
// round-trip reliably.
var b64 = base64.RawStdEncoding.Strict()

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsePHC reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash", refusing anything
// outside the bounds above.
func parsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, ErrMalformedHash
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return p, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || v != strconv.FormatUint(n, 10) {
			return p, nil, nil, ErrMalformedHash
		}
		vals[i] = n
	}
	if vals[2] < 1 || vals[2] > 255 || vals[1] < 1 || vals[1] > maxIterations ||
		vals[0] < 8*vals[2] || vals[0] > maxMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	p = Params{MemoryKiB: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2])}
	salt, err := decodeB64(parts[4])
	if err != nil || len(salt) < minStoredSalt || len(salt) > maxStoredSalt {
		return p, nil, nil, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	key, err := decodeB64(parts[5])
	if err != nil || len(key) < minStoredKey || len(key) > maxStoredKey {
		return p, nil, nil, fmt.Errorf("%w: bad hash", ErrMalformedHash)
	}
	return p, salt, key, nil
}

// decodeB64 accepts only the one canonical spelling: the decoder alone
// would also skip line breaks inside the value.
func decodeB64(v string) ([]byte, error) {
	b, err := b64.DecodeString(v)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != v {
		return nil, ErrMalformedHash
	}
	return b, nil
}
