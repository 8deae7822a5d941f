package mail_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/config"
	gomail "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func smtpSender(t *testing.T, host string, port int) *gomail.SMTP {
	t.Helper()
	s, err := gomail.NewSMTP(gomail.SMTPOptions{Host: host, Port: port, From: "gatehouse@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTemplatesEveryKindAndLanguage(t *testing.T) {
	tpl, err := gomail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{gomail.KindPasswordReset, gomail.KindPasswordChanged, gomail.KindInvitation} {
		for _, lang := range []string{"en", "fr", "ja"} {
			m, err := tpl.Render(kind, lang, gomail.Data{To: "a@example.com", Name: "Ada <b>", Link: "https://gw.example/x?token=abc&y=1", ValidFor: 30 * time.Minute})
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			if m.To != "a@example.com" || m.Subject == "" || strings.Contains(m.Subject, "\n") || m.Text == "" || m.HTML == "" {
				t.Fatalf("%s/%s: incomplete message %+v", kind, lang, m)
			}
			if strings.Contains(m.HTML, "<b>") {
				t.Fatalf("%s/%s: HTML not escaped", kind, lang)
			}
			if kind != gomail.KindPasswordChanged && !strings.Contains(m.Text, "https://gw.example/x?token=abc&y=1") {
				t.Fatalf("%s/%s: link missing from text:\n%s", kind, lang, m.Text)
			}
			if !strings.Contains(m.HTML, `lang="`+lang+`"`) {
				t.Fatalf("%s/%s: html lang missing", kind, lang)
			}
		}
	}
	m, _ := tpl.Render(gomail.KindPasswordReset, "ja", gomail.Data{ValidFor: 72 * time.Hour})
	if !strings.Contains(m.Text, "72時間") {
		t.Fatalf("ja duration: %s", m.Text)
	}
	if m, _ := tpl.Render(gomail.KindPasswordReset, "de", gomail.Data{}); !strings.Contains(m.Subject, "Reset") {
		t.Fatalf("unknown language should fall back to English, got %q", m.Subject)
	}
	if _, err := tpl.Render("nope", "en", nil); err == nil {
		t.Fatal("unknown kind rendered")
	}
}

func TestSMTPDelivers(t *testing.T) {
	srv := mailtest.StartServer(t)
	s := smtpSender(t, srv.Host, srv.Port)
	err := s.Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "Hi é", Text: "plain body", HTML: "<p>html body</p>"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)
	msg, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].To[0] != "ada@example.com" || got[0].From != "gatehouse@example.com" {
		t.Fatalf("envelope %+v", got[0])
	}
	if !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("content type %q", msg.Header.Get("Content-Type"))
	}
	if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
		t.Fatal("Message-ID or Date missing")
	}
}

func TestSMTPClassifiesFailures(t *testing.T) {
	srv := mailtest.StartServer(t)
	s := smtpSender(t, srv.Host, srv.Port)
	srv.RejectWith(mailtest.ErrMailboxUnavailable)
	err := s.Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if !errors.Is(err, gomail.ErrPermanent) {
		t.Fatalf("550 should be permanent, got %v", err)
	}
	srv.RejectWith(mailtest.ErrTryLater)
	err = s.Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if err == nil || errors.Is(err, gomail.ErrPermanent) {
		t.Fatalf("451 should be transient, got %v", err)
	}
	// Nobody listening: transient.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	err = smtpSender(t, "127.0.0.1", port).Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if err == nil || errors.Is(err, gomail.ErrPermanent) {
		t.Fatalf("refused connection should be transient, got %v", err)
	}
	// A bad address can never work.
	srv.RejectWith(nil)
	err = s.Send(context.Background(), gomail.Message{To: "not an address", Subject: "x", Text: "x"})
	if !errors.Is(err, gomail.ErrPermanent) {
		t.Fatalf("bad address should be permanent, got %v", err)
	}
}

func TestSMTPStartTLSMandatory(t *testing.T) {
	// The test server offers no STARTTLS: a sender that requires it must
	// refuse to send in clear.
	srv := mailtest.StartServer(t)
	s, err := gomail.NewSMTP(gomail.SMTPOptions{Host: srv.Host, Port: srv.Port, From: "g@example.com", StartTLS: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Fatal("sent without STARTTLS")
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("server received mail in clear")
	}
	if _, err := gomail.NewSMTP(gomail.SMTPOptions{Host: "h", From: "g@example.com", StartTLS: true, ImplicitTLS: true}); err == nil {
		t.Fatal("starttls + implicit_tls accepted")
	}
}

func TestOutboxWritesEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	c := clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	o, err := gomail.NewOutbox(dir, "gatehouse@example.com", c.Now, strings.NewReader(strings.Repeat("x", 64)))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), gomail.Message{To: "ada@example.com", Subject: "Hello", Text: "body text", HTML: "<p>x</p>"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), "20250301T100000") {
		t.Fatalf("files %v", files)
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("To") != "<ada@example.com>" || msg.Header.Get("Subject") != "Hello" {
		t.Fatalf("headers %v", msg.Header)
	}
}

