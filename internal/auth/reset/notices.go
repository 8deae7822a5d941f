package reset

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// NotifyEmailChanged mails the old address of an account whose email an
// administrator changed: whoever held it hears of a change they may not
// have wanted, while they can still tell someone.
func (h *Handler) NotifyEmailChanged(ctx context.Context, acct store.Account, oldEmail string) error {
	return h.notice(ctx, acct, mail.KindEmailChanged, mail.Data{To: oldEmail, Name: greeting(acct), NewEmail: acct.Email})
}

// NotifyAdded tells an existing account that it was given a role in
// company.
func (h *Handler) NotifyAdded(ctx context.Context, acct store.Account, company string) error {
	return h.notice(ctx, acct, mail.KindCompanyAdded, mail.Data{To: acct.Email, Name: greeting(acct), Company: company})
}

func (h *Handler) notice(ctx context.Context, acct store.Account, kind string, data mail.Data) error {
	msg, err := h.d.Templates.Render(kind, acct.Language, data)
	if err != nil {
		return err
	}
	if _, err := h.d.Mail.Enqueue(ctx, msg, kind, acct.ID); err != nil {
		return fmt.Errorf("reset: queueing %s mail: %w", kind, err)
	}
	return nil
}
