package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func mailQueue(t *testing.T, s store.Store) store.MailQueue {
	t.Helper()
	q, ok := s.(store.MailQueue)
	if !ok {
		t.Fatalf("%T does not implement store.MailQueue", s)
	}
	return q
}

func testMailQueue(t *testing.T, s store.Store) {
	c := ctx(t)
	q := mailQueue(t, s)
	m := store.Mail{To: "Jane@Example.com", Subject: "Reset", TextBody: "text", HTMLBody: "<p>html</p>",
		Kind: "password_reset", AccountID: "u1", CreatedAt: t0}
	id1, err := q.EnqueueMail(c, m)
	noErr(t, "EnqueueMail", err)
	got, err := q.GetMail(c, id1)
	noErr(t, "GetMail", err)
	if got.ID != id1 || got.To != m.To || got.Subject != m.Subject || got.TextBody != m.TextBody ||
		got.HTMLBody != m.HTMLBody || got.Kind != m.Kind || got.AccountID != "u1" ||
		got.Status != store.MailPending || got.Attempts != 0 || got.LastError != "" {
		t.Fatalf("GetMail = %+v", got)
	}
	sameTime(t, "Mail.CreatedAt", got.CreatedAt, t0)
	sameTime(t, "Mail.NextAttempt", got.NextAttempt, t0)
	sameTime(t, "Mail.SentAt", got.SentAt, time.Time{})
	_, err = q.GetMail(c, id1+1000)
	wantErr(t, "GetMail(missing)", err, store.ErrNotFound)

	later := store.Mail{To: "b@example.com", Subject: "Later", Kind: "invitation", CreatedAt: t0, NextAttempt: t0.Add(time.Hour)}
	idLater, err := q.EnqueueMail(c, later)
	noErr(t, "EnqueueMail(later)", err)
	id3, err := q.EnqueueMail(c, store.Mail{To: "c@example.com", Subject: "Third", Kind: "invitation", CreatedAt: t0.Add(time.Second)})
	noErr(t, "EnqueueMail", err)

	now := t0.Add(time.Minute)
	lease := 2 * time.Minute
	claimed, err := q.ClaimMail(c, now, lease, 10)
	noErr(t, "ClaimMail", err)
	if len(claimed) != 2 || claimed[0].ID != id1 || claimed[1].ID != id3 {
		t.Fatalf("ClaimMail = %+v, want the two due messages", claimed)
	}
	sameTime(t, "LeaseUntil", claimed[0].LeaseUntil, now.Add(lease))
	// Leased messages are not handed out again until the lease ends.
	again, err := q.ClaimMail(c, now.Add(time.Minute), lease, 10)
	noErr(t, "ClaimMail(leased)", err)
	if len(again) != 0 {
		t.Fatalf("ClaimMail during the lease = %+v", again)
	}
	again, err = q.ClaimMail(c, now.Add(lease), lease, 1)
	noErr(t, "ClaimMail(lease over)", err)
	if len(again) != 1 || again[0].ID != id1 {
		t.Fatalf("ClaimMail after the lease with limit 1 = %+v, want message %d", again, id1)
	}

	noErr(t, "MarkMailSent", q.MarkMailSent(c, id1, now.Add(lease)))
	got, err = q.GetMail(c, id1)
	noErr(t, "GetMail", err)
	if got.Status != store.MailSent || got.Attempts != 1 || !got.LeaseUntil.IsZero() {
		t.Fatalf("sent mail = %+v", got)
	}
	sameTime(t, "SentAt", got.SentAt, now.Add(lease))

	retryAt := t0.Add(30 * time.Minute)
	noErr(t, "MarkMailRetry", q.MarkMailRetry(c, id3, "421 try later", retryAt))
	got, err = q.GetMail(c, id3)
	noErr(t, "GetMail", err)
	if got.Status != store.MailPending || got.Attempts != 1 || got.LastError != "421 try later" || !got.LeaseUntil.IsZero() {
		t.Fatalf("mail after retry = %+v", got)
	}
	sameTime(t, "NextAttempt", got.NextAttempt, retryAt)
	claimed, err = q.ClaimMail(c, retryAt.Add(-time.Second), lease, 10)
	noErr(t, "ClaimMail(before retry)", err)
	if len(claimed) != 0 {
		t.Fatalf("ClaimMail before the retry time = %+v", claimed)
	}
	claimed, err = q.ClaimMail(c, retryAt, lease, 10)
	noErr(t, "ClaimMail(retry due)", err)
	if len(claimed) != 1 || claimed[0].ID != id3 {
		t.Fatalf("ClaimMail at the retry time = %+v", claimed)
	}
	noErr(t, "MarkMailFailed", q.MarkMailFailed(c, id3, "550 no such user"))
	got, err = q.GetMail(c, id3)
	noErr(t, "GetMail", err)
	if got.Status != store.MailFailed || got.Attempts != 2 || got.LastError != "550 no such user" {
		t.Fatalf("failed mail = %+v", got)
	}
	// Sent and failed messages are never claimed; the later one is, once due.
	claimed, err = q.ClaimMail(c, t0.Add(24*time.Hour), lease, 10)
	noErr(t, "ClaimMail(end)", err)
	if len(claimed) != 1 || claimed[0].ID != idLater {
		t.Fatalf("final ClaimMail = %+v, want only message %d", claimed, idLater)
	}

	wantErr(t, "MarkMailSent(missing)", q.MarkMailSent(c, 999999, now), store.ErrNotFound)
	wantErr(t, "MarkMailRetry(missing)", q.MarkMailRetry(c, 999999, "x", now), store.ErrNotFound)
	wantErr(t, "MarkMailFailed(missing)", q.MarkMailFailed(c, 999999, "x"), store.ErrNotFound)

	n, err := q.CountRecentMail(c, "password_reset", " jane@EXAMPLE.com", t0)
	noErr(t, "CountRecentMail", err)
	if n != 1 {
		t.Fatalf("CountRecentMail = %d, want 1", n)
	}
	n, err = q.CountRecentMail(c, "password_reset", "jane@example.com", t0.Add(time.Microsecond))
	noErr(t, "CountRecentMail(later)", err)
	if n != 0 {
		t.Fatalf("CountRecentMail since after the message = %d", n)
	}
	n, err = q.CountRecentMail(c, "invitation", "jane@example.com", t0)
	noErr(t, "CountRecentMail(other kind)", err)
	if n != 0 {
		t.Fatalf("CountRecentMail(other kind) = %d", n)
	}
}

func testMailConcurrentClaim(t *testing.T, s store.Store) {
	c := ctx(t)
	q := mailQueue(t, s)
	const total = 30
	for i := 0; i < total; i++ {
		_, err := q.EnqueueMail(c, store.Mail{To: "x@example.com", Subject: "s", Kind: "k", CreatedAt: t0})
		noErr(t, "EnqueueMail", err)
	}
	const senders = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]int{}
	errs := make(chan error, senders)
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch, err := q.ClaimMail(c, t0.Add(time.Minute), time.Hour, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(batch) == 0 {
					return
				}
				mu.Lock()
				for _, m := range batch {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimMail: %v", err)
	}
	if len(seen) != total {
		t.Fatalf("%d messages claimed, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}
