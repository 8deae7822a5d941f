package mfa_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/auth/mfa"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

type fixture struct {
	svc   *mfa.Service
	st    store.Store
	clock *clocktest.Clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2025, 3, 1, 10, 0, 5, 0, time.UTC)
	if err := st.CreateAccount(t.Context(), store.Account{ID: "ada", Email: "ada@example.com", Status: store.StatusActive,
		Kind: store.KindPersonal, SignIn: "password", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(now)
	return fixture{svc: mfa.New(st, mfa.Options{}, c.Now, rand.Reader), st: st, clock: c}
}

// code is what an authenticator app shows at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol sets up ada's authenticator and returns its key and recovery codes.
func (f fixture) enrol(t *testing.T) (string, []string) {
	t.Helper()
	e, err := f.svc.Begin(t.Context(), "ada", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.Confirm(t.Context(), "ada", code(t, e.Secret, f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Second) // the confirming code's step is used
	return e.Secret, codes
}

func TestEnrolment(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	e, err := f.svc.Begin(ctx, "ada", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != e.Secret || u.Query().Get("issuer") != "Gatehouse" {
		t.Fatalf("otpauth URL = %q (%v)", e.URL, err)
	}
	if _, err := png.Decode(bytes.NewReader(e.QR)); err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	// A reload shows the same key: an app may already have scanned it.
	if again, err := f.svc.Begin(ctx, "ada", "ada@example.com"); err != nil || again.Secret != e.Secret {
		t.Fatalf("Begin again = %q, %v; want the pending key %q", again.Secret, err, e.Secret)
	}
	// Not enrolled until confirmed: sign-in does not ask for a code yet.
	if ok, err := f.svc.Enrolled(ctx, "ada"); err != nil || ok {
		t.Fatalf("Enrolled before confirmation = %v, %v", ok, err)
	}
	if _, err := f.svc.Verify(ctx, "ada", code(t, e.Secret, f.clock.Now())); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Verify with a pending key: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, "ada", "000000x"); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Confirm with a malformed code: %v", err)
	}
	codes, err := f.svc.Confirm(ctx, "ada", code(t, e.Secret, f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != mfa.RecoveryCodes {
		t.Fatalf("%d recovery codes, want %d", len(codes), mfa.RecoveryCodes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || seen[c] {
			t.Fatalf("recovery codes %v", codes)
		}
		seen[c] = true
	}
	if ok, err := f.svc.Enrolled(ctx, "ada"); err != nil || !ok {
		t.Fatalf("Enrolled after confirmation = %v, %v", ok, err)
	}
	if _, err := f.svc.Begin(ctx, "ada", "ada@example.com"); !errors.Is(err, mfa.ErrEnrolled) {
		t.Fatalf("Begin over a confirmed key: %v", err)
	}
	// Only hashes are stored: no recovery code appears in the store.
	if _, err := f.st.GetTOTP(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if err := f.st.UseRecoveryCode(ctx, "ada", []byte(c), f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("recovery code %q stored as it is: %v", c, err)
		}
	}
}

func TestReplayRefused(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enrol(t)
	c := code(t, secret, f.clock.Now())
	if m, err := f.svc.Verify(t.Context(), "ada", c); err != nil || m != mfa.MethodTOTP {
		t.Fatalf("first use = %q, %v", m, err)
	}
	// Within the same step and the next (the code stays valid through
	// the skew), the used code is refused.
	for _, d := range []time.Duration{0, 10 * time.Second, 30 * time.Second} {
		f.clock.Add(d)
		if _, err := f.svc.Verify(t.Context(), "ada", c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replay after %s: %v", d, err)
		}
	}
	// An older code (the previous step's) is refused too once a later
	// step was used: steps only move forward.
	f.clock.Add(30 * time.Second)
	now := f.clock.Now()
	if _, err := f.svc.Verify(t.Context(), "ada", code(t, secret, now)); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	if _, err := f.svc.Verify(t.Context(), "ada", code(t, secret, now.Add(-30*time.Second))); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("an older code after a newer one: %v", err)
	}
}

func TestClockSkewOfOneStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		phone time.Duration // the phone's clock minus the server's
		ok    bool
	}{
		{"phone one step behind", -30 * time.Second, true},
		{"phone one step ahead", 30 * time.Second, true},
		{"phone two steps behind", -60 * time.Second, false},
		{"phone two steps ahead", 60 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			secret, _ := f.enrol(t)
			f.clock.Add(5 * time.Minute)
			_, err := f.svc.Verify(t.Context(), "ada", code(t, secret, f.clock.Now().Add(tc.phone)))
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("Verify = %v, want ErrInvalidCode", err)
			}
		})
	}
}

