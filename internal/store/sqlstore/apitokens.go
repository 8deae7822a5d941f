package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.APITokens = (*Store)(nil)

const apiTokenCols = `id, hash, name, account_id, created_at, expires_at, last_used_at, revoked_at`

func scanAPIToken(row interface{ Scan(...any) error }) (store.APIToken, error) {
	var t store.APIToken
	var created, expires, used, revoked int64
	err := row.Scan(&t.ID, &t.Hash, &t.Name, &t.AccountID, &created, &expires, &used, &revoked)
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	t.LastUsedAt, t.RevokedAt = fromMicros(used), fromMicros(revoked)
	return t, err
}

// CreateAPIToken stores t; a missing CreatedAt is now. ErrConflict when
// the id or the hash is taken, ErrNotFound when the account does not exist.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) error {
	if t.ID == "" || len(t.Hash) == 0 {
		return errors.New("store: create api token: empty id or hash")
	}
	_, err := s.w().ExecContext(ctx, `INSERT INTO api_tokens (`+apiTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.Hash, t.Name, t.AccountID, micros(s.orNow(t.CreatedAt)), micros(t.ExpiresAt),
		micros(t.LastUsedAt), micros(t.RevokedAt))
	if err != nil {
		return s.fail(err, "create api token %q for %q", t.ID, t.AccountID)
	}
	return nil
}

// GetAPITokenByHash finds a token by the hash of its secret. Like
// GetSessionByToken it does not judge expiry or revocation: the caller
// does, so it can tell the two apart in its audit log.
func (s *Store) GetAPITokenByHash(ctx context.Context, hash []byte) (store.APIToken, error) {
	t, err := scanAPIToken(s.r().QueryRowContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE hash = $1`, hash))
	if err != nil {
		return store.APIToken{}, s.fail(err, "get api token by hash")
	}
	return t, nil
}

// GetAPIToken returns the token with id.
func (s *Store) GetAPIToken(ctx context.Context, id string) (store.APIToken, error) {
	t, err := scanAPIToken(s.r().QueryRowContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE id = $1`, id))
	if err != nil {
		return store.APIToken{}, s.fail(err, "get api token %q", id)
	}
	return t, nil
}

// ListAPITokens returns every token, revoked ones included, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]store.APIToken, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "list api tokens")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.APIToken, error) { return scanAPIToken(r) })
	if err != nil {
		return nil, s.fail(err, "list api tokens")
	}
	return out, nil
}

// RevokeAPIToken marks the token revoked at at. Revoking it again keeps the
// first time, so the audit trail and the list agree; ErrNotFound when the
// token does not exist.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE api_tokens
		SET revoked_at = CASE WHEN revoked_at = 0 THEN $2 ELSE revoked_at END WHERE id = $1`,
		id, micros(s.orNow(at)))
	return s.mustAffect(res, err, "revoke api token %q", id)
}

// TouchAPIToken records a use. The time never moves backwards, so
// concurrent requests finishing out of order cannot rewind it;
// ErrNotFound when the token does not exist.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE api_tokens
		SET last_used_at = CASE WHEN last_used_at < $2 THEN $2 ELSE last_used_at END WHERE id = $1`,
		id, micros(at))
	return s.mustAffect(res, err, "touch api token %q", id)
}
