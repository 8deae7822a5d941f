package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/idp"
)

// providerBody is a provider as the API takes it: the configuration
// file's keys, plus the client secret, which is write-only (absent on an
// update: kept; "": removed) and never returned.
type providerBody struct {
	ID string `json:"id"`
	idp.Settings
	ClientSecret *string `json:"client_secret"`
	Enabled      *bool   `json:"enabled"`
}

func (b providerBody) input(id string) adminsvc.ProviderInput {
	enabled := b.Enabled == nil || *b.Enabled
	return adminsvc.ProviderInput{ID: id, Settings: b.Settings, ClientSecret: b.ClientSecret, Enabled: enabled}
}

func (h *Handler) providerViews(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ListProviderViews(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getProvider(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.GetProvider(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createProvider(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b providerBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	out, err := h.d.Service.CreateProvider(r.Context(), c, b.input(b.ID))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) updateProvider(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b providerBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	id := r.PathValue("id")
	if b.ID != "" && b.ID != id {
		return badRequest("the id cannot change; remove the provider and add it again")
	}
	if b.Enabled != nil {
		return badRequest("enabled is changed with POST providers/%s/enable or /disable", id)
	}
	out, err := h.d.Service.UpdateProvider(r.Context(), c, b.input(id))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) enableProvider(enabled bool) Endpoint {
	return func(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		out, err := h.d.Service.SetProviderEnabled(r.Context(), c, r.PathValue("id"), enabled)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) deleteProvider(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := h.d.Service.DeleteProvider(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// startProviderTest answers the URL that starts a test sign-in; it
// finishes only in a browser signed in to the panel as the caller.
func (h *Handler) startProviderTest(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	target, err := h.d.Service.StartProviderTest(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"url": target})
	return nil
}

func (h *Handler) providerTestResult(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ProviderTestResult(r.Context(), c, r.PathValue("rid"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
