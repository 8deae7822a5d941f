package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.Credentials = (*Store)(nil)

const credentialCols = `id, account_id, name, public_key, attestation_type, aaguid, sign_count, transports,
	backup_eligible, backup_state, workstation, created_at, last_used_at`

func scanCredential(row interface{ Scan(...any) error }) (store.Credential, error) {
	var c store.Credential
	var signCount, created, used int64
	var transports string
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.PublicKey, &c.AttestationType, &c.AAGUID, &signCount,
		&transports, &c.BackupEligible, &c.BackupState, &c.Workstation, &created, &used)
	if err != nil {
		return store.Credential{}, err
	}
	if err := json.Unmarshal([]byte(transports), &c.Transports); err != nil {
		return store.Credential{}, err
	}
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	c.SignCount = uint32(signCount)
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromMicros(used)
	return c, nil
}

// orEmpty keeps a nil byte slice out of a NOT NULL column: drivers bind
// nil as NULL.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateCredential stores a passkey; a missing CreatedAt is now.
// ErrConflict when the credential id is already registered (to anyone),
// ErrNotFound when the account does not exist.
func (s *Store) CreateCredential(ctx context.Context, c store.Credential) error {
	if len(c.ID) == 0 {
		return errors.New("store: create credential: empty id")
	}
	transports := c.Transports
	if transports == nil {
		transports = []string{}
	}
	tj, err := json.Marshal(transports)
	if err != nil {
		return s.fail(err, "create credential for %q: encode transports", c.AccountID)
	}
	_, err = s.w().ExecContext(ctx, `INSERT INTO credentials (`+credentialCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.AccountID, c.Name, orEmpty(c.PublicKey), c.AttestationType, orEmpty(c.AAGUID), int64(c.SignCount),
		string(tj), c.BackupEligible, c.BackupState, c.Workstation, micros(s.orNow(c.CreatedAt)), micros(c.LastUsedAt))
	if err != nil {
		return s.fail(err, "create credential for %q", c.AccountID)
	}
	return nil
}

// GetCredential returns the passkey with id, whoever it belongs to: at
// sign-in the credential names the account, not the other way round.
func (s *Store) GetCredential(ctx context.Context, id []byte) (store.Credential, error) {
	c, err := scanCredential(s.r().QueryRowContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = $1`, id))
	if err != nil {
		return store.Credential{}, s.fail(err, "get credential")
	}
	return c, nil
}

// ListCredentials returns the account's passkeys, oldest first.
func (s *Store) ListCredentials(ctx context.Context, accountID string) ([]store.Credential, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE account_id = $1
		ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, s.fail(err, "list credentials of %q", accountID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Credential, error) { return scanCredential(r) })
	if err != nil {
		return nil, s.fail(err, "list credentials of %q", accountID)
	}
	return out, nil
}

// UpdateCredentialUse records a sign-in. It stores the sign count it is
// given: judging a counter that went backwards (a cloned authenticator)
// is the caller's business, before it calls this.
func (s *Store) UpdateCredentialUse(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE credentials SET sign_count = $2, backup_state = $3, last_used_at = $4
		WHERE id = $1`, id, int64(signCount), backupState, micros(at))
	return s.mustAffect(res, err, "update credential use")
}

// RenameCredential renames one of the account's passkeys; ErrNotFound when
// the account has no such passkey, so one account cannot touch another's.
func (s *Store) RenameCredential(ctx context.Context, accountID string, id []byte, name string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE credentials SET name = $3 WHERE id = $1 AND account_id = $2`,
		id, accountID, name)
	return s.mustAffect(res, err, "rename credential of %q", accountID)
}

// DeleteCredential removes one of the account's passkeys; ErrNotFound when
// the account has no such passkey. The sessions it signed in stay: the
// caller ends them with DeleteCredentialSessions and evicts its caches.
func (s *Store) DeleteCredential(ctx context.Context, accountID string, id []byte) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM credentials WHERE id = $1 AND account_id = $2`, id, accountID)
	return s.mustAffect(res, err, "delete credential of %q", accountID)
}
