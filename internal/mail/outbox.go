package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Outbox writes each message as an RFC 5322 .eml file in a directory
// instead of sending it: the demo and local development read mail there.
type Outbox struct {
	dir  string
	from string
	now  func() time.Time
	rand io.Reader
}

var _ Sender = (*Outbox)(nil)

// NewOutbox creates dir when missing. A nil now or rnd means the real clock
// and crypto/rand.
func NewOutbox(dir, from string, now func() time.Time, rnd io.Reader) (*Outbox, error) {
	if dir == "" {
		return nil, fmt.Errorf("mail: outbox directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Outbox{dir: dir, from: from, now: now, rand: rnd}, nil
}

// Send writes m to <dir>/<UTC time>-<random id>.eml. It writes a temporary
// file first and renames it, so a reader never sees half a message.
func (o *Outbox) Send(_ context.Context, m Message) error {
	now := o.now()
	msg, err := build(o.from, m, now)
	if err != nil {
		return permanent(err)
	}
	id := make([]byte, 6)
	if _, err := io.ReadFull(o.rand, id); err != nil {
		return fmt.Errorf("mail: outbox id: %w", err)
	}
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(id) + ".eml"
	tmp, err := os.CreateTemp(o.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(o.dir, name)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}
