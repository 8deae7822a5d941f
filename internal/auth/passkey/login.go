package passkey

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"io"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// jsonFail answers a ceremony call with the contract's error shape and a
// translated message the page can show as is.
func (h *Handler) jsonFail(w http.ResponseWriter, r *http.Request, status int, code, key string) {
	httpapi.WriteError(w, status, code, h.Renderer.Catalog.T(i18n.Negotiate("", r), key))
}

// readCall reads a ceremony call's JSON body into v, answering 400 when
// it cannot.
func (h *Handler) readCall(w http.ResponseWriter, r *http.Request, v any) bool {
	if httpapi.DecodeOptional(w, r, v, maxBodyBytes) == nil {
		return true
	}
	h.jsonFail(w, r, http.StatusBadRequest, "bad_request", "error.bad_request")
	return false
}

// checkCSRF guards every ceremony call: the page's token in X-CSRF-Token.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if h.CSRF.Valid(r, r.Header.Get("X-CSRF-Token")) {
		return true
	}
	h.jsonFail(w, r, http.StatusForbidden, "csrf", "error.csrf")
	return false
}

func loginSlot(r *http.Request) string {
	if r.URL.Query().Get("mode") == "conditional" {
		return "pk_login_c"
	}
	return "pk_login"
}

func (h *Handler) loginBegin(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	var in struct {
		Redirect string `json:"rd"`
	}
	if !h.readCall(w, r, &in) {
		return
	}
	mediation := protocol.MediationDefault
	if loginSlot(r) == "pk_login_c" {
		mediation = protocol.MediationConditional
	}
	assertion, sd, err := h.wa.BeginDiscoverableMediatedLogin(mediation,
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		h.Logger.Error("passkey: begin login", "err", err)
		h.jsonFail(w, r, http.StatusInternalServerError, "internal", "error.internal")
		return
	}
	if err := h.saveCeremony(r.Context(), w, TokenLogin, loginSlot(r), ceremony{Session: *sd, Redirect: h.Redirect(in.Redirect)}); err != nil {
		h.Logger.Error("passkey: saving login ceremony", "err", err)
		h.jsonFail(w, r, http.StatusServiceUnavailable, "unavailable", "error.unavailable")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, assertion)
}

// loginFailure carries the audit reason and the public answer of a
// refused passkey sign-in.
type loginFailure struct {
	status  int
	code    string
	msgKey  string
	reason  string
	account string
	err     error
}

func (h *Handler) loginFinish(w http.ResponseWriter, r *http.Request) {
	if h.offCall(w, r) || !h.checkCSRF(w, r) {
		return
	}
	ctx := r.Context()
	c, err := h.takeCeremony(ctx, w, r, TokenLogin, loginSlot(r))
	if err != nil {
		h.ceremonyFail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		h.jsonFail(w, r, http.StatusRequestEntityTooLarge, "too_large", "error.too_large")
		return
	}
	acct, cred, fail := h.verifyLogin(ctx, r, c, body)
	ip := h.ClientIP(r)
	if fail != nil {
		action := "login.failure"
		if errors.Is(fail.err, ErrCloned) {
			action = "passkey.clone_suspected"
		}
		actor := "anonymous"
		if fail.account != "" {
			actor = fail.account
		}
		details := map[string]any{"method": "passkey", "reason": fail.reason}
		if cred.ID != nil {
			details["credential"] = EncodeID(cred.ID)
		}
		h.audit(ctx, store.AuditEvent{Actor: actor, Action: action, Target: fail.account, IP: ip,
			Outcome: "denied", Category: "auth", Details: details})
		h.Logger.Info("passkey sign-in refused", "reason", fail.reason, "err", fail.err, "account", fail.account)
		h.jsonFail(w, r, fail.status, fail.code, fail.msgKey)
		return
	}
	sess, err := h.Sessions.Start(ctx, w, r, session.StartParams{
		AccountID: acct.ID, AMR: []string{amr(cred)}, IDP: "local",
		Shared:    acct.Kind == store.KindSharedComputer,
		UserAgent: r.UserAgent(), IP: ip,
		// Recorded so revoking this passkey ends this session and no other.
		CredentialID: cred.ID,
	})
	if err != nil {
		h.Logger.Error("passkey: starting session", "err", err)
		h.jsonFail(w, r, http.StatusServiceUnavailable, "unavailable", "error.unavailable")
		return
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "login.success", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth",
		Details: map[string]any{"method": "passkey", "session": sess.ID, "credential": EncodeID(cred.ID), "amr": amr(cred)}})
	rd := c.Redirect
	if rd == "" {
		rd = "/"
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"redirect": rd})
}

