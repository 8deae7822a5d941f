package sqlstore

import (
	"context"
	"database/sql"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.Workstations = (*Store)(nil)

// AllowedNetworks returns the account's allowed networks in the order set.
func (s *Store) AllowedNetworks(ctx context.Context, accountID string) ([]string, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT cidr FROM allowed_networks WHERE account_id = $1 ORDER BY position`, accountID)
	if err != nil {
		return nil, s.fail(err, "list allowed networks of %q", accountID)
	}
	out, err := collect(rows, func(r *sql.Rows) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
	if err != nil {
		return nil, s.fail(err, "list allowed networks of %q", accountID)
	}
	return out, nil
}

// SetAllowedNetworks replaces the account's list in one transaction, so a
// reader sees the old list or the new one, never half of each.
func (s *Store) SetAllowedNetworks(ctx context.Context, accountID string, cidrs []string) error {
	return s.inTx(ctx, func(q *Store) error {
		var one int
		// Checked first so an empty list for an unknown account is
		// ErrNotFound too, not a silent success.
		if err := q.w().QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = $1`+q.d.ForUpdate, accountID).Scan(&one); err != nil {
			return q.fail(err, "set allowed networks of %q", accountID)
		}
		if _, err := q.w().ExecContext(ctx, `DELETE FROM allowed_networks WHERE account_id = $1`, accountID); err != nil {
			return q.fail(err, "set allowed networks of %q", accountID)
		}
		for i, c := range cidrs {
			if _, err := q.w().ExecContext(ctx, `INSERT INTO allowed_networks (account_id, position, cidr) VALUES ($1, $2, $3)`,
				accountID, i, c); err != nil {
				return q.fail(err, "set allowed networks of %q", accountID)
			}
		}
		q.accountChanged(ctx, accountID)
		return nil
	})
}
