package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSecondFactors(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")

	_, err := s.GetTOTP(c, "u1")
	wantErr(t, "GetTOTP before any", err, store.ErrNotFound)
	wantErr(t, "PutPendingTOTP(unknown account)", s.PutPendingTOTP(c, store.TOTP{AccountID: "nobody", Secret: []byte("k")}), store.ErrNotFound)
	wantErr(t, "UseTOTPStep without a key", s.UseTOTPStep(c, "u1", 5), store.ErrNotFound)

	// A pending key can be replaced, and is not usable yet.
	noErr(t, "PutPendingTOTP", s.PutPendingTOTP(c, store.TOTP{AccountID: "u1", Secret: []byte("first"), CreatedAt: t0}))
	noErr(t, "PutPendingTOTP again", s.PutPendingTOTP(c, store.TOTP{AccountID: "u1", Secret: []byte("second"), CreatedAt: t0}))
	got, err := s.GetTOTP(c, "u1")
	noErr(t, "GetTOTP pending", err)
	if string(got.Secret) != "second" || !got.ConfirmedAt.IsZero() || got.LastStep != 0 || !got.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("pending key = %+v", got)
	}
	wantErr(t, "UseTOTPStep on a pending key", s.UseTOTPStep(c, "u1", 5), store.ErrNotFound)

	codes := [][]byte{[]byte("rc1"), []byte("rc2"), []byte("rc3")}
	noErr(t, "ConfirmTOTP", s.ConfirmTOTP(c, "u1", 100, codes, t0.Add(time.Minute)))
	wantErr(t, "ConfirmTOTP twice", s.ConfirmTOTP(c, "u1", 101, codes, t0), store.ErrNotFound)
	wantErr(t, "ConfirmTOTP without a key", s.ConfirmTOTP(c, "u2", 101, codes, t0), store.ErrNotFound)
	got, err = s.GetTOTP(c, "u1")
	noErr(t, "GetTOTP confirmed", err)
	if !got.ConfirmedAt.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) || got.LastStep != 100 {
		t.Fatalf("confirmed key = %+v", got)
	}
	// A confirmed key is not replaced by a new enrolment.
	wantErr(t, "PutPendingTOTP over a confirmed key", s.PutPendingTOTP(c, store.TOTP{AccountID: "u1", Secret: []byte("x")}), store.ErrConflict)

	// Steps only move forward: the confirming step and earlier ones are replays.
	wantErr(t, "UseTOTPStep(confirming step)", s.UseTOTPStep(c, "u1", 100), store.ErrConflict)
	wantErr(t, "UseTOTPStep(earlier)", s.UseTOTPStep(c, "u1", 99), store.ErrConflict)
	noErr(t, "UseTOTPStep(101)", s.UseTOTPStep(c, "u1", 101))
	wantErr(t, "UseTOTPStep(101) again", s.UseTOTPStep(c, "u1", 101), store.ErrConflict)

	// Two requests racing with one code: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() { results <- s.UseTOTPStep(c, "u1", 102) })
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Fatalf("concurrent UseTOTPStep: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent uses of one step succeeded, want exactly 1", ok)
	}

	// Recovery codes are single use, per account.
	count := func(id string) int {
		t.Helper()
		n, err := s.CountRecoveryCodes(c, id)
		noErr(t, "CountRecoveryCodes", err)
		return n
	}
	if got := count("u1"); got != 3 {
		t.Fatalf("recovery codes = %d, want 3", got)
	}
	wantErr(t, "UseRecoveryCode(other account)", s.UseRecoveryCode(c, "u2", []byte("rc1"), t0), store.ErrNotFound)
	wantErr(t, "UseRecoveryCode(unknown)", s.UseRecoveryCode(c, "u1", []byte("nope"), t0), store.ErrNotFound)
	results = make(chan error, n)
	for range n {
		wg.Go(func() { results <- s.UseRecoveryCode(c, "u1", []byte("rc1"), t0) })
	}
	wg.Wait()
	close(results)
	ok = 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("concurrent UseRecoveryCode: %v", err)
		}
	}
	if ok != 1 || count("u1") != 2 {
		t.Fatalf("%d concurrent uses of one recovery code succeeded (want 1), %d left (want 2)", ok, count("u1"))
	}

	// Removal takes the key and the codes; a new enrolment starts afresh.
	noErr(t, "DeleteSecondFactor", s.DeleteSecondFactor(c, "u1"))
	wantErr(t, "DeleteSecondFactor twice", s.DeleteSecondFactor(c, "u1"), store.ErrNotFound)
	_, err = s.GetTOTP(c, "u1")
	wantErr(t, "GetTOTP after delete", err, store.ErrNotFound)
	if got := count("u1"); got != 0 {
		t.Fatalf("recovery codes after delete = %d", got)
	}
	noErr(t, "PutPendingTOTP after delete", s.PutPendingTOTP(c, store.TOTP{AccountID: "u1", Secret: []byte("third")}))

	// In a failed transaction nothing changes.
	errBoom := errorString("boom")
	err = s.InTx(c, func(tx store.Store) error {
		noErr(t, "ConfirmTOTP in tx", tx.ConfirmTOTP(c, "u1", 7, codes, t0))
		return errBoom
	})
	wantErr(t, "InTx", err, errBoom)
	if got, err := s.GetTOTP(c, "u1"); err != nil || !got.ConfirmedAt.IsZero() {
		t.Fatalf("after a rolled-back confirmation = %+v, %v", got, err)
	}

	// Deleting the account deletes its second factor.
	noErr(t, "ConfirmTOTP u1", s.ConfirmTOTP(c, "u1", 7, codes, t0))
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "u1"))
	mustAccounts(t, s, "u1")
	if _, err := s.GetTOTP(c, "u1"); !errors.Is(err, store.ErrNotFound) || count("u1") != 0 {
		t.Fatalf("a re-created account inherited a second factor: %v, %d codes", err, count("u1"))
	}
}