// verifyLogin checks the assertion and every rule that decides whether
// this credential may sign this account in, here and now. On success the
// credential's new use is recorded.
func (h *Handler) verifyLogin(ctx context.Context, r *http.Request, c ceremony, body []byte) (store.Account, store.Credential, *loginFailure) {
	refused := func(reason, key string, acct string, err error) *loginFailure {
		return &loginFailure{status: http.StatusUnauthorized, code: "passkey_refused", msgKey: key, reason: reason, account: acct, err: err}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return store.Account{}, store.Credential{}, &loginFailure{status: http.StatusBadRequest, code: "bad_request", msgKey: "passkey.failed", reason: "malformed", err: err}
	}
	var u user
	var lookupErr error
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		acct, err := h.Store.GetAccount(ctx, string(userHandle))
		if err != nil {
			lookupErr = err
			return nil, err
		}
		creds, err := h.Credentials.ListCredentials(ctx, acct.ID)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		u = user{acct: acct, creds: creds}
		if _, ok := u.find(rawID); !ok {
			lookupErr = store.ErrNotFound
			return nil, store.ErrNotFound
		}
		return u, nil
	}
	_, libCred, err := h.wa.ValidatePasskeyLogin(handler, c.Session, parsed)
	if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) {
		return store.Account{}, store.Credential{}, &loginFailure{status: http.StatusServiceUnavailable, code: "unavailable", msgKey: "error.unavailable", reason: "store", err: lookupErr}
	}
	if err != nil {
		return store.Account{}, store.Credential{}, refused("assertion_invalid", "passkey.failed", u.acct.ID, err)
	}
	acct := u.acct
	stored, _ := u.find(libCred.ID)
	if libCred.Authenticator.CloneWarning {
		return acct, stored, refused("sign_count_regression", "passkey.failed", acct.ID, ErrCloned)
	}
	if acct.Status != store.StatusActive {
		return acct, stored, refused("status_"+acct.Status, "passkey.failed", acct.ID, ErrNotAllowed)
	}
	if strings.HasPrefix(acct.SignIn, "sso:") && !h.AllowSSOAccounts {
		return acct, stored, refused("sso_account", "passkey.sso_account", acct.ID, ErrNotAllowed)
	}
	if acct.Kind == store.KindSharedComputer {
		// A shared account signs in only with a key enrolled on its
		// workstation, which cannot have left that machine.
		if !stored.Workstation || stored.BackupEligible {
			return acct, stored, refused("not_workstation_credential", "passkey.failed", acct.ID, ErrNotAllowed)
		}
	}
	nets, err := h.Networks.AllowedNetworks(ctx, acct.ID)
	if err != nil {
		return acct, stored, &loginFailure{status: http.StatusServiceUnavailable, code: "unavailable", msgKey: "error.unavailable", reason: "store", account: acct.ID, err: err}
	}
	if !inNetworks(h.ClientIP(r), nets) {
		return acct, stored, &loginFailure{status: http.StatusForbidden, code: "network_refused", msgKey: "passkey.network_refused", reason: "network", account: acct.ID, err: ErrNetwork}
	}
	if err := h.Credentials.UpdateCredentialUse(ctx, libCred.ID, libCred.Authenticator.SignCount, libCred.Flags.BackupState, h.Now()); err != nil {
		return acct, stored, &loginFailure{status: http.StatusServiceUnavailable, code: "unavailable", msgKey: "error.unavailable", reason: "store", account: acct.ID, err: err}
	}
	return acct, stored, nil
}

func (h *Handler) ceremonyFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoCeremony) {
		h.jsonFail(w, r, http.StatusBadRequest, "no_ceremony", "passkey.no_ceremony")
		return
	}
	h.Logger.Error("passkey: reading ceremony", "err", err)
	h.jsonFail(w, r, http.StatusServiceUnavailable, "unavailable", "error.unavailable")
}
