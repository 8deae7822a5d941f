// Package mfa is the second factor of password accounts: TOTP keys
// (RFC 6238) with enrolment, replay-proof verification and throttling of
// wrong codes, and single-use recovery codes stored hashed.
package mfa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Errors callers tell apart with errors.Is.
var (
	// ErrInvalidCode: the code is wrong, expired, or already used.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrThrottled: too many wrong codes for this account lately.
	ErrThrottled = errors.New("mfa: too many wrong codes")
	// ErrNotEnrolled: the account has no confirmed second factor (or, to
	// Confirm, no pending one).
	ErrNotEnrolled = errors.New("mfa: no second factor")
	// ErrEnrolled: the account already has a confirmed second factor.
	ErrEnrolled = errors.New("mfa: second factor already set up")
)

// RFC 6238 parameters every authenticator app understands.
const (
	period     = 30 // seconds per step
	digits     = otp.DigitsSix
	secretSize = 20 // bytes: the HMAC-SHA1 block RFC 4226 recommends
	// skew is how many steps either side of now a code is accepted for,
	// for phones whose clocks drift (RFC 6238 §5.2 recommends one).
	skew = 1

	// RecoveryCodes is how many recovery codes an enrolment hands out.
	RecoveryCodes = 10
	// recoveryLen is the length of a recovery code in base32 letters:
	// 10 letters carry 50 random bits, far beyond guessing under the
	// throttle, so a fast hash (SHA-256) is enough to store them.
	recoveryLen = 10
)

// Methods Verify reports, as RFC 8176 names them: both are one-time codes.
const (
	MethodTOTP     = "totp"
	MethodRecovery = "recovery"
)

// Store is what the service keeps: the second factors and the shared
// throttling counters.
type Store interface {
	store.SecondFactors
	store.Throttle
}

// Sealer protects the TOTP key at rest, so a database dump alone does not
// give it away. Nil stores the key as it is.
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Options tunes a Service. Zero values take the defaults.
type Options struct {
	// Issuer is the name authenticator apps show beside the account
	// (default "Gatehouse").
	Issuer string
	// MaxFailures wrong codes within Window lock the account's second
	// factor until the window ends (defaults 5 and 15 minutes), like the
	// password lockout: six digits must not be guessable online.
	MaxFailures int
	Window      time.Duration
	Sealer      Sealer
}

// Service enrols and checks second factors. Build it with New.
type Service struct {
	st   Store
	opts Options
	now  func() time.Time
	rand io.Reader
}

