package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var (
	_ store.ProviderSessions = (*Store)(nil)
	_ store.LogoutTokens     = (*Store)(nil)
)

// DeleteProviderSessions ends the sessions of providerID that match sid
// and subject (an empty one matches any) and returns their ids, sorted.
func (s *Store) DeleteProviderSessions(ctx context.Context, providerID, sid, subject string) ([]string, error) {
	if providerID == "" || (sid == "" && subject == "") {
		return nil, errors.New("store: delete provider sessions: a provider and a sid or subject are required")
	}
	// One plain condition per given value, so each can use its index.
	where, args := `idp = $1`, []any{providerID}
	if sid != "" {
		args = append(args, sid)
		where += fmt.Sprintf(` AND provider_sid = $%d`, len(args))
	}
	if subject != "" {
		args = append(args, subject)
		where += fmt.Sprintf(` AND provider_subject = $%d`, len(args))
	}
	rows, err := s.w().QueryContext(ctx, `DELETE FROM sessions WHERE `+where+` RETURNING id`, args...)
	if err != nil {
		return nil, s.fail(err, "delete sessions of provider %q", providerID)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.fail(err, "delete sessions of provider %q", providerID)
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteAllProviderSessions ends every session of providerID.
func (s *Store) DeleteAllProviderSessions(ctx context.Context, providerID string) ([]string, error) {
	if providerID == "" || providerID == "local" {
		return nil, errors.New("store: delete all provider sessions: an identity provider is required")
	}
	rows, err := s.w().QueryContext(ctx, `DELETE FROM sessions WHERE idp = $1 RETURNING id`, providerID)
	if err != nil {
		return nil, s.fail(err, "delete all sessions of provider %q", providerID)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.fail(err, "delete all sessions of provider %q", providerID)
	}
	slices.Sort(ids)
	return ids, nil
}

// UseLogoutToken records a logout token's jti in one statement: an insert
// that, on a known jti, only replaces a record expired at now. The unique
// key makes a concurrent second use wait for the first and then find its
// record live, so it changes no row and gets ErrConflict.
func (s *Store) UseLogoutToken(ctx context.Context, providerID, jti string, expiresAt, now time.Time) error {
	if providerID == "" || jti == "" {
		return errors.New("store: use logout token: a provider and a jti are required")
	}
	res, err := s.w().ExecContext(ctx, `INSERT INTO logout_tokens (provider_id, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (provider_id, jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE logout_tokens.expires_at <= $4`, providerID, jti, micros(expiresAt), micros(now))
	if err != nil {
		return s.fail(err, "use logout token of provider %q", providerID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "use logout token of provider %q", providerID)
	}
	if n == 0 {
		return fmt.Errorf("store: logout token of provider %q already used: %w", providerID, store.ErrConflict)
	}
	return nil
}

// ReleaseLogoutToken deletes the record of a logout token's jti.
func (s *Store) ReleaseLogoutToken(ctx context.Context, providerID, jti string) error {
	if _, err := s.w().ExecContext(ctx, `DELETE FROM logout_tokens WHERE provider_id = $1 AND jti = $2`, providerID, jti); err != nil {
		return s.fail(err, "release logout token of provider %q", providerID)
	}
	return nil
}
