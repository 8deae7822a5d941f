package demo

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mail"
)

// syncBuffer is a bytes.Buffer safe for the watcher and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestOutboxLinksPrinted: a link long enough to be folded by
// quoted-printable in the .eml comes out whole in the demo's log.
func TestOutboxLinksPrinted(t *testing.T) {
	dir := t.TempDir()
	box, err := mail.NewOutbox(dir, "gatehouse@localhost", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watchOutbox(ctx, dir, &out, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)

	link := "http://localhost:8080/.gatehouse/password/reset?token=" + strings.Repeat("Ab3_-", 12)
	if err := box.Send(ctx, mail.Message{To: "ann@example.com", Subject: "Réinitialisez votre mot de passe",
		Text: "Hello,\n\nTo choose a password, open " + link + " within 30 minutes.\n",
		HTML: `<p>Open <a href="` + link + `">this link</a>.</p>`}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), link) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, "\n  "+link+"\n") || !strings.Contains(got, "ann@example.com") || !strings.Contains(got, "Réinitialisez") ||
		strings.Count(got, link) != 1 {
		t.Fatalf("the demo's log: %q, want the link %s once", got, link)
	}
}
