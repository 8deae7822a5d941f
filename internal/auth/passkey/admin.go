package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// adminHandler is an admin endpoint, given the calling admin's id.
type adminHandler func(w http.ResponseWriter, r *http.Request, actor string)

// admin wraps an endpoint with a minimal admin check: a browser session of
// an account that is admin in some company, and the CSRF header for state
// changes. It should give way to the shared admin authorization wrapper.
func (h *Handler) admin(next adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, err := h.Sessions.Lookup(ctx, r)
		if errors.Is(err, session.ErrNoSession) {
			web.WriteJSONError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
			return
		}
		if err != nil {
			web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
			return
		}
		ok, err := h.IsAdmin(ctx, sess.AccountID)
		if err != nil {
			web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
			return
		}
		if !ok {
			web.WriteJSONError(w, http.StatusForbidden, "forbidden", "administrators only")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !h.CSRF.Valid(r, r.Header.Get("X-CSRF-Token")) {
			web.WriteJSONError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token")
			return
		}
		next(w, r, sess.AccountID)
	}
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

// pathAccount reads the {id} account, answering 404 or 503 itself.
func (h *Handler) pathAccount(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	acct, err := h.Store.GetAccount(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		web.WriteJSONError(w, http.StatusNotFound, "not_found", "no such account")
		return store.Account{}, false
	}
	if err != nil {
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return store.Account{}, false
	}
	return acct, true
}

func (h *Handler) apiListCredentials(w http.ResponseWriter, r *http.Request, _ string) {
	acct, ok := h.pathAccount(w, r)
	if !ok {
		return
	}
	creds, err := h.Credentials.ListCredentials(r.Context(), acct.ID)
	if err != nil {
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return
	}
	out := make([]credentialView, 0, len(creds))
	for _, c := range creds {
		out = append(out, viewOf(c))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"credentials": out})
}

func (h *Handler) apiDeleteCredential(w http.ResponseWriter, r *http.Request, actor string) {
	acct, ok := h.pathAccount(w, r)
	if !ok {
		return
	}
	id, ok := decodeID(r.PathValue("credId"))
	if !ok {
		web.WriteJSONError(w, http.StatusNotFound, "not_found", "no such credential")
		return
	}
	ended, err := h.revoke(r.Context(), acct.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		web.WriteJSONError(w, http.StatusNotFound, "not_found", "no such credential")
		return
	}
	if err != nil {
		h.Logger.Error("passkey: revoking", "err", err)
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return
	}
	h.audit(r.Context(), store.AuditEvent{Actor: actor, Action: "passkey.revoke", Target: acct.ID, IP: h.ClientIP(r), Outcome: "ok", Category: "admin",
		Details: map[string]any{"credential": encodeID(id), "sessions_ended": len(ended)}})
	w.WriteHeader(http.StatusNoContent)
}

// revoke deletes a passkey and ends the sessions signed in with it.
func (h *Handler) revoke(ctx context.Context, accountID string, id []byte) ([]string, error) {
	if err := h.Credentials.DeleteCredential(ctx, accountID, id); err != nil {
		return nil, err
	}
	sessions, err := h.Store.ListAccountSessions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var ended []string
	for _, s := range sessions {
		if !signedInWith(s, id) {
			continue
		}
		if err := h.Sessions.EndSession(ctx, s.ID); err != nil {
			return ended, err
		}
		ended = append(ended, s.ID)
	}
	if len(ended) > 0 && h.OnSessionsEnded != nil {
		h.OnSessionsEnded(ended)
	}
	return ended, nil
}

// signedInWith reports whether s signed in with credential id. A passkey
// session that does not record its credential (the session layer does not
// pass it through yet) is ended too: revoking must never leave a session
// of the revoked key alive.
func signedInWith(s store.Session, id []byte) bool {
	if len(s.CredentialID) > 0 {
		return bytes.Equal(s.CredentialID, id)
	}
	return slices.Contains(s.AMR, "hwk") || slices.Contains(s.AMR, "swk")
}

