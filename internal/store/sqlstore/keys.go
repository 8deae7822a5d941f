package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CreateSigningKey stores a key; a missing CreatedAt is set to now.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at, sign_from, retire_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.PrivateKey, micros(s.orNow(k.CreatedAt)), micros(k.SignFrom), micros(k.RetireAt))
	if err != nil {
		return s.fail(err, "create signing key %q", k.ID)
	}
	return nil
}

// ListSigningKeys returns every key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT id, algorithm, private_key, created_at, sign_from, retire_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.SigningKey, error) {
		var k store.SigningKey
		var created, from, retire int64
		err := r.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &from, &retire)
		k.CreatedAt, k.SignFrom, k.RetireAt = fromMicros(created), fromMicros(from), fromMicros(retire)
		return k, err
	})
	if err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	return out, nil
}

// RetireSigningKeys sets RetireAt on every key that has none, except keepID.
func (s *Store) RetireSigningKeys(ctx context.Context, keepID string, at time.Time) error {
	if at.IsZero() {
		return errors.New("store: retire signing keys: zero time would mean not retired")
	}
	_, err := s.w().ExecContext(ctx, `UPDATE signing_keys SET retire_at = $1 WHERE retire_at = 0 AND id <> $2`,
		micros(at), keepID)
	if err != nil {
		return s.fail(err, "retire signing keys")
	}
	return nil
}

// DeleteSigningKeysRetiredBefore removes keys retired before t; keys never
// retired are kept.
func (s *Store) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) error {
	_, err := s.w().ExecContext(ctx, `DELETE FROM signing_keys WHERE retire_at <> 0 AND retire_at < $1`, micros(t))
	if err != nil {
		return s.fail(err, "delete retired signing keys")
	}
	return nil
}

const tokenCols = `hash, kind, account_id, data, created_at, expires_at, used_at`

func scanToken(row interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var account sql.NullString
	var created, expires, used int64
	err := row.Scan(&t.Hash, &t.Kind, &account, &t.Data, &created, &expires, &used)
	t.AccountID = account.String
	if len(t.Data) == 0 {
		t.Data = nil
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return t, err
}

// CreateToken stores t. With replace, the account's unused tokens of the
// same kind are deleted first, in the same transaction; a token with no
// account replaces nothing (SSO states of other browsers must survive).
func (s *Store) CreateToken(ctx context.Context, t store.Token, replace bool) error {
	if len(t.Hash) == 0 {
		return errors.New("store: create token: empty hash")
	}
	return s.inTx(ctx, func(tx *Store) error {
		if replace && t.AccountID != "" {
			// Lock the account row (on PostgreSQL) so two replacements for
			// one account run one after the other and leave one token.
			var id string
			if err := tx.tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE id = $1`+tx.d.ForUpdate,
				t.AccountID).Scan(&id); err != nil {
				return tx.fail(err, "create %s token for %q", t.Kind, t.AccountID)
			}
			if _, err := tx.tx.ExecContext(ctx, `DELETE FROM tokens WHERE kind = $1 AND account_id = $2 AND used_at = 0`,
				t.Kind, t.AccountID); err != nil {
				return tx.fail(err, "replace %s tokens of %q", t.Kind, t.AccountID)
			}
		}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
			t.Hash, t.Kind, nullString(t.AccountID), t.Data, micros(tx.orNow(t.CreatedAt)), micros(t.ExpiresAt))
		if err != nil {
			return tx.fail(err, "create %s token", t.Kind)
		}
		return nil
	})
}

// ConsumeToken marks the token used and returns it, in one statement, so
// two requests racing with the same link cannot both succeed.
func (s *Store) ConsumeToken(ctx context.Context, kind string, hash []byte, now time.Time) (store.Token, error) {
	used := micros(now)
	if used == 0 {
		// 0 means "unused"; keep a consumed token consumed even at the epoch.
		used = 1
	}
	t, err := scanToken(s.w().QueryRowContext(ctx, `UPDATE tokens SET used_at = $1
		WHERE kind = $2 AND hash = $3 AND used_at = 0 AND expires_at > $4
		RETURNING `+tokenCols, used, kind, hash, micros(now)))
	if err != nil {
		return store.Token{}, s.fail(err, "consume %s token", kind)
	}
	return t, nil
}

// PeekToken returns the token if it is still usable at now.
func (s *Store) PeekToken(ctx context.Context, kind string, hash []byte, now time.Time) (store.Token, error) {
	t, err := scanToken(s.r().QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE kind = $1 AND hash = $2 AND used_at = 0 AND expires_at > $3`, kind, hash, micros(now)))
	if err != nil {
		return store.Token{}, s.fail(err, "peek %s token", kind)
	}
	return t, nil
}

// Hit counts one event for key in a fixed window that opens at the first
// hit and closes window later; the next hit after that opens a new one. A
// single upsert keeps concurrent hits from every replica exact.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, fmt.Errorf("store: hit %q: window must be positive, got %s", key, window)
	}
	var count int
	var end int64
	err := s.w().QueryRowContext(ctx, `INSERT INTO throttle (bucket, hits, window_end) VALUES ($1, 1, $2)
		ON CONFLICT (bucket) DO UPDATE SET
			hits = CASE WHEN throttle.window_end <= $3 THEN 1 ELSE throttle.hits + 1 END,
			window_end = CASE WHEN throttle.window_end <= $3 THEN excluded.window_end ELSE throttle.window_end END
		RETURNING hits, window_end`,
		key, micros(now.Add(window)), micros(now)).Scan(&count, &end)
	if err != nil {
		return 0, time.Time{}, s.fail(err, "hit %q", key)
	}
	return count, fromMicros(end), nil
}

// Count returns the hits in key's current window, 0 when it is over.
func (s *Store) Count(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	var count int
	var end int64
	err := s.r().QueryRowContext(ctx, `SELECT hits, window_end FROM throttle WHERE bucket = $1`, key).Scan(&count, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, s.fail(err, "count %q", key)
	}
	if end <= micros(now) {
		return 0, time.Time{}, nil
	}
	return count, fromMicros(end), nil
}

// ResetCounter forgets key's window; resetting an unknown key is a no-op.
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := s.w().ExecContext(ctx, `DELETE FROM throttle WHERE bucket = $1`, key); err != nil {
		return s.fail(err, "reset counter %q", key)
	}
	return nil
}

// EnsureSecret stores value under name unless one is stored, and returns
// the stored one, so every replica converges on the first writer's value.
func (s *Store) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if len(value) == 0 {
		return nil, fmt.Errorf("store: ensure secret %q: empty value", name)
	}
	var out []byte
	err := s.inTx(ctx, func(tx *Store) error {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, value, micros(tx.now())); err != nil {
			return tx.fail(err, "ensure secret %q", name)
		}
		if err := tx.tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&out); err != nil {
			return tx.fail(err, "ensure secret %q", name)
		}
		return nil
	})
	return out, err
}
