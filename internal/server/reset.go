package server

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// newReset builds password reset and invitations and the mail queue that
// delivers them; guard limits how often one client may ask.
func (s *Server) newReset(d *deps, guard *throttle.Guard) (*reset.Handler, error) {
	mq, err := newMailQueue(d.cfg, d.store, s.environ, d.now, d.logger)
	if err != nil {
		return nil, err
	}
	tpl, err := mail.LoadTemplates()
	if err != nil {
		return nil, err
	}
	s.mail = mq
	s.reset = reset.New(reset.Deps{
		Renderer: d.renderer, CSRF: d.csrf, Accounts: d.store, Tokens: d.store, Audit: d.store,
		Passwords: s.Accounts, Sessions: s.Sessions, Mail: mq, Templates: tpl, Limiter: guard,
		PublicURL: d.publicURL.String(), ResetTTL: d.cfg.Password.ResetTokenTTL.D(),
		InviteTTL: d.cfg.Password.InviteTokenTTL.D(), MaxFormBytes: d.cfg.Limits.MaxFormBytes,
		ClientIP: d.clientIP, Now: d.now, Logger: d.logger,
	})
	return s.reset, nil
}

// newMailQueue builds the queue that delivers mail through the configured
// sender: SMTP, or the outbox directory.
func newMailQueue(cfg config.Config, st store.Store, environ []string, now func() time.Time, logger *slog.Logger) (*mail.Queue, error) {
	sender, err := mail.NewSender(cfg.Mail, config.EnvLookup(environ), now, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	if _, off := sender.(mail.Unconfigured); off {
		logger.Warn("mail is not configured: password reset and invitation mails cannot be delivered; set mail.smtp.host or mail.outbox_dir")
	}
	return mail.NewQueue(st, st, sender, now, logger), nil
}
