package passkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// EncodeID is how a credential id is written in pages, forms and the API:
// base64url without padding.
func EncodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// DecodeID reads a credential id written by EncodeID; false for anything
// that cannot be one.
func DecodeID(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && len(b) > 0 && len(b) <= 1023
}

// CleanName trims a passkey name and bounds it; "" gives the default.
func CleanName(s, def string) string {
	s = strings.Join(strings.Fields(s), " ")
	for len(s) > maxNameLen || !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
		if len(s) > maxNameLen {
			s = s[:maxNameLen]
		}
	}
	if s == "" {
		return def
	}
	return s
}

// signedIn returns the request's session and account, answering 401 (or
// 503) itself when there is none.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (store.Session, store.Account, bool) {
	ctx := r.Context()
	sess, err := h.d.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		h.fail(w, r, problemSignedOut)
		return store.Session{}, store.Account{}, false
	}
	if err != nil {
		h.fail(w, r, web.ProblemUnavailable)
		return store.Session{}, store.Account{}, false
	}
	acct, err := h.d.Store.GetAccount(ctx, sess.AccountID)
	if err != nil {
		h.fail(w, r, web.ProblemUnavailable)
		return store.Session{}, store.Account{}, false
	}
	return sess, acct, true
}

func (h *Handler) registerBegin(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	sess, acct, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if !h.readCall(w, r, &in) {
		return
	}
	switch {
	case acct.Kind == store.KindSharedComputer:
		// A shared account's keys come only from an admin's enrolment link.
		h.fail(w, r, problemSharedComputer)
		return
	case strings.HasPrefix(acct.SignIn, "sso:") && !h.d.AllowSSOAccounts:
		h.fail(w, r, problemSSOAccount)
		return
	}
	h.beginRegistration(w, r, acct, TokenRegister, "pk_register", ceremony{
		AccountID: acct.ID, SessionID: sess.ID, Name: CleanName(in.Name, h.d.Renderer.Catalog.T(i18n.Negotiate("", r), "passkey.default_name")),
	})
}

func (h *Handler) beginRegistration(w http.ResponseWriter, r *http.Request, acct store.Account, kind, slot string, c ceremony) {
	ctx := r.Context()
	creds, err := h.d.Credentials.ListCredentials(ctx, acct.ID)
	if err != nil {
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	u := user{acct: acct, creds: creds}
	creation, sd, err := h.wa.BeginRegistration(u, webauthn.WithExclusions(u.exclusions()))
	if err != nil {
		h.d.Logger.Error("passkey: begin registration", "err", err)
		h.fail(w, r, web.ProblemInternal)
		return
	}
	c.Session = *sd
	if err := h.saveCeremony(ctx, w, kind, slot, c); err != nil {
		h.d.Logger.Error("passkey: saving registration ceremony", "err", err)
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, creation)
}

// finishRegistration verifies the attestation against the ceremony; the
// account must still be the one that began it.
func (h *Handler) finishRegistration(ctx context.Context, w http.ResponseWriter, r *http.Request, c ceremony) (store.Account, *webauthn.Credential, error) {
	acct, err := h.d.Store.GetAccount(ctx, c.AccountID)
	if err != nil {
		return store.Account{}, nil, err
	}
	creds, err := h.d.Credentials.ListCredentials(ctx, acct.ID)
	if err != nil {
		return store.Account{}, nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return acct, nil, protocol.ErrBadRequest.WithDetails("body too large")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return acct, nil, err
	}
	cred, err := h.wa.CreateCredential(user{acct: acct, creds: creds}, c.Session, parsed)
	return acct, cred, err
}

func (h *Handler) registerFinish(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	ctx := r.Context()
	sess, _, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	c, err := h.takeCeremony(ctx, w, r, TokenRegister, "pk_register")
	if err != nil {
		h.ceremonyFail(w, r, err)
		return
	}
	if c.SessionID != sess.ID {
		h.fail(w, r, problemNoCeremony)
		return
	}
	acct, lc, err := h.finishRegistration(ctx, w, r, c)
	ip := h.d.ClientIP(r)
	if err != nil {
		h.registrationFailed(w, r, acct.ID, ip, "passkey.register", err)
		return
	}
	cred := fromLibrary(lc)
	cred.AccountID, cred.Name, cred.CreatedAt = acct.ID, c.Name, h.d.Now()
	if !h.saveCredential(w, r, cred) {
		return
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "passkey.register", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth",
		Details: map[string]any{"credential": EncodeID(cred.ID), "name": cred.Name, "backup_eligible": cred.BackupEligible}})
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"id": EncodeID(cred.ID), "name": cred.Name})
}

func (h *Handler) saveCredential(w http.ResponseWriter, r *http.Request, cred store.Credential) bool {
	err := h.d.Credentials.CreateCredential(r.Context(), cred)
	if errors.Is(err, store.ErrConflict) {
		h.fail(w, r, problemAlreadyRegistered)
		return false
	}
	if err != nil {
		h.d.Logger.Error("passkey: saving credential", "err", err)
		h.fail(w, r, web.ProblemUnavailable)
		return false
	}
	return true
}

