package mail

import (
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// NewSender builds the sender the config asks for: the outbox when
// outbox_dir is set, else SMTP. lookup resolves env: secrets (nil: the
// process environment).
func NewSender(cfg config.Mail, lookup func(string) (string, bool), now func() time.Time, rnd io.Reader) (Sender, error) {
	if cfg.OutboxDir != "" {
		return NewOutbox(cfg.OutboxDir, cfg.From, now, rnd)
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
