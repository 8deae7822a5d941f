package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
)

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ListAccountSessions(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.d.Service.EndAccountSession(r.Context(), c, r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
