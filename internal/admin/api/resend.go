package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
)

// resendInvitation mails an invited account a new set-password link:
// 202, since the mail leaves through the queue.
func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.d.Service.ResendInvitation(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]bool{"mailed": true})
	return nil
}
