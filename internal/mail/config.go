package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// NewSender builds the sender the config asks for: the outbox when
// outbox_dir is set, else SMTP when a host is set, else Unconfigured. lookup resolves env: secrets (nil: the
// process environment).
func NewSender(cfg config.Mail, lookup func(string) (string, bool), now func() time.Time, rnd io.Reader) (Sender, error) {
	if cfg.OutboxDir != "" {
		return NewOutbox(cfg.OutboxDir, cfg.From, now, rnd)
	}
	if cfg.SMTP.Host == "" {
		return Unconfigured{}, nil
	}
	pw, err := cfg.SMTP.Password.Resolve(lookup)
	if err != nil {
		return nil, fmt.Errorf("mail.smtp.password: %w", err)
	}
	return NewSMTP(SMTPOptions{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: pw,
		StartTLS: cfg.SMTP.StartTLS, ImplicitTLS: cfg.SMTP.ImplicitTLS, From: cfg.From,
	})
}

// Unconfigured is the sender of a gateway with no mail settings (the
// embedded defaults): it runs, and every message fails for good with a
// reason that names the keys to set, so nothing waits in the queue for a
// server that will never be configured by retrying.
type Unconfigured struct{}

// ErrUnconfigured is what Unconfigured answers every message.
var ErrUnconfigured = errors.New("mail is not configured: set mail.smtp.host or mail.outbox_dir")

// Send refuses m.
func (Unconfigured) Send(context.Context, Message) error { return permanent(ErrUnconfigured) }
