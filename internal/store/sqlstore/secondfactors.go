package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.SecondFactors = (*Store)(nil)

// PutPendingTOTP stores an unconfirmed key, replacing an unconfirmed one.
func (s *Store) PutPendingTOTP(ctx context.Context, t store.TOTP) error {
	if len(t.Secret) == 0 {
		return errors.New("store: put totp: empty secret")
	}
	return s.inTx(ctx, func(q *Store) error {
		var confirmed int64
		err := q.w().QueryRowContext(ctx, `SELECT confirmed_at FROM totp_keys WHERE account_id = $1`+q.d.ForUpdate, t.AccountID).Scan(&confirmed)
		switch {
		case err == nil && confirmed != 0:
			return fmt.Errorf("store: put totp of %q: a confirmed key exists: %w", t.AccountID, store.ErrConflict)
		case err == nil:
			if _, err := q.w().ExecContext(ctx, `DELETE FROM totp_keys WHERE account_id = $1`, t.AccountID); err != nil {
				return q.fail(err, "put totp of %q", t.AccountID)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return q.fail(err, "put totp of %q", t.AccountID)
		}
		_, err = q.w().ExecContext(ctx, `INSERT INTO totp_keys (account_id, secret, confirmed_at, last_step, created_at)
			VALUES ($1, $2, 0, 0, $3)`, t.AccountID, t.Secret, micros(q.orNow(t.CreatedAt)))
		if err != nil {
			return q.fail(err, "put totp of %q", t.AccountID)
		}
		return nil
	})
}

// GetTOTP returns the account's key, pending or confirmed.
func (s *Store) GetTOTP(ctx context.Context, accountID string) (store.TOTP, error) {
	t := store.TOTP{AccountID: accountID}
	var confirmed, created int64
	err := s.r().QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step, created_at FROM totp_keys WHERE account_id = $1`,
		accountID).Scan(&t.Secret, &confirmed, &t.LastStep, &created)
	if err != nil {
		return store.TOTP{}, s.fail(err, "get totp of %q", accountID)
	}
	t.ConfirmedAt, t.CreatedAt = fromMicros(confirmed), fromMicros(created)
	return t, nil
}

// ConfirmTOTP confirms the pending key and replaces the recovery codes in
// one transaction.
func (s *Store) ConfirmTOTP(ctx context.Context, accountID string, step int64, recoveryHashes [][]byte, at time.Time) error {
	return s.inTx(ctx, func(q *Store) error {
		res, err := q.w().ExecContext(ctx, `UPDATE totp_keys SET confirmed_at = $1, last_step = $2
			WHERE account_id = $3 AND confirmed_at = 0`, micros(q.orNow(at)), step, accountID)
		if err := q.mustAffect(res, err, "confirm totp of %q", accountID); err != nil {
			return err
		}
		return q.replaceRecoveryCodes(ctx, accountID, recoveryHashes)
	})
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, accountID string, hashes [][]byte) error {
	if _, err := s.w().ExecContext(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
		return s.fail(err, "replace recovery codes of %q", accountID)
	}
	for _, h := range hashes {
		if _, err := s.w().ExecContext(ctx, `INSERT INTO recovery_codes (account_id, hash, used_at) VALUES ($1, $2, 0)`,
			accountID, h); err != nil {
			return s.fail(err, "replace recovery codes of %q", accountID)
		}
	}
	return nil
}

// UseTOTPStep moves last_step forward; the condition in the UPDATE makes
// the check and the write one step, so two requests racing with one code
// cannot both pass.
func (s *Store) UseTOTPStep(ctx context.Context, accountID string, step int64) error {
	res, err := s.w().ExecContext(ctx, `UPDATE totp_keys SET last_step = $1
		WHERE account_id = $2 AND confirmed_at <> 0 AND last_step < $1`, step, accountID)
	if err != nil {
		return s.fail(err, "use totp step of %q", accountID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "use totp step of %q", accountID)
	}
	if n == 1 {
		return nil
	}
	var confirmed int64
	err = s.w().QueryRowContext(ctx, `SELECT confirmed_at FROM totp_keys WHERE account_id = $1`, accountID).Scan(&confirmed)
	if err == nil && confirmed == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return s.fail(err, "use totp step of %q", accountID)
	}
	return fmt.Errorf("store: use totp step of %q: step %d already used: %w", accountID, step, store.ErrConflict)
}

// UseRecoveryCode marks one unused code used.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID string, hash []byte, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1
		WHERE account_id = $2 AND hash = $3 AND used_at = 0`, micros(s.orNow(at)), accountID, hash)
	return s.mustAffect(res, err, "use recovery code of %q", accountID)
}

// CountRecoveryCodes counts the unused codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at = 0`, accountID).Scan(&n)
	if err != nil {
		return 0, s.fail(err, "count recovery codes of %q", accountID)
	}
	return n, nil
}

// DeleteSecondFactor removes the key and the recovery codes together.
func (s *Store) DeleteSecondFactor(ctx context.Context, accountID string) error {
	return s.inTx(ctx, func(q *Store) error {
		if _, err := q.w().ExecContext(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
			return q.fail(err, "delete second factor of %q", accountID)
		}
		res, err := q.w().ExecContext(ctx, `DELETE FROM totp_keys WHERE account_id = $1`, accountID)
		return q.mustAffect(res, err, "delete second factor of %q", accountID)
	})
}
