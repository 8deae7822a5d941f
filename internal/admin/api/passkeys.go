package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/httpapi"
)

// Passkeys and workstation enrolment of an account.

func (h *Handler) listCredentials(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ListCredentials(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
	return nil
}

func (h *Handler) revokeCredential(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if _, err := h.d.Service.RevokeCredential(r.Context(), c, r.PathValue("id"), r.PathValue("credId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) createEnrolment(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in struct {
		Name            string   `json:"name"`
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	e, err := h.d.Service.CreateEnrolment(r.Context(), c, r.PathValue("id"), in.Name, in.AllowedNetworks)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{
		"url":        e.URL,
		"expires_at": e.ExpiresAt.Format(time.RFC3339),
	})
	return nil
}

func (h *Handler) getNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	nets, err := h.d.Service.AllowedNetworks(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": passkey.NetworkStrings(nets)})
	return nil
}

func (h *Handler) putNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in struct {
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	nets, err := h.d.Service.SetAllowedNetworks(r.Context(), c, r.PathValue("id"), in.AllowedNetworks)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": passkey.NetworkStrings(nets)})
	return nil
}
