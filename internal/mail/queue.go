package mail

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Queue defaults.
const (
	DefaultMaxAttempts  = 10
	DefaultPollInterval = 30 * time.Second
	DefaultLease        = 2 * time.Minute
	firstBackoff        = time.Minute
	maxBackoff          = time.Hour
	claimBatch          = 20
	maxErrorLen         = 500
)

// Queue keeps outgoing mail in the store and delivers it off the request
// path: a restart loses nothing, and transient SMTP failures are retried
// with exponential backoff (1m, 2m, 4m … at most 1h) by any replica.
type Queue struct {
	st     store.MailQueue
	audit  store.Audit
	sender Sender
	now    func() time.Time
	log    *slog.Logger
	kick   chan struct{}

	// MaxAttempts bounds deliveries tried before a message is failed for good.
	MaxAttempts int
	// PollInterval is how often Run looks for due messages unless kicked.
	PollInterval time.Duration
	// Lease is how long a claimed message is reserved for this sender.
	Lease time.Duration
}

// NewQueue returns a queue over st that delivers with sender and records
// permanent failures in audit. A nil now or logger means the real clock and
// a discarding logger.
func NewQueue(st store.MailQueue, audit store.Audit, sender Sender, now func() time.Time, logger *slog.Logger) *Queue {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		st: st, audit: audit, sender: sender, now: now, log: logger,
		kick:         make(chan struct{}, 1),
		MaxAttempts:  DefaultMaxAttempts,
		PollInterval: DefaultPollInterval,
		Lease:        DefaultLease,
	}
}

// Enqueue stores m for delivery and wakes the sender. kind and accountID
// go to the audit log when delivery fails.
func (q *Queue) Enqueue(ctx context.Context, m Message, kind, accountID string) (int64, error) {
	now := q.now().UTC()
	id, err := q.st.EnqueueMail(ctx, store.Mail{
		To: m.To, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML,
		Kind: kind, AccountID: accountID, Status: store.MailPending,
		NextAttempt: now, CreatedAt: now,
	})
	if err != nil {
		return 0, err
	}
	q.Kick()
	return id, nil
}

// CountRecent counts mail of kind sent to an address since t.
func (q *Queue) CountRecent(ctx context.Context, kind, to string, since time.Time) (int, error) {
	return q.st.CountRecentMail(ctx, kind, to, since)
}

// Kick asks Run to look for due mail now rather than at the next poll.
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run delivers due mail until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	interval := q.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := q.Flush(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("mail queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.kick:
		case <-t.C:
		}
	}
}

// Flush claims every message due now and tries to deliver it once, and
// returns how many were sent. Run calls it; tests call it directly.
func (q *Queue) Flush(ctx context.Context) (int, error) {
	sent := 0
	for {
		now := q.now().UTC()
		batch, err := q.st.ClaimMail(ctx, now, q.lease(), claimBatch)
		if err != nil {
			return sent, err
		}
		for _, m := range batch {
			if q.deliver(ctx, m) {
				sent++
			}
		}
		if len(batch) < claimBatch || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

func (q *Queue) lease() time.Duration {
	if q.Lease <= 0 {
		return DefaultLease
	}
	return q.Lease
}

func (q *Queue) deliver(ctx context.Context, m store.Mail) bool {
	err := q.sender.Send(ctx, Message{To: m.To, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody})
	if err == nil {
		if err := q.st.MarkMailSent(ctx, m.ID, q.now().UTC()); err != nil {
			q.log.Error("mail: recording delivery", "err", err, "mail", m.ID)
		}
		q.log.Info("mail sent", "mail", m.ID, "kind", m.Kind)
		return true
	}
	if ctx.Err() != nil {
		// Shutting down: the lease lapses and the message is tried again.
		return false
	}
	msg := err.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	attempts := m.Attempts + 1
	limit := q.MaxAttempts
	if limit <= 0 {
		limit = DefaultMaxAttempts
	}
	if errors.Is(err, ErrPermanent) || attempts >= limit {
		q.fail(ctx, m, attempts, msg)
		return false
	}
	next := q.now().UTC().Add(Backoff(attempts))
	q.log.Warn("mail: delivery failed, will retry", "mail", m.ID, "kind", m.Kind, "attempt", attempts, "next", next, "err", msg)
	if err := q.st.MarkMailRetry(ctx, m.ID, msg, next); err != nil {
		q.log.Error("mail: recording retry", "err", err, "mail", m.ID)
	}
	return false
}

func (q *Queue) fail(ctx context.Context, m store.Mail, attempts int, msg string) {
	q.log.Error("mail: delivery failed for good", "mail", m.ID, "kind", m.Kind, "attempts", attempts, "err", msg)
	if err := q.st.MarkMailFailed(ctx, m.ID, msg); err != nil {
		q.log.Error("mail: recording failure", "err", err, "mail", m.ID)
	}
	if q.audit == nil {
		return
	}
	if err := q.audit.AppendAudit(ctx, store.AuditEvent{
		Time: q.now().UTC(), Actor: "system", Action: "mail.failed", Target: m.AccountID,
		Outcome: "error", Category: "integration",
		Details: map[string]any{"mail": m.ID, "kind": m.Kind, "to": m.To, "attempts": attempts, "error": msg},
	}); err != nil {
		q.log.Error("audit", "err", err, "action", "mail.failed")
	}
}

// Backoff is the wait before attempt n+1 after n failed attempts: one
// minute doubled each time, at most an hour.
func Backoff(failures int) time.Duration {
	d := firstBackoff
	for i := 1; i < failures; i++ {
		d *= 2
		if d >= maxBackoff {
			return maxBackoff
		}
	}
	return d
}
