package reset

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

type resetData struct {
	Token   string
	Email   string
	Submit  string
	Invalid bool
	// AskNames: the account has no given name yet (an invitation without
	// names), so the form asks for the names with the password.
	AskNames  bool
	FirstName string
	LastName  string
}

// noReferrer makes sure the page that carries a token in its URL never
// sends that URL on, whatever the renderer's default policy.
type noReferrer struct{ http.ResponseWriter }

func (n noReferrer) WriteHeader(status int) {
	n.ResponseWriter.Header().Set("Referrer-Policy", "no-referrer")
	n.ResponseWriter.WriteHeader(status)
}

// lookup finds a usable token of either kind without using it.
func (h *Handler) lookup(ctx context.Context, token string) (store.Token, store.Account, error) {
	if token == "" || len(token) > maxTokenLen {
		return store.Token{}, store.Account{}, store.ErrNotFound
	}
	hash := hashToken(token)
	now := h.d.Now().UTC()
	t, err := h.d.Tokens.PeekToken(ctx, store.TokenPasswordReset, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		t, err = h.d.Tokens.PeekToken(ctx, store.TokenInvitation, hash, now)
	}
	if err != nil {
		return store.Token{}, store.Account{}, err
	}
	acct, err := h.d.Accounts.GetAccount(ctx, t.AccountID)
	if err != nil {
		return store.Token{}, store.Account{}, err
	}
	if !account.UsesPassword(acct) || (acct.Status != store.StatusActive && acct.Status != store.StatusInvited) {
		return store.Token{}, store.Account{}, store.ErrNotFound
	}
	return t, acct, nil
}

func (h *Handler) renderReset(w http.ResponseWriter, r *http.Request, status int, token string, t store.Token, acct store.Account, errMsg string) {
	p := h.d.Renderer.Page(i18n.Negotiate(acct.Language, r), h.d.CSRF.Token(w, r))
	data := resetData{Token: token, Email: acct.Email, Submit: p.T("reset.submit"), AskNames: asksNames(acct),
		FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name")}
	p.Title = p.T("reset.title")
	if t.Kind == store.TokenInvitation {
		p.Title, data.Submit = p.T("reset.invite_title"), p.T("reset.invite_submit")
	}
	p.Error = errMsg
	p.Data = data
	h.d.Renderer.Render(noReferrer{w}, status, "reset", p)
}

// asksNames reports whether the set-password form asks for names: the
// account was invited without them. Names already given are never asked.
func asksNames(a store.Account) bool { return a.FirstName == "" }

// renderInvalid is the one page for a token that is unknown, used,
// expired or no longer fits its account: it offers to start again.
func (h *Handler) renderInvalid(w http.ResponseWriter, r *http.Request) {
	p := h.d.Renderer.Page(i18n.Negotiate("", r), h.d.CSRF.Token(w, r))
	p.Title = p.T("reset.invalid.title")
	p.Error = p.T("reset.invalid")
	p.Data = resetData{Invalid: true}
	h.d.Renderer.Render(noReferrer{w}, http.StatusGone, "reset", p)
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	t, acct, err := h.lookup(r.Context(), token)
	if err != nil {
		h.lookupFailed(w, r, err)
		return
	}
	h.renderReset(w, r, http.StatusOK, token, t, acct, "")
}

func (h *Handler) lookupFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		h.renderInvalid(w, r)
		return
	}
	h.d.Logger.Error("password reset: reading token", "err", err)
	h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
}

func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !web.ParseCSRFForm(w, r, h.d.MaxFormBytes, h.d.Renderer, h.d.CSRF) {
		return
	}
	token := r.URL.Query().Get("token")
	t, acct, err := h.lookup(ctx, token)
	if err != nil {
		h.lookupFailed(w, r, err)
		return
	}
	lang := i18n.Negotiate(acct.Language, r)
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	// The form is checked before the token is used, so a typo does not
	// burn the link.
	if pw != confirm {
		h.renderReset(w, r, http.StatusBadRequest, token, t, acct, h.d.Renderer.Catalog.T(lang, "reset.mismatch"))
		return
	}
	if err := password.CheckPolicy(pw, acct.Email); err != nil {
		h.renderReset(w, r, http.StatusBadRequest, token, t, acct, h.policyMessage(lang, err))
		return
	}
	var names account.Names
	if asksNames(acct) {
		names = account.Names{First: r.PostFormValue("first_name"), Last: r.PostFormValue("last_name")}
		if err := account.CheckNames(names); err != nil {
			h.renderReset(w, r, http.StatusBadRequest, token, t, acct, h.d.Renderer.Catalog.T(lang, "reset.names_needed"))
			return
		}
	}
	// Consuming is atomic: of two submissions racing with one link, one wins.
	if _, err := h.d.Tokens.ConsumeToken(ctx, t.Kind, hashToken(token), h.d.Now().UTC()); err != nil {
		h.lookupFailed(w, r, err)
		return
	}
	if err := h.d.Passwords.SetPasswordWithNames(ctx, acct.ID, pw, names); err != nil {
		var pe *password.PolicyError
		if errors.As(err, &pe) {
			// The policy checked above and the service's agree; this is
			// only reached if they drift apart. The link is spent.
			h.renderInvalid(w, r)
			return
		}
		h.d.Logger.Error("password reset: setting password", "err", err, "account", acct.ID)
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	// SetPassword already ended (and announced) the sessions it found;
	// this also ends one that started meanwhile and drops anything this
	// process still caches of the account.
	ended, err := h.d.Sessions.EndAccount(ctx, acct.ID)
	if err != nil {
		h.d.Logger.Error("password reset: ending sessions", "err", err, "account", acct.ID)
	}
	action := "password.reset"
	if t.Kind == store.TokenInvitation {
		action = "password.set"
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: action, Target: acct.ID, IP: h.d.ClientIP(r),
		Outcome: "ok", Category: "auth", Details: map[string]any{"token": t.Kind, "sessions_ended": len(ended)}})
	if t.Kind == store.TokenPasswordReset {
		h.mailChanged(ctx, acct, lang)
	}
	http.Redirect(w, r, loginDone, http.StatusSeeOther)
}

func (h *Handler) mailChanged(ctx context.Context, acct store.Account, lang string) {
	msg, err := h.d.Templates.Render(mail.KindPasswordChanged, lang, mail.Data{To: acct.Email, Name: greeting(acct)})
	if err == nil {
		_, err = h.d.Mail.Enqueue(ctx, msg, mail.KindPasswordChanged, acct.ID)
	}
	if err != nil {
		h.d.Logger.Error("password reset: queueing notice", "err", err, "account", acct.ID)
	}
}

func (h *Handler) policyMessage(lang string, err error) string {
	var pe *password.PolicyError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	key := "reset.policy." + pe.Code
	if msg := h.d.Renderer.Catalog.T(lang, key); msg != key {
		return msg
	}
	return pe.Message
}
