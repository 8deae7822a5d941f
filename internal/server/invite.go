package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/reset"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SendInvitation mails a set-password link to a new password account, for
// the CLI. The mail is queued in the store and delivered at once; if
// delivery fails for now, a running gateway retries it.
func SendInvitation(ctx context.Context, cfg config.Config, st store.Store, acct store.Account, environ []string) error {
	logger := slog.New(slog.DiscardHandler)
	mq, err := newMailQueue(cfg, st, environ, time.Now, logger)
	if err != nil {
		return err
	}
	tpl, err := mail.LoadTemplates()
	if err != nil {
		return err
	}
	h := reset.New(reset.Deps{
		Accounts: st, Tokens: st, Audit: st, Mail: mq, Templates: tpl,
		PublicURL: cfg.PublicURL, ResetTTL: cfg.Password.ResetTokenTTL.D(), InviteTTL: cfg.Password.InviteTokenTTL.D(),
		Now: time.Now, Logger: logger,
	})
	if err := h.SendInvitation(ctx, acct); err != nil {
		return err
	}
	_, err = mq.Flush(ctx)
	return err
}
