package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// LinkIdentity ties (provider, subject) to an account; ErrConflict when the
// pair is already linked, ErrNotFound when the account does not exist.
func (s *Store) LinkIdentity(ctx context.Context, l store.IdentityLink) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO identity_links (provider_id, subject, account_id, created_at)
		VALUES ($1, $2, $3, $4)`, l.ProviderID, l.Subject, l.AccountID, micros(s.orNow(l.CreatedAt)))
	if err != nil {
		return s.fail(err, "link identity %s/%s to %q", l.ProviderID, l.Subject, l.AccountID)
	}
	s.accountChanged(ctx, l.AccountID)
	return nil
}

func scanIdentity(row interface{ Scan(...any) error }) (store.IdentityLink, error) {
	var l store.IdentityLink
	var created int64
	err := row.Scan(&l.ProviderID, &l.Subject, &l.AccountID, &created)
	l.CreatedAt = fromMicros(created)
	return l, err
}

// GetIdentity returns the link for the provider's subject.
func (s *Store) GetIdentity(ctx context.Context, providerID, subject string) (store.IdentityLink, error) {
	l, err := scanIdentity(s.r().QueryRowContext(ctx, `SELECT provider_id, subject, account_id, created_at
		FROM identity_links WHERE provider_id = $1 AND subject = $2`, providerID, subject))
	if err != nil {
		return store.IdentityLink{}, s.fail(err, "get identity %s/%s", providerID, subject)
	}
	return l, nil
}

// ListIdentities returns the account's links ordered by provider and subject.
func (s *Store) ListIdentities(ctx context.Context, accountID string) ([]store.IdentityLink, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT provider_id, subject, account_id, created_at
		FROM identity_links WHERE account_id = $1 ORDER BY provider_id, subject`, accountID)
	if err != nil {
		return nil, s.fail(err, "list identities of %q", accountID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.IdentityLink, error) { return scanIdentity(r) })
	if err != nil {
		return nil, s.fail(err, "list identities of %q", accountID)
	}
	return out, nil
}

const sessionCols = `id, token_hash, account_id, amr, idp, id_token_hint, user_agent, ip,
	created_at, last_seen_at, expires_at, credential_id, idle_timeout, provider_sid, provider_subject`

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var ss store.Session
	var amr string
	var created, seen, expires, idle int64
	err := row.Scan(&ss.ID, &ss.TokenHash, &ss.AccountID, &amr, &ss.IDP, &ss.IDTokenHint, &ss.UserAgent,
		&ss.IP, &created, &seen, &expires, &ss.CredentialID, &idle, &ss.ProviderSID, &ss.ProviderSubject)
	if err != nil {
		return store.Session{}, err
	}
	if err := json.Unmarshal([]byte(amr), &ss.AMR); err != nil {
		return store.Session{}, err
	}
	if len(ss.AMR) == 0 {
		ss.AMR = nil
	}
	if len(ss.CredentialID) == 0 {
		ss.CredentialID = nil
	}
	ss.IdleTimeout = time.Duration(idle) * time.Microsecond
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return ss, nil
}

// CreateSession stores a session. A missing CreatedAt is set to now and a
// missing LastSeenAt to CreatedAt. IdleTimeout is kept to the microsecond.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	amr := ss.AMR
	if amr == nil {
		amr = []string{}
	}
	amrJSON, err := json.Marshal(amr)
	if err != nil {
		return s.fail(err, "create session %q: encode amr", ss.ID)
	}
	ss.CreatedAt, ss.LastSeenAt = s.newTimes(ss.CreatedAt, ss.LastSeenAt)
	if ss.IdleTimeout < 0 {
		return fmt.Errorf("store: create session %q: negative idle timeout %s", ss.ID, ss.IdleTimeout)
	}
	// NULL, not an empty blob, when the session did not use a passkey.
	var credentialID any
	if len(ss.CredentialID) > 0 {
		credentialID = ss.CredentialID
	}
	_, err = s.w().ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		ss.ID, ss.TokenHash, ss.AccountID, string(amrJSON), ss.IDP, ss.IDTokenHint, ss.UserAgent, ss.IP,
		micros(ss.CreatedAt), micros(ss.LastSeenAt), micros(ss.ExpiresAt), credentialID, ss.IdleTimeout.Microseconds(),
		ss.ProviderSID, ss.ProviderSubject)
	if err != nil {
		return s.fail(err, "create session %q for %q", ss.ID, ss.AccountID)
	}
	return nil
}

