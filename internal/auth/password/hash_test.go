package password

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// cheap keeps tests fast; the benchmark uses the defaults.
var cheap = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// counterReader yields 0,1,2,... so salts are predictable but distinct.
type counterReader struct{ n byte }

func (r *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 2, &counterReader{})
	phc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected PHC string %q", phc)
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery", phc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify(ctx, "correct horse batterz", phc)
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	phc2, _ := h.Hash(ctx, "correct horse battery")
	if phc2 == phc {
		t.Fatal("two hashes of the same password share a salt")
	}
}

func TestDefaultFormat(t *testing.T) {
	h := NewHasher(Params{}, 1, &counterReader{})
	if h.Params() != DefaultParams() {
		t.Fatalf("zero params became %+v, want defaults", h.Params())
	}
	phc, err := h.Hash(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(phc, "$")
	if parts[3] != "m=65536,t=1,p=2" || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("PHC %q does not have m=65536,t=1,p=2, a 16-byte salt and a 32-byte key", phc)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1}, 1, &counterReader{})
	phc, _ := old.Hash(ctx, "a long enough password")
	cur := NewHasher(cheap, 1, &counterReader{})
	ok, rehash, err := cur.Verify(ctx, "a long enough password", phc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify with other params = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	// A wrong password never asks for a rehash: nothing to rehash with.
	ok, rehash, _ = cur.Verify(ctx, "wrong", phc)
	if ok || rehash {
		t.Fatalf("wrong password: ok=%v rehash=%v", ok, rehash)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(cheap, 1, &counterReader{})
	good, _ := h.Hash(context.Background(), "pw")
	bad := []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=064,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$t=1,m=64,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
		good + "$",
	}
	for _, s := range bad {
		ok, _, err := h.Verify(context.Background(), "pw", s)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", s, ok, err)
		}
	}
}

func TestSemaphoreHonoursContext(t *testing.T) {
	h := NewHasher(cheap, 1, &counterReader{})
	h.slots <- struct{}{} // every slot taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash while full and cancelled = %v; want context.Canceled", err)
	}
	if _, _, err := h.Verify(ctx, "pw", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify while full and cancelled = %v; want context.Canceled", err)
	}
	if _, _, err := h.Verify(ctx, "pw", h.DummyHash()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify of the dummy while full and cancelled = %v; want context.Canceled", err)
	}
	<-h.slots
}

func TestSemaphoreLimitsConcurrency(t *testing.T) {
	h := NewHasher(cheap, 2, &counterReader{})
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	// With both slots taken, a hash can only wait; its context ending is
	// the only way out, which proves it did not run beside the others.
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot = %v; want it to wait until its deadline", err)
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatalf("Hash with a free slot: %v", err)
	}
	if len(h.slots) != 1 {
		t.Fatalf("Hash did not give its slot back: %d taken", len(h.slots))
	}
}

func TestSaltReadError(t *testing.T) {
	h := NewHasher(cheap, 1, bytes.NewReader(nil))
	if _, err := h.Hash(context.Background(), "pw"); err == nil {
		t.Fatal("Hash with an empty random source succeeded")
	}
}

func TestDummyHashHasCurrentParamsAndMatchesNothing(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1, &counterReader{})
	p, salt, key, err := parsePHC(h.DummyHash())
	if err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	if p != h.Params() || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("dummy hash %+v, salt %d, key %d; want %+v, %d, %d", p, len(salt), len(key), h.Params(), saltLen, keyLen)
	}
	for _, pw := range []string{"", "pw", "password"} {
		if ok, rehash, err := h.Verify(ctx, pw, h.DummyHash()); ok || rehash || err != nil {
			t.Fatalf("Verify(%q, dummy) = %v, %v, %v; want false, false, nil", pw, ok, rehash, err)
		}
	}
	if other := NewHasher(cheap, 1, &counterReader{}); other.DummyHash() == h.DummyHash() {
		t.Fatal("two hashers with the same random source share a dummy hash")
	}
}

