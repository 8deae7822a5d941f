package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.MailQueue = (*Store)(nil)

const mailCols = `id, to_addr, subject, text_body, html_body, kind, account_id, status, attempts,
	last_error, next_attempt, lease_until, created_at, sent_at`

func scanMail(row interface{ Scan(...any) error }) (store.Mail, error) {
	var m store.Mail
	var next, lease, created, sent int64
	err := row.Scan(&m.ID, &m.To, &m.Subject, &m.TextBody, &m.HTMLBody, &m.Kind, &m.AccountID, &m.Status,
		&m.Attempts, &m.LastError, &next, &lease, &created, &sent)
	m.NextAttempt, m.LeaseUntil = fromMicros(next), fromMicros(lease)
	m.CreatedAt, m.SentAt = fromMicros(created), fromMicros(sent)
	return m, err
}

// EnqueueMail queues m and returns its id. A missing Status is pending, a
// missing CreatedAt is now and a missing NextAttempt is CreatedAt.
func (s *Store) EnqueueMail(ctx context.Context, m store.Mail) (int64, error) {
	if m.Status == "" {
		m.Status = store.MailPending
	}
	m.CreatedAt, m.NextAttempt = s.newTimes(m.CreatedAt, m.NextAttempt)
	var id int64
	err := s.w().QueryRowContext(ctx, `INSERT INTO mail_outbox (to_addr, to_key, subject, text_body, html_body,
		kind, account_id, status, attempts, last_error, next_attempt, lease_until, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		m.To, emailKey(m.To), m.Subject, m.TextBody, m.HTMLBody, m.Kind, m.AccountID, m.Status, m.Attempts,
		m.LastError, micros(m.NextAttempt), micros(m.LeaseUntil), micros(m.CreatedAt), micros(m.SentAt)).Scan(&id)
	if err != nil {
		return 0, s.fail(err, "enqueue %s mail", m.Kind)
	}
	return id, nil
}

// ClaimMail leases up to limit due pending messages, oldest first. The
// lease condition is repeated outside the subquery: on PostgreSQL a
// competing claimer that waited for a row lock re-checks it against the
// row as the winner left it, and SKIP LOCKED lets it take other rows
// instead of waiting. On SQLite the single writer makes the statement atomic.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("store: claim mail: lease must be positive, got %s", lease)
	}
	limit = clampLimit(limit, 10, 1000)
	skip := ""
	if s.d.ForUpdate != "" {
		skip = s.d.ForUpdate + " SKIP LOCKED"
	}
	// MATERIALIZED: the candidate list is computed once. Inlined as a
	// subquery, PostgreSQL may re-run its LIMIT ... SKIP LOCKED per row
	// and lease more than limit messages.
	rows, err := s.w().QueryContext(ctx, `WITH due AS MATERIALIZED (
			SELECT id FROM mail_outbox
			WHERE status = 'pending' AND next_attempt <= $4 AND lease_until <= $5
			ORDER BY id LIMIT `+fmt.Sprint(limit)+skip+`)
		UPDATE mail_outbox SET lease_until = $1
		WHERE status = 'pending' AND next_attempt <= $2 AND lease_until <= $3 AND id IN (SELECT id FROM due)
		RETURNING `+mailCols,
		micros(now.Add(lease)), micros(now), micros(now), micros(now), micros(now))
	if err != nil {
		return nil, s.fail(err, "claim mail")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Mail, error) { return scanMail(r) })
	if err != nil {
		return nil, s.fail(err, "claim mail")
	}
	slices.SortFunc(out, func(a, b store.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// MarkMailSent records delivery: one more attempt, the lease released.
func (s *Store) MarkMailSent(ctx context.Context, id int64, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE mail_outbox SET status = $2, sent_at = $3, attempts = attempts + 1,
		lease_until = 0, last_error = '' WHERE id = $1`, id, store.MailSent, micros(at))
	return s.mustAffect(res, err, "mark mail %d sent", id)
}

// MarkMailRetry records a failed attempt and when to try again.
func (s *Store) MarkMailRetry(ctx context.Context, id int64, errMsg string, next time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2,
		next_attempt = $3, lease_until = 0 WHERE id = $1`, id, errMsg, micros(next))
	return s.mustAffect(res, err, "mark mail %d for retry", id)
}

// MarkMailFailed records a last, failed attempt; the message is never
// claimed again.
func (s *Store) MarkMailFailed(ctx context.Context, id int64, errMsg string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE mail_outbox SET status = $2, attempts = attempts + 1,
		last_error = $3, lease_until = 0 WHERE id = $1`, id, store.MailFailed, errMsg)
	return s.mustAffect(res, err, "mark mail %d failed", id)
}

// CountRecentMail counts messages of kind to an address (compared like
// account emails: case and surrounding spaces ignored) created at or
// after since, whatever their status.
func (s *Store) CountRecentMail(ctx context.Context, kind, to string, since time.Time) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_outbox WHERE to_key = $1 AND kind = $2 AND created_at >= $3`,
		emailKey(to), kind, micros(since)).Scan(&n)
	if err != nil {
		return 0, s.fail(err, "count recent %s mail", kind)
	}
	return n, nil
}

// GetMail returns the message with id.
func (s *Store) GetMail(ctx context.Context, id int64) (store.Mail, error) {
	m, err := scanMail(s.r().QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE id = $1`, id))
	if err != nil {
		return store.Mail{}, s.fail(err, "get mail %d", id)
	}
	return m, nil
}