func (h *Handler) apiCreateEnrolment(w http.ResponseWriter, r *http.Request, actor string) {
	ctx := r.Context()
	var in struct {
		Name            string   `json:"name"`
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if !readJSON(w, r, &in) {
		web.WriteJSONError(w, http.StatusBadRequest, "bad_request", "the body is not valid JSON")
		return
	}
	if len(in.Name) > maxNameLen {
		writeFieldError(w, "name", "at most "+strconv.Itoa(maxNameLen)+" bytes")
		return
	}
	nets, bad, err := ParseNetworks(in.AllowedNetworks)
	if err != nil {
		writeFieldError(w, "allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
		return
	}
	acct, ok := h.pathAccount(w, r)
	if !ok {
		return
	}
	if acct.Kind != store.KindSharedComputer {
		web.WriteJSONError(w, http.StatusConflict, "not_shared_computer", "enrolments are for shared-computer accounts only")
		return
	}
	if acct.Status == store.StatusBlocked || acct.Status == store.StatusDeactivated {
		web.WriteJSONError(w, http.StatusConflict, "account_status", "the account is "+acct.Status)
		return
	}
	token, err := h.randomID()
	if err != nil {
		web.WriteJSONError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	data, _ := json.Marshal(enrolment{Name: cleanName(in.Name, "")})
	now := h.Now()
	expires := now.Add(h.opts.EnrolmentTTL)
	// replace=false: an account may have several workstations, each with
	// its own link.
	if err := h.Store.CreateToken(ctx, store.Token{Hash: hashID(token), Kind: store.TokenEnrolment, AccountID: acct.ID,
		Data: data, CreatedAt: now, ExpiresAt: expires}, false); err != nil {
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return
	}
	if in.AllowedNetworks != nil {
		if err := h.Networks.SetAllowedNetworks(ctx, acct.ID, nets); err != nil {
			web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
			return
		}
	}
	h.audit(ctx, store.AuditEvent{Actor: actor, Action: "enrolment.create", Target: acct.ID, IP: h.ClientIP(r), Outcome: "ok", Category: "admin",
		Details: map[string]any{"name": in.Name, "expires_at": expires.UTC().Format(time.RFC3339), "allowed_networks": in.AllowedNetworks}})
	web.WriteJSON(w, http.StatusCreated, map[string]string{
		"url":        h.publicBase + "/.gatehouse/enrol?token=" + token,
		"expires_at": expires.UTC().Format(time.RFC3339),
	})
}

func writeFieldError(w http.ResponseWriter, field, msg string) {
	web.WriteJSON(w, http.StatusUnprocessableEntity, web.ErrorBody{Error: web.ErrorDetail{
		Code: "invalid", Message: field + ": " + msg, Fields: map[string]string{field: msg}}})
}

func netStrings(nets []netip.Prefix) []string {
	out := make([]string, 0, len(nets))
	for _, p := range nets {
		out = append(out, p.String())
	}
	return out
}

func (h *Handler) apiGetNetworks(w http.ResponseWriter, r *http.Request, _ string) {
	acct, ok := h.pathAccount(w, r)
	if !ok {
		return
	}
	nets, err := h.Networks.AllowedNetworks(r.Context(), acct.ID)
	if err != nil {
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
}

func (h *Handler) apiPutNetworks(w http.ResponseWriter, r *http.Request, actor string) {
	var in struct {
		AllowedNetworks []string `json:"allowed_networks"`
	}
	if !readJSON(w, r, &in) {
		web.WriteJSONError(w, http.StatusBadRequest, "bad_request", "the body is not valid JSON")
		return
	}
	nets, bad, err := ParseNetworks(in.AllowedNetworks)
	if err != nil {
		writeFieldError(w, "allowed_networks["+strconv.Itoa(bad)+"]", "not a CIDR or an IP address")
		return
	}
	acct, ok := h.pathAccount(w, r)
	if !ok {
		return
	}
	if acct.Kind != store.KindSharedComputer {
		web.WriteJSONError(w, http.StatusConflict, "not_shared_computer", "allowed networks are for shared-computer accounts only")
		return
	}
	if err := h.Networks.SetAllowedNetworks(r.Context(), acct.ID, nets); err != nil {
		web.WriteJSONError(w, http.StatusServiceUnavailable, "unavailable", "the store is unavailable")
		return
	}
	h.audit(r.Context(), store.AuditEvent{Actor: actor, Action: "account.allowed_networks", Target: acct.ID, IP: h.ClientIP(r), Outcome: "ok", Category: "admin",
		Details: map[string]any{"allowed_networks": netStrings(nets)}})
	web.WriteJSON(w, http.StatusOK, map[string]any{"allowed_networks": netStrings(nets)})
}