func TestQueueSurvivesOutageAndRestart(t *testing.T) {
	ctx := context.Background()
	st := mailtest.NewQueue()
	audit := &storetest.AuditLog{}
	c := clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))

	srv := mailtest.StartServer(t)
	addr := srv.Addr
	_ = srv.Close() // the SMTP server is down

	q := gomail.NewQueue(st, audit, smtpSender(t, "127.0.0.1", srv.Port), c.Now, nil)
	id, err := q.Enqueue(ctx, gomail.Message{To: "ada@example.com", Subject: "s", Text: "t"}, "password_reset", "acct1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Flush(ctx); n != 0 {
		t.Fatal("sent while the server is down")
	}
	m, _ := st.GetMail(ctx, id)
	if m.Status != store.MailPending || m.Attempts != 1 || !m.NextAttempt.Equal(c.Now().Add(time.Minute)) {
		t.Fatalf("after one failure: %+v", m)
	}
	// Not due yet: nothing is tried.
	c.Add(30 * time.Second)
	if n, _ := q.Flush(ctx); n != 0 {
		t.Fatal("retried before the backoff")
	}

	// Restart: a new queue over the same store, and the server is back.
	srv2 := mailtest.StartServerAt(t, addr)
	q2 := gomail.NewQueue(st, audit, smtpSender(t, "127.0.0.1", srv2.Port), c.Now, nil)
	c.Add(31 * time.Second)
	if n, err := q2.Flush(ctx); n != 1 || err != nil {
		t.Fatalf("flush after restart: %d %v", n, err)
	}
	srv2.Wait(t, 1, 5*time.Second)
	if m, _ := st.GetMail(ctx, id); m.Status != store.MailSent {
		t.Fatalf("status %s", m.Status)
	}
	if n, _ := q2.Flush(ctx); n != 0 {
		t.Fatal("sent twice")
	}
	if len(audit.Events()) != 0 {
		t.Fatalf("unexpected audit %v", audit.Events())
	}
}

func TestQueueRunDeliversOnKick(t *testing.T) {
	srv := mailtest.StartServer(t)
	q := gomail.NewQueue(mailtest.NewQueue(), nil, smtpSender(t, srv.Host, srv.Port), nil, nil)
	q.PollInterval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	if _, err := q.Enqueue(ctx, gomail.Message{To: "ada@example.com", Subject: "s", Text: "t"}, "invitation", "a"); err != nil {
		t.Fatal(err)
	}
	srv.Wait(t, 1, 10*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestQueuePermanentFailureIsAudited(t *testing.T) {
	ctx := context.Background()
	st := mailtest.NewQueue()
	audit := &storetest.AuditLog{}
	srv := mailtest.StartServer(t)
	srv.RejectWith(mailtest.ErrMailboxUnavailable)
	q := gomail.NewQueue(st, audit, smtpSender(t, srv.Host, srv.Port), nil, nil)
	id, _ := q.Enqueue(ctx, gomail.Message{To: "ada@example.com", Subject: "s", Text: "t"}, "password_reset", "acct1")
	_, _ = q.Flush(ctx)
	if m, _ := st.GetMail(ctx, id); m.Status != store.MailFailed || !strings.Contains(m.LastError, "550") {
		t.Fatalf("mail %+v", m)
	}
	if events := audit.Events(); len(events) != 1 || events[0].Category != "integration" || events[0].Action != "mail.failed" || events[0].Target != "acct1" {
		t.Fatalf("audit %+v", events)
	}
}

type failing struct{ n int }

func (f *failing) Send(context.Context, gomail.Message) error {
	f.n++
	return errors.New("connection reset")
}

func TestQueueGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	st := mailtest.NewQueue()
	audit := &storetest.AuditLog{}
	c := clocktest.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	f := &failing{}
	q := gomail.NewQueue(st, audit, f, c.Now, nil)
	q.MaxAttempts = 4
	id, _ := q.Enqueue(ctx, gomail.Message{To: "a@example.com", Subject: "s", Text: "t"}, "invitation", "acct1")
	for range 10 {
		_, _ = q.Flush(ctx)
		c.Add(time.Hour)
	}
	if f.n != 4 {
		t.Fatalf("attempts %d, want 4", f.n)
	}
	if m, _ := st.GetMail(ctx, id); m.Status != store.MailFailed {
		t.Fatalf("status %s", m.Status)
	}
	if events := audit.Events(); len(events) != 1 {
		t.Fatalf("audit %+v", events)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := gomail.Backoff(i + 1); got != w {
			t.Fatalf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}

// TestUnconfiguredRefusesForGood: with neither an SMTP host nor an outbox,
// the gateway still starts; each message fails permanently with a reason
// that names the keys to set, so none waits in the queue for ever.
func TestUnconfiguredRefusesForGood(t *testing.T) {
	s, err := gomail.NewSender(config.Mail{}, nil, time.Now, nil)
	if err != nil {
		t.Fatalf("NewSender with no mail settings: %v", err)
	}
	err = s.Send(context.Background(), gomail.Message{To: "a@example.com", Subject: "x"})
	if !errors.Is(err, gomail.ErrPermanent) || !errors.Is(err, gomail.ErrUnconfigured) {
		t.Fatalf("Send = %v, want a permanent ErrUnconfigured", err)
	}
}