func (h *Handler) registrationFailed(w http.ResponseWriter, r *http.Request, accountID, ip, action string, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) && !errors.Is(err, ErrSynced) {
		h.d.Logger.Error("passkey: finishing registration", "err", err)
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	reason, key, status, code := "attestation_invalid", "passkey.register_failed", http.StatusBadRequest, "passkey_refused"
	if errors.Is(err, ErrSynced) {
		reason, key, status, code = "synced_credential", "enrol.synced", http.StatusUnprocessableEntity, "synced_refused"
	}
	h.d.Logger.Info("passkey registration refused", "reason", reason, "err", err, "account", accountID)
	h.audit(r.Context(), store.AuditEvent{Actor: accountID, Action: action, Target: accountID, IP: ip, Outcome: "denied", Category: "auth",
		Details: map[string]any{"reason": reason}})
	h.fail(w, r, refusedProblem(status, code, key))
}

// enrolment is the payload of a workstation enrolment token.
type enrolment struct {
	Name string `json:"name"`
}

// peekEnrolment finds the account a still-usable enrolment link names.
func (h *Handler) peekEnrolment(ctx context.Context, token string) (store.Token, store.Account, error) {
	if token == "" || len(token) > 100 {
		return store.Token{}, store.Account{}, ErrEnrolment
	}
	t, err := h.d.Store.PeekToken(ctx, store.TokenEnrolment, hashID(token), h.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, store.Account{}, ErrEnrolment
	}
	if err != nil {
		return store.Token{}, store.Account{}, err
	}
	acct, err := h.d.Store.GetAccount(ctx, t.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, store.Account{}, ErrEnrolment
	}
	if err != nil {
		return store.Token{}, store.Account{}, err
	}
	if acct.Kind != store.KindSharedComputer || acct.Status == store.StatusBlocked || acct.Status == store.StatusDeactivated {
		return store.Token{}, store.Account{}, ErrEnrolment
	}
	return t, acct, nil
}

type enrolData struct {
	Token   string
	Account string
	Name    string
}

func (h *Handler) enrolPage(w http.ResponseWriter, r *http.Request) {
	if h.off {
		h.d.Renderer.FailKey(w, r, http.StatusConflict, "passkey.off")
		return
	}
	token := r.URL.Query().Get("token")
	t, acct, err := h.peekEnrolment(r.Context(), token)
	if err != nil {
		h.enrolPageFail(w, r, err)
		return
	}
	var e enrolment
	_ = json.Unmarshal(t.Data, &e)
	p := h.d.Renderer.Page(i18n.Negotiate("", r), h.d.CSRF.Token(w, r))
	p.Title = p.T("enrol.title")
	p.Data = enrolData{Token: token, Account: acct.Email, Name: e.Name}
	h.d.Renderer.Render(w, http.StatusOK, "enrol", p)
}

func (h *Handler) enrolPageFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrEnrolment) {
		h.d.Renderer.FailKey(w, r, http.StatusGone, "enrol.invalid")
		return
	}
	h.d.Logger.Error("passkey: reading enrolment", "err", err)
	h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
}

func (h *Handler) enrolBegin(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	token := r.URL.Query().Get("token")
	t, acct, err := h.peekEnrolment(r.Context(), token)
	if errors.Is(err, ErrEnrolment) {
		h.fail(w, r, problemEnrolmentInvalid)
		return
	}
	if err != nil {
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	var e enrolment
	_ = json.Unmarshal(t.Data, &e)
	h.beginRegistration(w, r, acct, TokenEnrol, "pk_enrol", ceremony{
		AccountID: acct.ID, Name: CleanName(e.Name, h.d.Renderer.Catalog.T(i18n.Negotiate("", r), "enrol.default_name")), EnrolHash: t.Hash,
	})
}

func (h *Handler) enrolFinish(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	ctx := r.Context()
	c, err := h.takeCeremony(ctx, w, r, TokenEnrol, "pk_enrol")
	if err != nil {
		h.ceremonyFail(w, r, err)
		return
	}
	ip := h.d.ClientIP(r)
	acct, lc, err := h.finishRegistration(ctx, w, r, c)
	if err == nil && lc.Flags.BackupEligible {
		// Checked before the link is spent, so the workstation can try
		// again with a device-bound authenticator.
		err = ErrSynced
	}
	if err != nil {
		h.registrationFailed(w, r, c.AccountID, ip, "passkey.enrol", err)
		return
	}
	if _, err := h.d.Store.ConsumeToken(ctx, store.TokenEnrolment, c.EnrolHash, h.d.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "passkey.enrol", Target: acct.ID, IP: ip, Outcome: "denied", Category: "auth",
				Details: map[string]any{"reason": "link_used_or_expired"}})
			h.fail(w, r, problemEnrolmentInvalid)
			return
		}
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	cred := fromLibrary(lc)
	cred.AccountID, cred.Name, cred.Workstation, cred.CreatedAt = acct.ID, c.Name, true, h.d.Now()
	if !h.saveCredential(w, r, cred) {
		return
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "passkey.enrol", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth",
		Details: map[string]any{"credential": EncodeID(cred.ID), "name": cred.Name}})
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"id": EncodeID(cred.ID), "name": cred.Name, "login": "/.gatehouse/login"})
}