func TestRecoveryCodesSingleUse(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enrol(t)
	ctx := t.Context()
	// Typed in capitals, without the dash: still the code.
	typed := string(bytes.ToUpper([]byte(codes[0][:5] + " " + codes[0][6:])))
	if m, err := f.svc.Verify(ctx, "ada", typed); err != nil || m != mfa.MethodRecovery {
		t.Fatalf("recovery code = %q, %v", m, err)
	}
	if _, err := f.svc.Verify(ctx, "ada", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("recovery code used twice: %v", err)
	}
	if n, err := f.svc.RecoveryCodesLeft(ctx, "ada"); err != nil || n != mfa.RecoveryCodes-1 {
		t.Fatalf("RecoveryCodesLeft = %d, %v", n, err)
	}
	if _, err := f.svc.Verify(ctx, "ada", codes[1]); err != nil {
		t.Fatalf("another recovery code: %v", err)
	}
}

func TestThrottling(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enrol(t)
	ctx := t.Context()
	for i := range 5 {
		if _, err := f.svc.Verify(ctx, "ada", "000000"); !errors.Is(err, mfa.ErrInvalidCode) {
			// 000000 could be the real code once in a million runs.
			if err == nil && code(t, secret, f.clock.Now()) == "000000" {
				continue
			}
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	// Locked: even the right code is refused, and says why.
	if _, err := f.svc.Verify(ctx, "ada", code(t, secret, f.clock.Now())); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("right code while locked: %v", err)
	}
	// Recovery codes go through the same lock.
	if _, err := f.svc.Verify(ctx, "ada", "aaaaa-aaaaa"); !errors.Is(err, mfa.ErrThrottled) {
		t.Fatalf("recovery code while locked: %v", err)
	}
	// The lock ends with its window.
	f.clock.Add(16 * time.Minute)
	if _, err := f.svc.Verify(ctx, "ada", code(t, secret, f.clock.Now())); err != nil {
		t.Fatalf("right code after the window: %v", err)
	}
}

func TestRemove(t *testing.T) {
	f := newFixture(t)
	secret, codes := f.enrol(t)
	ctx := t.Context()
	if err := f.svc.Remove(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Remove(ctx, "ada"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Remove twice: %v", err)
	}
	for _, c := range []string{code(t, secret, f.clock.Now()), codes[0]} {
		if _, err := f.svc.Verify(ctx, "ada", c); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("Verify after removal: %v", err)
		}
	}
}

// xorSealer stands for the deployment's key for secrets at rest.
type xorSealer struct{}

func (xorSealer) Seal(p []byte) ([]byte, error) { return xor(p), nil }
func (xorSealer) Open(p []byte) ([]byte, error) { return xor(p), nil }
func xor(p []byte) []byte {
	out := make([]byte, len(p))
	for i, b := range p {
		out[i] = b ^ 0x5a
	}
	return out
}

func TestSealedKey(t *testing.T) {
	f := newFixture(t)
	svc := mfa.New(f.st, mfa.Options{Sealer: xorSealer{}}, f.clock.Now, rand.Reader)
	e, err := svc.Begin(t.Context(), "ada", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.st.GetTOTP(t.Context(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored.Secret, raw) || !bytes.Equal(stored.Secret, xor(raw)) {
		t.Fatalf("stored key is not the sealed one: %x", stored.Secret)
	}
	if _, err := svc.Confirm(t.Context(), "ada", code(t, e.Secret, f.clock.Now())); err != nil {
		t.Fatalf("Confirm through the sealer: %v", err)
	}
}