// GetSessionByToken finds a session by the hash of its browser token. It
// does not judge expiry; the session layer does.
func (s *Store) GetSessionByToken(ctx context.Context, tokenHash []byte) (store.Session, error) {
	ss, err := scanSession(s.r().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return store.Session{}, s.fail(err, "get session by token")
	}
	return ss, nil
}

// GetSession returns the session with id.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	ss, err := scanSession(s.r().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return store.Session{}, s.fail(err, "get session %q", id)
	}
	return ss, nil
}

// TouchSessions records last-seen times in one transaction. A time never
// moves backwards and unknown ids are ignored (the session may have ended
// since it was seen). Ids are written in sorted order so two concurrent
// batches lock rows in the same order and cannot deadlock.
func (s *Store) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return s.inTx(ctx, func(tx *Store) error {
		stmt, err := tx.tx.PrepareContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`)
		if err != nil {
			return tx.fail(err, "touch sessions")
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, micros(seen[id]), id); err != nil {
				return tx.fail(err, "touch session %q", id)
			}
		}
		return nil
	})
}

// DeleteSession ends one session; ErrNotFound when it is already gone.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return s.mustAffect(res, err, "delete session %q", id)
}

// DeleteAccountSessions ends every session of the account and returns
// their ids, sorted, so callers can evict them from caches.
func (s *Store) DeleteAccountSessions(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.w().QueryContext(ctx, `DELETE FROM sessions WHERE account_id = $1 RETURNING id`, accountID)
	if err != nil {
		return nil, s.fail(err, "delete sessions of %q", accountID)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.fail(err, "delete sessions of %q", accountID)
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteCredentialSessions ends the account's sessions that signed in
// with the passkey and returns their ids, sorted, so callers can evict
// them from caches. Scoped by account like DeleteCredential.
func (s *Store) DeleteCredentialSessions(ctx context.Context, accountID string, credentialID []byte) ([]string, error) {
	if len(credentialID) == 0 {
		return nil, fmt.Errorf("store: delete passkey sessions of %q: empty credential id", accountID)
	}
	rows, err := s.w().QueryContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND credential_id = $2 RETURNING id`,
		accountID, credentialID)
	if err != nil {
		return nil, s.fail(err, "delete passkey sessions of %q", accountID)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.fail(err, "delete passkey sessions of %q", accountID)
	}
	slices.Sort(ids)
	return ids, nil
}

// ListAccountSessions returns the account's sessions, oldest first.
func (s *Store) ListAccountSessions(ctx context.Context, accountID string) ([]store.Session, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = $1
		ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, s.fail(err, "list sessions of %q", accountID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, s.fail(err, "list sessions of %q", accountID)
	}
	return out, nil
}

// DeleteExpiredSessions removes sessions whose absolute expiry is at or
// before now (a zero ExpiresAt never expires), whose own IdleTimeout has
// run out at now (the session layer's rule: idle strictly longer than it),
// or, when they have none, last seen before idleBefore (zero: no limit).
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := s.w().ExecContext(ctx, `DELETE FROM sessions
		WHERE (expires_at <> 0 AND expires_at <= $1)
			OR (idle_timeout = 0 AND last_seen_at < $2)
			OR (idle_timeout > 0 AND last_seen_at < $3 - idle_timeout)`,
		micros(now), micros(idleBefore), micros(now))
	if err != nil {
		return 0, s.fail(err, "delete expired sessions")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.fail(err, "delete expired sessions")
	}
	return int(n), nil
}

// CountSessions returns how many sessions are stored.
func (s *Store) CountSessions(ctx context.Context) (int, error) {
	var n int
	if err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
		return 0, s.fail(err, "count sessions")
	}
	return n, nil
}
