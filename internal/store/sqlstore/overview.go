package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// inCompanies is the condition "the account aliased a has a membership in
// one of companies"; it is false for an empty list.
func inCompanies(companies []string, a *args) string {
	if len(companies) == 0 {
		return "1 = 0"
	}
	ps := make([]string, len(companies))
	for i, c := range companies {
		ps[i] = a.add(c)
	}
	return `EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = a.id AND m.company_id IN (` + strings.Join(ps, ", ") + `))`
}

// CountAccountsByStatus counts the accounts of companies per status.
func (s *Store) CountAccountsByStatus(ctx context.Context, companies []string) (map[string]int, error) {
	var a args
	rows, err := s.r().QueryContext(ctx, `SELECT a.status, COUNT(*) FROM accounts a WHERE `+inCompanies(companies, &a)+` GROUP BY a.status`, a...)
	if err != nil {
		return nil, s.fail(err, "count accounts by status")
	}
	type count struct {
		status string
		n      int
	}
	counts, err := collect(rows, func(r *sql.Rows) (count, error) {
		var c count
		return c, r.Scan(&c.status, &c.n)
	})
	if err != nil {
		return nil, s.fail(err, "count accounts by status")
	}
	out := map[string]int{}
	for _, c := range counts {
		out[c.status] = c.n
	}
	return out, nil
}

// CountLiveSessions counts the unexpired sessions of the accounts of companies.
func (s *Store) CountLiveSessions(ctx context.Context, companies []string, now time.Time) (int, error) {
	var a args
	q := `SELECT COUNT(*) FROM sessions x JOIN accounts a ON a.id = x.account_id WHERE x.expires_at > ` +
		a.add(micros(now)) + ` AND ` + inCompanies(companies, &a)
	var n int
	if err := s.r().QueryRowContext(ctx, q, a...).Scan(&n); err != nil {
		return 0, s.fail(err, "count live sessions")
	}
	return n, nil
}

// ListPendingInvitations lists invited accounts whose newest unused
// invitation link expires before before, or who have none.
func (s *Store) ListPendingInvitations(ctx context.Context, companies []string, before time.Time, limit int) ([]store.PendingInvitation, error) {
	var a args
	inner := `SELECT a.id, a.email, COALESCE((SELECT MAX(t.expires_at) FROM tokens t WHERE t.account_id = a.id AND t.kind = ` +
		a.add(store.TokenInvitation) + ` AND t.used_at = 0), 0) AS expires FROM accounts a WHERE a.status = ` +
		a.add(store.StatusInvited) + ` AND ` + inCompanies(companies, &a)
	q := `SELECT id, email, expires FROM (` + inner + `) p WHERE expires < ` + a.add(micros(before)) +
		fmt.Sprintf(` ORDER BY expires, id LIMIT %d`, clampLimit(limit, 20, 1000))
	rows, err := s.r().QueryContext(ctx, q, a...)
	if err != nil {
		return nil, s.fail(err, "list pending invitations")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.PendingInvitation, error) {
		var p store.PendingInvitation
		var exp int64
		err := r.Scan(&p.AccountID, &p.Email, &exp)
		p.ExpiresAt = fromMicros(exp)
		return p, err
	})
	if err != nil {
		return nil, s.fail(err, "list pending invitations")
	}
	return out, nil
}