// New returns a service over st; time and randomness come from now and rnd.
func New(st Store, opts Options, now func() time.Time, rnd io.Reader) *Service {
	if opts.Issuer == "" {
		opts.Issuer = "Gatehouse"
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	return &Service{st: st, opts: opts, now: now, rand: rnd}
}

// Enrolment is what the account page shows to set up an authenticator app.
type Enrolment struct {
	Secret string // the key as text (base32), for typing it in
	URL    string // otpauth:// URL, what the QR code holds
	QR     []byte // PNG of the QR code
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Begin starts (or resumes) enrolment: it shows the account's pending key,
// making one when there is none, so a page that is reloaded shows the key
// an app may already have scanned. accountName is what the app shows (the
// email). ErrEnrolled when a confirmed key exists: it must be removed
// first.
func (s *Service) Begin(ctx context.Context, accountID, accountName string) (Enrolment, error) {
	raw, err := s.pendingKey(ctx, accountID)
	if err != nil {
		return Enrolment{}, err
	}
	if raw == nil {
		raw = make([]byte, secretSize)
		if _, err := io.ReadFull(s.rand, raw); err != nil {
			return Enrolment{}, fmt.Errorf("mfa: generate key: %w", err)
		}
		sealed, err := s.seal(raw)
		if err != nil {
			return Enrolment{}, err
		}
		err = s.st.PutPendingTOTP(ctx, store.TOTP{AccountID: accountID, Secret: sealed, CreatedAt: s.now()})
		if errors.Is(err, store.ErrConflict) {
			return Enrolment{}, ErrEnrolled
		}
		if err != nil {
			return Enrolment{}, err
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.opts.Issuer, AccountName: accountName, Period: period, Secret: raw,
		Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: key URL: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("mfa: qr code: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QR: buf.Bytes()}, nil
}

// pendingKey returns the pending key, nil when there is none, and
// ErrEnrolled when the key is confirmed.
func (s *Service) pendingKey(ctx context.Context, accountID string) ([]byte, error) {
	t, err := s.st.GetTOTP(ctx, accountID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case !t.ConfirmedAt.IsZero():
		return nil, ErrEnrolled
	}
	return s.open(t.Secret)
}

// Confirm checks the first code of a pending key, confirms it and returns
// the recovery codes, shown once: only their hashes are kept.
func (s *Service) Confirm(ctx context.Context, accountID, code string) ([]string, error) {
	t, err := s.st.GetTOTP(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, err
	}
	if !t.ConfirmedAt.IsZero() {
		return nil, ErrEnrolled
	}
	if err := s.allow(ctx, accountID); err != nil {
		return nil, err
	}
	step, ok, err := s.match(t, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.failed(ctx, accountID)
		return nil, ErrInvalidCode
	}
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.st.ConfirmTOTP(ctx, accountID, step, hashes, s.now())
	if errors.Is(err, store.ErrNotFound) {
		// Confirmed (or removed) by another request meanwhile.
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, err
	}
	s.succeeded(ctx, accountID)
	return codes, nil
}

// Enrolled reports whether the account has a confirmed second factor.
func (s *Service) Enrolled(ctx context.Context, accountID string) (bool, error) {
	t, err := s.st.GetTOTP(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !t.ConfirmedAt.IsZero(), nil
}

// RecoveryCodesLeft counts the unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	return s.st.CountRecoveryCodes(ctx, accountID)
}

// Verify checks a sign-in code: six digits are a TOTP code, anything else
// a recovery code. It answers which it was. A TOTP code is accepted one
// step either side of now, never for a step already used; a recovery code
// once. Wrong codes count towards the account's lock (ErrThrottled).
func (s *Service) Verify(ctx context.Context, accountID, code string) (string, error) {
	t, err := s.st.GetTOTP(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.ConfirmedAt.IsZero()) {
		return "", ErrNotEnrolled
	}
	if err != nil {
		return "", err
	}
	if err := s.allow(ctx, accountID); err != nil {
		return "", err
	}
	method, err := s.verify(ctx, t, code)
	switch {
	case errors.Is(err, ErrInvalidCode):
		s.failed(ctx, accountID)
		return "", err
	case err != nil:
		return "", err
	}
	s.succeeded(ctx, accountID)
	return method, nil
}

func (s *Service) verify(ctx context.Context, t store.TOTP, code string) (string, error) {
	code = strings.TrimSpace(code)
	if isTOTPCode(code) {
		step, ok, err := s.match(t, code)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", ErrInvalidCode
		}
		err = s.st.UseTOTPStep(ctx, t.AccountID, step)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			// A replay, or the key was removed meanwhile.
			return "", ErrInvalidCode
		}
		return MethodTOTP, err
	}
	norm, ok := normaliseRecovery(code)
	if !ok {
		return "", ErrInvalidCode
	}
	err := s.st.UseRecoveryCode(ctx, t.AccountID, hashRecovery(norm), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidCode
	}
	return MethodRecovery, err
}

// Remove deletes the account's second factor (key and recovery codes).
// ErrNotEnrolled when there was none. The caller checks who may do it.
func (s *Service) Remove(ctx context.Context, accountID string) error {
	err := s.st.DeleteSecondFactor(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotEnrolled
	}
	if err == nil {
		s.succeeded(ctx, accountID)
	}
	return err
}

// match finds the step, within skew of now, whose code is code. Every
// candidate is computed and compared in constant time.
func (s *Service) match(t store.TOTP, code string) (int64, bool, error) {
	code = strings.TrimSpace(code)
	if !isTOTPCode(code) {
		return 0, false, nil
	}
	raw, err := s.open(t.Secret)
	if err != nil {
		return 0, false, err
	}
	secret := b32.EncodeToString(raw)
	now := s.now().Unix() / period
	var found int64
	ok := false
	for step := now - skew; step <= now+skew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false, fmt.Errorf("mfa: compute code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = step, true
		}
	}
	return found, ok, nil
}

func isTOTPCode(code string) bool {
	if len(code) != digits.Length() {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// newRecoveryCodes makes the codes and their hashes. Codes are shown as
// two groups of five lowercase base32 letters.
func (s *Service) newRecoveryCodes() ([]string, [][]byte, error) {
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	raw := make([]byte, recoveryLen*5/8)
	for i := range codes {
		if _, err := io.ReadFull(s.rand, raw); err != nil {
			return nil, nil, fmt.Errorf("mfa: recovery codes: %w", err)
		}
		c := strings.ToLower(b32.EncodeToString(raw))
		codes[i] = c[:5] + "-" + c[5:]
		hashes[i] = hashRecovery(c)
	}
	return codes, hashes, nil
}

// normaliseRecovery accepts a recovery code however it was typed:
// any case, with or without the dash and spaces.
func normaliseRecovery(code string) (string, bool) {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) != recoveryLen {
		return "", false
	}
	if _, err := b32.DecodeString(strings.ToUpper(code)); err != nil {
		return "", false
	}
	return code, true
}

func hashRecovery(norm string) []byte {
	h := sha256.Sum256([]byte("gatehouse-recovery:" + norm))
	return h[:]
}

func (s *Service) seal(raw []byte) ([]byte, error) {
	if s.opts.Sealer == nil {
		return raw, nil
	}
	out, err := s.opts.Sealer.Seal(raw)
	if err != nil {
		return nil, fmt.Errorf("mfa: seal key: %w", err)
	}
	return out, nil
}

func (s *Service) open(stored []byte) ([]byte, error) {
	if s.opts.Sealer == nil {
		return stored, nil
	}
	out, err := s.opts.Sealer.Open(stored)
	if err != nil {
		return nil, fmt.Errorf("mfa: open key: %w", err)
	}
	return out, nil
}

func failKey(accountID string) string { return "mfa:fail:" + accountID }

// allow refuses while the account has MaxFailures wrong codes in the
// current window. Unlike the password guard it fails closed on a store
// error: the password was already right, so refusing costs a retry, and
// letting codes through unthrottled would cost the second factor.
func (s *Service) allow(ctx context.Context, accountID string) error {
	n, _, err := s.st.Count(ctx, failKey(accountID), s.now())
	if err != nil {
		return fmt.Errorf("mfa: reading failures: %w", err)
	}
	if n >= s.opts.MaxFailures {
		return ErrThrottled
	}
	return nil
}

func (s *Service) failed(ctx context.Context, accountID string) {
	_, _, _ = s.st.Hit(ctx, failKey(accountID), s.opts.Window, s.now())
}

func (s *Service) succeeded(ctx context.Context, accountID string) {
	_ = s.st.ResetCounter(ctx, failKey(accountID))
}
