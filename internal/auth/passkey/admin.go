package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Refusals of the admin operations. They are *httpapi.Error values, so the
// JSON API writes them as they are and other callers (the HTML panel)
// recognise them with errors.Is.
var (
	ErrNoCredential      error = &httpapi.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such credential"}
	ErrNotSharedComputer error = &httpapi.Error{Status: http.StatusConflict, Code: "not_shared_computer", Message: "workstation enrolments and allowed networks are for shared-computer accounts only"}
	ErrAccountStatus     error = &httpapi.Error{Status: http.StatusConflict, Code: "account_status", Message: "the account is blocked or deactivated"}
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

// CredentialView is a passkey as admins see it; never the key itself.
type CredentialView struct {
	ID             string     `json:"id"` // base64url, as the revoke call takes it
	Name           string     `json:"name"`
	Workstation    bool       `json:"workstation"`
	BackupEligible bool       `json:"backup_eligible"` // synced rather than device-bound
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

func viewOf(c store.Credential) CredentialView {
	v := CredentialView{ID: encodeID(c.ID), Name: c.Name, Workstation: c.Workstation, BackupEligible: c.BackupEligible,
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

// Enrolment is a new one-time workstation enrolment link.
type Enrolment struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ListCredentials lists the passkeys of an account the caller manages.
func (h *Handler) ListCredentials(ctx context.Context, c authz.Caller, accountID string) ([]CredentialView, error) {
	acct, err := h.Admin.Service.ManagedAccount(ctx, c, accountID)
	if err != nil {
		return nil, err
	}
	creds, err := h.Credentials.ListCredentials(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	out := make([]CredentialView, 0, len(creds))
	for _, cr := range creds {
		out = append(out, viewOf(cr))
	}
	return out, nil
}

// RevokeCredential deletes a passkey (credID as CredentialView.ID shows
// it) of an account the caller manages, ends the sessions signed in with
// it, and records it. It returns how many sessions ended.
func (h *Handler) RevokeCredential(ctx context.Context, c authz.Caller, accountID, credID string) (int, error) {
	acct, err := h.Admin.Service.ManagedAccount(ctx, c, accountID)
	if err != nil {
		return 0, err
	}
	id, ok := decodeID(credID)
	if !ok {
		return 0, ErrNoCredential
	}
	ended, err := h.revoke(ctx, acct.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNoCredential
	}
	if err != nil {
		return 0, err
	}
	h.audit(ctx, adminEvent(ctx, c, "passkey.revoke", acct.ID,
		map[string]any{"credential": encodeID(id), "sessions_ended": len(ended)}))
	return len(ended), nil
}

// CreateEnrolment makes a single-use workstation enrolment link for a
// shared-computer account the caller manages. name (optional) names the
// workstation; nets, when not nil, replaces the account's allowed
// networks in the same call.
func (h *Handler) CreateEnrolment(ctx context.Context, c authz.Caller, accountID, name string, nets []netip.Prefix) (Enrolment, error) {
	if h.off {
		// A link no workstation could use would only be spent in vain.
		return Enrolment{}, ErrOff
	}
	if len(name) > maxNameLen {
		return Enrolment{}, fieldError("name", "at most "+strconv.Itoa(maxNameLen)+" bytes")
	}
	acct, err := h.Admin.Service.ManagedAccount(ctx, c, accountID)
	if err != nil {
		return Enrolment{}, err
	}
	if acct.Kind != store.KindSharedComputer {
		return Enrolment{}, ErrNotSharedComputer
	}
	if acct.Status == store.StatusBlocked || acct.Status == store.StatusDeactivated {
		return Enrolment{}, ErrAccountStatus
	}
	token, err := h.randomID()
	if err != nil {
		return Enrolment{}, err
	}
	data, _ := json.Marshal(enrolment{Name: cleanName(name, "")})
	now := h.Now()
	expires := now.Add(h.opts.EnrolmentTTL).UTC().Truncate(time.Second)
	// replace=false: an account may have several workstations, each with
	// its own link.
	if err := h.Store.CreateToken(ctx, store.Token{Hash: hashID(token), Kind: store.TokenEnrolment, AccountID: acct.ID,
		Data: data, CreatedAt: now, ExpiresAt: expires}, false); err != nil {
		return Enrolment{}, err
	}
	details := map[string]any{"name": name, "expires_at": expires.Format(time.RFC3339)}
	if nets != nil {
		if err := h.Networks.SetAllowedNetworks(ctx, acct.ID, nets); err != nil {
			return Enrolment{}, err
		}
		details["allowed_networks"] = netStrings(nets)
	}
	h.audit(ctx, adminEvent(ctx, c, "enrolment.create", acct.ID, details))
	return Enrolment{URL: h.publicBase + "/.gatehouse/enrol?token=" + token, ExpiresAt: expires}, nil
}

// AllowedNetworks reads the networks a shared-computer account the caller
// manages may sign in from; none means anywhere.
func (h *Handler) AllowedNetworks(ctx context.Context, c authz.Caller, accountID string) ([]netip.Prefix, error) {
	acct, err := h.Admin.Service.ManagedAccount(ctx, c, accountID)
	if err != nil {
		return nil, err
	}
	return h.Networks.AllowedNetworks(ctx, acct.ID)
}

// SetAllowedNetworks replaces the allowed networks of a shared-computer
// account the caller manages (CIDRs or single addresses; an empty list
// removes the limit) and records it. A bad entry is a validation error
// naming it by index, and changes nothing.
func (h *Handler) SetAllowedNetworks(ctx context.Context, c authz.Caller, accountID string, cidrs []string) ([]netip.Prefix, error) {
	nets, bad, err := ParseNetworks(cidrs)
	if err != nil {
		return nil, fieldError("allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
	}
	acct, err := h.Admin.Service.ManagedAccount(ctx, c, accountID)
	if err != nil {
		return nil, err
	}
	if acct.Kind != store.KindSharedComputer {
		return nil, ErrNotSharedComputer
	}
	if err := h.Networks.SetAllowedNetworks(ctx, acct.ID, nets); err != nil {
		return nil, err
	}
	h.audit(ctx, adminEvent(ctx, c, "account.allowed_networks", acct.ID, map[string]any{"allowed_networks": netStrings(nets)}))
	return nets, nil
}

// adminEvent is the audit record of an admin change, in the shape the
// admin API records its own.
func adminEvent(ctx context.Context, c authz.Caller, action, target string, details map[string]any) store.AuditEvent {
	details["via"] = c.Via
	if c.TokenID != "" {
		details["token"] = c.TokenID
	}
	return store.AuditEvent{Actor: c.Account.ID, Action: action, Target: target, IP: account.AuditIP(ctx),
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

// ---- JSON routes: thin wrappers over the operations above.

func (h *Handler) apiListCredentials(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.ListCredentials(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
	return nil
}

func (h *Handler) apiDeleteCredential(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if _, err := h.RevokeCredential(r.Context(), c, r.PathValue("id"), r.PathValue("credId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) apiCreateEnrolment(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in struct {
		Name            string   `json:"name"`
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if err := httpapi.DecodeOptional(w, r, &in, maxBodyBytes); err != nil {
		return err
	}
	var nets []netip.Prefix
	if in.AllowedNetworks != nil {
		var bad int
		var err error
		if nets, bad, err = ParseNetworks(in.AllowedNetworks); err != nil {
			return fieldError("allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
		}
	}
	e, err := h.CreateEnrolment(r.Context(), c, r.PathValue("id"), in.Name, nets)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{
		"url":        e.URL,
		"expires_at": e.ExpiresAt.Format(time.RFC3339),
	})
	return nil
}

func (h *Handler) apiGetNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	nets, err := h.AllowedNetworks(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
	return nil
}

func (h *Handler) apiPutNetworks(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in struct {
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if err := httpapi.DecodeOptional(w, r, &in, maxBodyBytes); err != nil {
		return err
	}
	nets, err := h.SetAllowedNetworks(r.Context(), c, r.PathValue("id"), in.AllowedNetworks)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
	return nil
}
