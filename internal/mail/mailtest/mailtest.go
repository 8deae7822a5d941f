// Package mailtest gives tests an in-memory mail queue store and a real
// SMTP server (emersion/go-smtp) on loopback that keeps what it receives.
package mailtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Queue is a store.MailQueue in memory, with the semantics the SQL stores
// must have: MarkMailRetry and MarkMailFailed each count one attempt and
// clear the lease.
type Queue struct {
	mu     sync.Mutex
	nextID int64
	mail   map[int64]*store.Mail
}

var _ store.MailQueue = (*Queue)(nil)

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{mail: map[int64]*store.Mail{}} }

// EnqueueMail stores m as pending.
func (q *Queue) EnqueueMail(_ context.Context, m store.Mail) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	m.ID = q.nextID
	m.Status = store.MailPending
	q.mail[m.ID] = &m
	return m.ID, nil
}

// ClaimMail leases due pending messages, oldest first.
func (q *Queue) ClaimMail(_ context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.Mail
	for id := int64(1); id <= q.nextID && len(out) < limit; id++ {
		m, ok := q.mail[id]
		if !ok || m.Status != store.MailPending || m.NextAttempt.After(now) || m.LeaseUntil.After(now) {
			continue
		}
		m.LeaseUntil = now.Add(lease)
		out = append(out, *m)
	}
	return out, nil
}

func (q *Queue) update(id int64, fn func(*store.Mail)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.mail[id]
	if !ok {
		return store.ErrNotFound
	}
	fn(m)
	return nil
}

// MarkMailSent records delivery.
func (q *Queue) MarkMailSent(_ context.Context, id int64, at time.Time) error {
	return q.update(id, func(m *store.Mail) {
		m.Status, m.SentAt, m.LeaseUntil = store.MailSent, at, time.Time{}
		m.Attempts++
	})
}

// MarkMailRetry records a failed attempt and the next try.
func (q *Queue) MarkMailRetry(_ context.Context, id int64, errMsg string, next time.Time) error {
	return q.update(id, func(m *store.Mail) {
		m.Attempts++
		m.LastError, m.NextAttempt, m.LeaseUntil = errMsg, next, time.Time{}
	})
}

// MarkMailFailed gives up on a message.
func (q *Queue) MarkMailFailed(_ context.Context, id int64, errMsg string) error {
	return q.update(id, func(m *store.Mail) {
		m.Attempts++
		m.Status, m.LastError, m.LeaseUntil = store.MailFailed, errMsg, time.Time{}
	})
}

// CountRecentMail counts messages of kind to an address (case-insensitive)
// created since t.
func (q *Queue) CountRecentMail(_ context.Context, kind, to string, since time.Time) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.mail {
		if m.Kind == kind && strings.EqualFold(m.To, to) && !m.CreatedAt.Before(since) {
			n++
		}
	}
	return n, nil
}

// GetMail returns one message.
func (q *Queue) GetMail(_ context.Context, id int64) (store.Mail, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.mail[id]
	if !ok {
		return store.Mail{}, store.ErrNotFound
	}
	return *m, nil
}

// All returns every message, in id order.
func (q *Queue) All() []store.Mail {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.Mail
	for id := int64(1); id <= q.nextID; id++ {
		if m, ok := q.mail[id]; ok {
			out = append(out, *m)
		}
	}
	return out
}

// Received is one message the test SMTP server accepted.
type Received struct {
	From string
	To   []string
	Data []byte // the raw RFC 5322 message
}

// Server is a real SMTP server on loopback that records every message.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Host string
	Port int

	srv  *smtp.Server
	l    net.Listener
	mu   sync.Mutex
	got  []Received
	wake chan struct{}
	// Reject, when set, answers every DATA with this error (e.g. a 5xx).
	reject error
}

// StartServer starts a server on a free port; it stops at cleanup.
func StartServer(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	return startOn(t, l)
}

// StartServerAt starts a server on addr (to bring one back after an outage).
func StartServerAt(t testing.TB, addr string) *Server {
	t.Helper()
	var l net.Listener
	var err error
	// The port was just freed by the test's own server; retry briefly in
	// case the kernel has not released it yet.
	for range 50 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("mailtest: listen %s: %v", addr, err)
	}
	return startOn(t, l)
}

func startOn(t testing.TB, l net.Listener) *Server {
	s := &Server{Addr: l.Addr().String(), Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, wake: make(chan struct{}, 1)}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	s.srv = srv
	s.l = l
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Close stops the server (an outage, when the test wants one).
func (s *Server) Close() error {
	// The listener is closed here too: Serve may not have registered it
	// with the server yet.
	_ = s.l.Close()
	return s.srv.Close()
}

// RejectWith makes the server refuse every message with err.
func (s *Server) RejectWith(err error) {
	s.mu.Lock()
	s.reject = err
	s.mu.Unlock()
}

// Messages returns what was received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Wait returns the first n messages, failing the test when they have not
// arrived within timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.wake:
		case <-deadline.C:
			t.Fatalf("mailtest: %d message(s) expected, %d arrived within %s", n, len(s.Messages()), timeout)
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	reject := ss.s.reject
	if reject == nil {
		ss.s.got = append(ss.s.got, Received{From: ss.from, To: ss.to, Data: buf.Bytes()})
	}
	ss.s.mu.Unlock()
	if reject != nil {
		return reject
	}
	select {
	case ss.s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// ErrMailboxUnavailable is a permanent (550) refusal for RejectWith.
var ErrMailboxUnavailable error = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}

// ErrTryLater is a transient (451) refusal for RejectWith.
var ErrTryLater error = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