// A hash stored before the parameters changed costs what it was made
// with; after one has been verified, the dummy that unknown emails are
// checked against costs the same, so timing does not single them out.
func TestDummyHashFollowsTheStoredHashesParameters(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1, &counterReader{})
	older := Params{MemoryKiB: cheap.MemoryKiB * 2, Iterations: cheap.Iterations + 1, Parallelism: cheap.Parallelism}
	stored := mustHash(t, NewHasher(older, 1, nil), "the owner's password")
	if ok, rehash, err := h.Verify(ctx, "a guess", stored); ok || rehash || err != nil {
		t.Fatalf("Verify(wrong password, stored) = %v, %v, %v", ok, rehash, err)
	}
	p, _, _, err := parsePHC(h.DummyHash())
	if err != nil || p != older {
		t.Fatalf("dummy after verifying an older hash: params %+v (%v), want %+v", p, err, older)
	}
	for _, pw := range []string{"", "the owner's password"} {
		if ok, _, err := h.Verify(ctx, pw, h.DummyHash()); ok || err != nil {
			t.Fatalf("Verify(%q, dummy) = %v, %v; the dummy must match nothing", pw, ok, err)
		}
	}
	before := h.DummyHash()
	if _, _, err := h.Verify(ctx, "a guess", stored); err != nil || h.DummyHash() != before {
		t.Fatal("verifying a hash of the dummy's own parameters replaced the dummy")
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 0, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "benchmark password 123"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 0, nil)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "benchmark password 123")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "benchmark password 123", phc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=1,p=2$AAECAwQFBgcICQoLDA0ODw$kJ0CqQ0Q0yVdE0bQh5vCwHn5Ib8s8F6jz1a2nE2eH9k")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			return
		}
		// Whatever parses must be within bounds and re-encode to itself.
		if p.MemoryKiB > maxMemoryKiB || p.Iterations > maxIterations || p.Parallelism == 0 {
			t.Fatalf("out-of-range params accepted: %+v", p)
		}
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("round trip: %q became %q", s, got)
		}
	})
}

func TestLimitCPUHoldsTheSlotAfterWork(t *testing.T) {
	p := Params{MemoryKiB: 19456, Iterations: 1, Parallelism: 1}
	h := NewHasher(p, 1, nil)
	h.LimitCPU(10, 2) // one lane on two cores: 20% duty per slot
	if h.duty < 0.19 || h.duty > 0.21 {
		t.Fatalf("duty = %v, want 0.2", h.duty)
	}
	start := time.Now()
	if _, err := h.Hash(context.Background(), "a long enough password"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// The caller has its answer, but the slot stays taken for a while.
	if len(h.slots) != 1 {
		t.Fatal("the slot was released at once despite the CPU cap")
	}
	// At a 20% duty the slot rests four times as long as the hash took;
	// the deadline scales with that, since a loaded machine (-race, other
	// packages' tests) can make one hash take seconds.
	deadline := time.Now().Add(5*took + 5*time.Second)
	for len(h.slots) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slot was never released")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A waiting caller whose context ends gives up.
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if ok, _, err := h.Verify(ctx, "x", mustHash(t, NewHasher(p, 1, nil), "x")); ok || err == nil {
		t.Fatalf("Verify with a busy slot and an ended context: ok=%v err=%v", ok, err)
	}
	<-h.slots

	for _, tc := range []struct {
		percent, cores, slots int
		parallel              uint8
		want                  float64
	}{
		{100, 2, 2, 2, 1}, {0, 2, 2, 2, 1}, {20, 2, 1, 2, 0.2}, {20, 2, 2, 2, 0.1}, {50, 8, 1, 2, 1}, {20, 1, 1, 4, 0.2},
	} {
		h := NewHasher(Params{MemoryKiB: 19456, Iterations: 1, Parallelism: tc.parallel}, tc.slots, nil)
		h.LimitCPU(tc.percent, tc.cores)
		if d := h.duty - tc.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("LimitCPU(%d%%, %d cores) with %d slots of %d lanes: duty %v, want %v", tc.percent, tc.cores, tc.slots, tc.parallel, h.duty, tc.want)
		}
	}
}

func mustHash(t *testing.T, h *Hasher, pw string) string {
	t.Helper()
	s, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
