package panel

import (
	"errors"

	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// resendInvitation mails an invited account a new set-password link and
// comes back to its page saying so, or why not.
func (h *Handler) resendInvitation(x *call) error {
	id := x.r.PathValue("id")
	err := h.d.Service.ResendInvitation(x.ctx(), x.c, id)
	var rl *apperr.RateLimitError
	var ve *validation.Error
	switch {
	case err == nil:
		redirect(x, Prefix+"users/"+id, "invitation_resent")
	case errors.As(err, &rl):
		redirectError(x, Prefix+"users/"+id, "invitation_rate_limited")
	case errors.As(err, &ve):
		redirectError(x, Prefix+"users/"+id, "not_invited")
	case errors.Is(err, apperr.ErrUnavailable):
		redirectError(x, Prefix+"users/"+id, "invitation_mail_off")
	default:
		return err
	}
	return nil
}
