package passkey

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/httperr"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// fail answers a ceremony call with httperr's answer to err in the
// contract's error shape, its message one the page can show as is.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httperr.For(err).WriteJSON(w, r, h.d.Renderer.Catalog)
}

// The passkey answers beside web's general problems.
var (
	problemSignedOut         = web.Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", TitleKey: "error.title", MsgKey: "passkey.signed_out"}
	problemSharedComputer    = web.Problem{Status: http.StatusConflict, Code: "shared_computer", TitleKey: "error.title", MsgKey: "passkey.shared_use_enrolment"}
	problemSSOAccount        = web.Problem{Status: http.StatusForbidden, Code: "sso_account", TitleKey: "error.title", MsgKey: "passkey.sso_account"}
	problemNoCeremony        = web.Problem{Status: http.StatusBadRequest, Code: "no_ceremony", TitleKey: "error.title", MsgKey: "passkey.no_ceremony"}
	problemAlreadyRegistered = web.Problem{Status: http.StatusConflict, Code: "conflict", TitleKey: "error.title", MsgKey: "passkey.already_registered"}
	problemEnrolmentInvalid  = web.Problem{Status: http.StatusGone, Code: "enrolment_invalid", TitleKey: "error.title", MsgKey: "enrol.invalid"}
	problemOff               = web.Problem{Status: http.StatusConflict, Code: "passkeys_off", TitleKey: "error.title", MsgKey: "passkey.off"}
	problemNetworkRefused    = web.Problem{Status: http.StatusForbidden, Code: "network_refused", TitleKey: "error.title", MsgKey: "passkey.network_refused"}
)

// refusedProblem is the answer to a refused ceremony, its message key
// saying why.
func refusedProblem(status int, code, key string) web.Problem {
	return web.Problem{Status: status, Code: code, TitleKey: "error.title", MsgKey: key}
}

// readCall reads a ceremony call's JSON body into v, answering 400 when
// it cannot.
func (h *Handler) readCall(w http.ResponseWriter, r *http.Request, v any) bool {
	if httpapi.DecodeOptional(w, r, v, maxBodyBytes) == nil {
		return true
	}
	h.fail(w, r, web.ProblemBadRequest)
	return false
}

// checkCSRF guards every ceremony call: the page's token in X-CSRF-Token.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if h.d.CSRF.Valid(r, r.Header.Get("X-CSRF-Token")) {
		return true
	}
	h.fail(w, r, web.ProblemCSRF)
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
		h.d.Logger.Error("passkey: begin login", "err", err)
		h.fail(w, r, web.ProblemInternal)
		return
	}
	if err := h.saveCeremony(r.Context(), w, TokenLogin, loginSlot(r), ceremony{Session: *sd, Redirect: h.d.Redirect(in.Redirect)}); err != nil {
		h.d.Logger.Error("passkey: saving login ceremony", "err", err)
		h.fail(w, r, web.ProblemUnavailable)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, assertion)
}

// loginFailure carries the audit reason and the public answer of a
// refused passkey sign-in.
type loginFailure struct {
	problem web.Problem
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
		h.fail(w, r, web.ProblemTooLarge)
		return
	}
	acct, cred, fail := h.verifyLogin(ctx, r, c, body)
	ip := h.d.ClientIP(r)
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
		h.d.Logger.Info("passkey sign-in refused", "reason", fail.reason, "err", fail.err, "account", fail.account)
		h.fail(w, r, fail.problem)
		return
	}
	sess, err := h.d.Sessions.Start(ctx, w, r, session.StartParams{
		AccountID: acct.ID, AMR: []string{amr(cred)}, IDP: "local",
		Shared:    acct.Kind == store.KindSharedComputer,
		UserAgent: r.UserAgent(), IP: ip,
		// Recorded so revoking this passkey ends this session and no other.
		CredentialID: cred.ID,
	})
	if err != nil {
		h.d.Logger.Error("passkey: starting session", "err", err)
		h.fail(w, r, web.ProblemUnavailable)
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
		return &loginFailure{problem: refusedProblem(http.StatusUnauthorized, "passkey_refused", key), reason: reason, account: acct, err: err}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return store.Account{}, store.Credential{}, &loginFailure{problem: refusedProblem(http.StatusBadRequest, "bad_request", "passkey.failed"), reason: "malformed", err: err}
	}
	var u user
	var lookupErr error
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		acct, err := h.d.Store.GetAccount(ctx, string(userHandle))
		if err != nil {
			lookupErr = err
			return nil, err
		}
		creds, err := h.d.Credentials.ListCredentials(ctx, acct.ID)
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
		return store.Account{}, store.Credential{}, &loginFailure{problem: web.ProblemUnavailable, reason: "store", err: lookupErr}
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
	if strings.HasPrefix(acct.SignIn, "sso:") && !h.d.AllowSSOAccounts {
		return acct, stored, refused("sso_account", "passkey.sso_account", acct.ID, ErrNotAllowed)
	}
	if acct.Kind == store.KindSharedComputer {
		// A shared account signs in only with a key enrolled on its
		// workstation, which cannot have left that machine.
		if !stored.Workstation || stored.BackupEligible {
			return acct, stored, refused("not_workstation_credential", "passkey.failed", acct.ID, ErrNotAllowed)
		}
	}
	nets, err := h.d.Networks.AllowedNetworks(ctx, acct.ID)
	if err != nil {
		return acct, stored, &loginFailure{problem: web.ProblemUnavailable, reason: "store", account: acct.ID, err: err}
	}
	if !inNetworks(h.d.ClientIP(r), nets) {
		return acct, stored, &loginFailure{problem: problemNetworkRefused, reason: "network", account: acct.ID, err: ErrNetwork}
	}
	if err := h.d.Credentials.UpdateCredentialUse(ctx, libCred.ID, libCred.Authenticator.SignCount, libCred.Flags.BackupState, h.d.Now()); err != nil {
		return acct, stored, &loginFailure{problem: web.ProblemUnavailable, reason: "store", account: acct.ID, err: err}
	}
	return acct, stored, nil
}

func (h *Handler) ceremonyFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoCeremony) {
		h.fail(w, r, problemNoCeremony)
		return
	}
	h.d.Logger.Error("passkey: reading ceremony", "err", err)
	h.fail(w, r, web.ProblemUnavailable)
}
