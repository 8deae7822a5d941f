package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.Maintenance = (*Store)(nil)

// Purge deletes one-time tokens past their expiry, throttling counters
// whose window is over, used logout tokens that can no longer be
// replayed, and sent or failed mail created before now-keepMail, in one
// transaction, and returns how many rows went.
func (s *Store) Purge(ctx context.Context, now time.Time, keepMail time.Duration) (int, error) {
	total := 0
	err := s.inTx(ctx, func(t *Store) error {
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM tokens WHERE expires_at <= $1`, micros(now)},
			{`DELETE FROM throttle WHERE window_end <= $1`, micros(now)},
			{`DELETE FROM logout_tokens WHERE expires_at <= $1`, micros(now)},
			{`DELETE FROM mail_outbox WHERE status <> '` + store.MailPending + `' AND created_at < $1`, micros(now.Add(-keepMail))},
		} {
			res, err := t.w().ExecContext(ctx, q.sql, q.arg)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(err, "purge")
	}
	return total, nil
}
