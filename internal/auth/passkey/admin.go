package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// mountAdmin registers the admin endpoints behind the shared admin
// authorization (api.Guard): a session with the CSRF header, or an API
// token, holding admin_panel and manage_users; each endpoint then checks
// that the caller manages a company the target account belongs to.
func (h *Handler) mountAdmin(mux *http.ServeMux) {
	const (
		panel = account.CapAdminPanel
		users = account.CapManageUsers
	)
	g := h.Admin
	g.Handle(mux, "GET accounts/{id}/credentials", "passkey.list", h.apiListCredentials, panel, users)
	g.Handle(mux, "DELETE accounts/{id}/credentials/{credId}", "passkey.revoke", h.apiDeleteCredential, panel, users)
	g.Handle(mux, "POST accounts/{id}/enrolments", "enrolment.create", h.apiCreateEnrolment, panel, users)
	g.Handle(mux, "GET accounts/{id}/allowed-networks", "account.allowed_networks.get", h.apiGetNetworks, panel, users)
	g.Handle(mux, "PUT accounts/{id}/allowed-networks", "account.allowed_networks", h.apiPutNetworks, panel, users)
}

// credentialView is a passkey as the API shows it; never the key itself.
type credentialView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Workstation    bool       `json:"workstation"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

func viewOf(c store.Credential) credentialView {
	v := credentialView{ID: encodeID(c.ID), Name: c.Name, Workstation: c.Workstation, BackupEligible: c.BackupEligible,
		BackupState: c.BackupState, Transports: c.Transports, CreatedAt: c.CreatedAt.UTC()}
	if v.Transports == nil {
		v.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	return v
}

// pathAccount reads the {id} account when the caller manages it.
func (h *Handler) pathAccount(r *http.Request, c authz.Caller) (store.Account, error) {
	return h.Admin.Service.ManagedAccount(r.Context(), c, r.PathValue("id"))
}

func (h *Handler) apiListCredentials(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	acct, err := h.pathAccount(r, c)
	if err != nil {
		return err
	}
	creds, err := h.Credentials.ListCredentials(r.Context(), acct.ID)
	if err != nil {
		return err
	}
	out := make([]credentialView, 0, len(creds))
	for _, cr := range creds {
		out = append(out, viewOf(cr))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
	return nil
}

var errNoCredential = &api.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such credential"}

func (h *Handler) apiDeleteCredential(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	acct, err := h.pathAccount(r, c)
	if err != nil {
		return err
	}
	id, ok := decodeID(r.PathValue("credId"))
	if !ok {
		return errNoCredential
	}
	ended, err := h.revoke(r.Context(), acct.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errNoCredential
	}
	if err != nil {
		return err
	}
	h.audit(r.Context(), adminEvent(r, c, "passkey.revoke", acct.ID,
		map[string]any{"credential": encodeID(id), "sessions_ended": len(ended)}))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminEvent is the audit record of an admin change, in the shape the
// admin API records its own.
func adminEvent(r *http.Request, c authz.Caller, action, target string, details map[string]any) store.AuditEvent {
	details["via"] = c.Via
	if c.TokenID != "" {
		details["token"] = c.TokenID
	}
	return store.AuditEvent{Actor: c.Account.ID, Action: action, Target: target, IP: account.AuditIP(r.Context()),
		Outcome: "ok", Category: "admin", Details: details}
}

// revoke deletes a passkey and ends the sessions signed in with it, and
// only those: the account's other sessions stay.
func (h *Handler) revoke(ctx context.Context, accountID string, id []byte) ([]string, error) {
	if err := h.Credentials.DeleteCredential(ctx, accountID, id); err != nil {
		return nil, err
	}
	ended, err := h.Sessions.EndCredential(ctx, accountID, id)
	if len(ended) > 0 && h.OnSessionsEnded != nil {
		h.OnSessionsEnded(ended)
	}
	return ended, err
}

func (h *Handler) apiCreateEnrolment(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	ctx := r.Context()
	var in struct {
		Name            string   `json:"name"`
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if !readJSON(w, r, &in) {
		return &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "the body is not valid JSON"}
	}
	if len(in.Name) > maxNameLen {
		return fieldError("name", "at most "+strconv.Itoa(maxNameLen)+" bytes")
	}
	nets, bad, err := ParseNetworks(in.AllowedNetworks)
	if err != nil {
		return fieldError("allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
	}
	acct, err := h.pathAccount(r, c)
	if err != nil {
		return err
	}
	if acct.Kind != store.KindSharedComputer {
		return &api.Error{Status: http.StatusConflict, Code: "not_shared_computer", Message: "enrolments are for shared-computer accounts only"}
	}
	if acct.Status == store.StatusBlocked || acct.Status == store.StatusDeactivated {
		return &api.Error{Status: http.StatusConflict, Code: "account_status", Message: "the account is " + acct.Status}
	}
	token, err := h.randomID()
	if err != nil {
		return err
	}
	data, _ := json.Marshal(enrolment{Name: cleanName(in.Name, "")})
	now := h.Now()
	expires := now.Add(h.opts.EnrolmentTTL)
	// replace=false: an account may have several workstations, each with
	// its own link.
	if err := h.Store.CreateToken(ctx, store.Token{Hash: hashID(token), Kind: store.TokenEnrolment, AccountID: acct.ID,
		Data: data, CreatedAt: now, ExpiresAt: expires}, false); err != nil {
		return err
	}
	if in.AllowedNetworks != nil {
		if err := h.Networks.SetAllowedNetworks(ctx, acct.ID, nets); err != nil {
			return err
		}
	}
	h.audit(ctx, adminEvent(r, c, "enrolment.create", acct.ID, map[string]any{
		"name": in.Name, "expires_at": expires.UTC().Format(time.RFC3339), "allowed_networks": in.AllowedNetworks}))
	web.WriteJSON(w, http.StatusCreated, map[string]string{
		"url":        h.publicBase + "/.gatehouse/enrol?token=" + token,
		"expires_at": expires.UTC().Format(time.RFC3339),
	})
	return nil
}

func fieldError(field, msg string) error {
	return &account.ValidationError{Problems: []account.FieldProblem{{Field: field, Code: "invalid", Message: msg}}}
}

func netStrings(nets []netip.Prefix) []string {
	out := make([]string, 0, len(nets))
	for _, p := range nets {
		out = append(out, p.String())
	}
	return out
}

func (h *Handler) apiGetNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	acct, err := h.pathAccount(r, c)
	if err != nil {
		return err
	}
	nets, err := h.Networks.AllowedNetworks(r.Context(), acct.ID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
	return nil
}

func (h *Handler) apiPutNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in struct {
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if !readJSON(w, r, &in) {
		return &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "the body is not valid JSON"}
	}
	nets, bad, err := ParseNetworks(in.AllowedNetworks)
	if err != nil {
		return fieldError("allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
	}
	acct, err := h.pathAccount(r, c)
	if err != nil {
		return err
	}
	if acct.Kind != store.KindSharedComputer {
		return &api.Error{Status: http.StatusConflict, Code: "not_shared_computer", Message: "allowed networks are for shared-computer accounts only"}
	}
	if err := h.Networks.SetAllowedNetworks(r.Context(), acct.ID, nets); err != nil {
		return err
	}
	h.audit(r.Context(), adminEvent(r, c, "account.allowed_networks", acct.ID, map[string]any{"allowed_networks": netStrings(nets)}))
	web.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
	return nil
}
