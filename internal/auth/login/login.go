// Package login signs people in with a password and signs them out: the
// sign-in page (with the SSO and passkey buttons) and the sign-out page.
package login

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// PasswordChecker verifies passwords. DummyHash is a hash of the current
// parameters that nothing matches: verifying against it when there is no
// account costs exactly what a real verification costs.
type PasswordChecker interface {
	Verify(ctx context.Context, pw, phc string) (ok bool, needsRehash bool, err error)
	DummyHash() string
	Hash(ctx context.Context, pw string) (string, error)
}

// SessionStarter starts and ends browser sessions.
type SessionStarter interface {
	Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p session.StartParams) (store.Session, error)
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	End(ctx context.Context, w http.ResponseWriter, r *http.Request) error
}

// Guard decides whether a password attempt may succeed, and learns
// its result. It throttles guessing (per account and per client) and may
// mark a browser that signed in (a device cookie set on w); nil means no
// throttling.
type Guard interface {
	// Allow reports whether the attempt may proceed; retryAfter > 0 with
	// false means the client is over its rate and gets 429.
	Allow(ctx context.Context, r *http.Request, email string) (ok bool, retryAfter time.Duration)
	Failed(ctx context.Context, r *http.Request, email string)
	Succeeded(ctx context.Context, w http.ResponseWriter, r *http.Request, email string)
}

// PasswordSignInBlocker tells whether an account that otherwise has a
// password may not use it (a shared computer bound to its workstation).
type PasswordSignInBlocker func(ctx context.Context, a store.Account) bool

// ProviderButton is one SSO button on the login page.
type ProviderButton struct {
	ID        string
	Name      string
	Available bool
}

// Deps is everything password sign-in needs, given to New at once.
type Deps struct {
	Renderer  *web.Renderer
	CSRF      *web.CSRF
	Accounts  store.Accounts
	Audit     store.Audit
	Passwords PasswordChecker
	Sessions  SessionStarter
	Guard     Guard
	// Redirect returns a safe target for rd ("/" when rd is not safe).
	Redirect func(rd string) string
	// Providers lists the SSO buttons, in order, with their status now.
	Providers       func() []ProviderButton
	PasswordBlocked PasswordSignInBlocker
	// PasskeysOff hides the passkey button (a public_url on an IP
	// address, where WebAuthn cannot work).
	PasskeysOff  bool
	MaxFormBytes int64
	ClientIP     func(r *http.Request) string
	Logger       *slog.Logger
	// OnResult, when set, counts logins by result for metrics.
	OnResult func(result string)
}

// Handler serves the sign-in page and the password sign-in.
type Handler struct{ d Deps }

// New builds password sign-in, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

type loginData struct {
	Redirect  string
	Email     string
	Providers []ProviderButton
	Passkeys  bool
}

// Mount registers the login routes.
func (l *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/login", l.page)
	mux.HandleFunc("POST /.gatehouse/login", l.submit)
}

func (l *Handler) render(w http.ResponseWriter, r *http.Request, status int, rd, email, errKey, notice string) {
	p := l.d.Renderer.Page(i18n.Negotiate("", r), l.d.CSRF.Token(w, r))
	p.Title = p.T("login.title")
	if errKey != "" {
		p.Error = p.T(errKey)
	}
	p.Notice = notice
	var providers []ProviderButton
	if l.d.Providers != nil {
		providers = l.d.Providers()
	}
	p.Data = loginData{Redirect: rd, Email: email, Providers: providers, Passkeys: !l.d.PasskeysOff}
	l.d.Renderer.Render(w, status, "login", p)
}

func (l *Handler) page(w http.ResponseWriter, r *http.Request) {
	notice := ""
	lang := i18n.Negotiate("", r)
	switch r.URL.Query().Get("notice") {
	case "logged_out":
		notice = l.d.Renderer.Catalog.T(lang, "logout.done")
	case "password_reset":
		notice = l.d.Renderer.Catalog.T(lang, "reset.done")
	}
	l.render(w, r, http.StatusOK, l.d.Redirect(r.URL.Query().Get("rd")), "", "", notice)
}

func (l *Handler) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !web.ParseCSRFForm(w, r, l.d.MaxFormBytes, l.d.Renderer, l.d.CSRF) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	pw := r.PostFormValue("password")
	rd := l.d.Redirect(r.PostFormValue("rd"))
	ip := l.d.ClientIP(r)
	if len(email) > 320 || len(pw) > 4096 {
		l.fail(w, r, rd, email, ip, "invalid_input", true)
		return
	}
	// Every attempt the guard lets through takes the same steps whether
	// or not the account exists, is locked or has a password: one account
	// read, one verification in the hasher's queue (against a dummy hash of
	// the current parameters when there is nothing real to check), the
	// same guard writes. Only then is the outcome decided, so neither the
	// answer nor its timing tells which emails have accounts.
	allowed := true
	if l.d.Guard != nil {
		ok, retry := l.d.Guard.Allow(ctx, r, email)
		if !ok && retry > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(retry))
			l.result("throttled")
			l.render(w, r, http.StatusTooManyRequests, rd, email, "login.throttled", "")
			return
		}
		allowed = ok
	}
	acct, err := l.d.Accounts.GetAccountByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.d.Logger.Error("login: reading account", "err", err)
		l.verify(ctx, pw, "")
		l.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	ok, rehash := l.verify(ctx, pw, acct.PasswordHash)
	reason := ""
	// The order matters: a status is only looked at once the password was
	// right, so the "disabled" answer below tells nothing to someone who
	// does not know the password.
	switch {
	case !found:
		reason = "unknown_account"
	case !allowed:
		reason = "locked"
	case !ok:
		reason = "bad_password"
	case !account.UsesPassword(acct):
		reason = "sso_account"
	case acct.Status != store.StatusActive:
		reason = "status_" + acct.Status
	case l.d.PasswordBlocked != nil && l.d.PasswordBlocked(ctx, acct):
		reason = "workstation_bound"
	}
	if reason != "" {
		l.fail(w, r, rd, email, ip, reason, allowed)
		return
	}
	if l.d.Guard != nil {
		l.d.Guard.Succeeded(ctx, w, r, email)
	}
	if rehash {
		if h, err := l.d.Passwords.Hash(ctx, pw); err == nil {
			_, _ = l.d.Accounts.UpdateAccount(ctx, acct.ID, func(a *store.Account) error {
				a.PasswordHash = h
				return nil
			})
		}
	}
	sess, err := l.d.Sessions.Start(ctx, w, r, session.StartParams{
		AccountID: acct.ID, AMR: []string{"pwd"}, IDP: "local",
		Shared:    acct.Kind == store.KindSharedComputer,
		UserAgent: r.UserAgent(), IP: ip,
	})
	if err != nil {
		l.d.Logger.Error("login: starting session", "err", err)
		l.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	l.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "login.success", Target: acct.ID, IP: ip, Outcome: "ok", Category: "auth",
		Details: map[string]any{"method": "password", "session": sess.ID}})
	l.result("success")
	http.Redirect(w, r, rd, http.StatusSeeOther)
}

// verify checks pw against phc, or against the dummy hash when phc is
// empty, through the same queue and code either way. A hash that cannot be
// read counts as a wrong password, after the same work.
func (l *Handler) verify(ctx context.Context, pw, phc string) (ok, rehash bool) {
	if phc == "" {
		phc = l.d.Passwords.DummyHash()
	}
	ok, rehash, err := l.d.Passwords.Verify(ctx, pw, phc)
	if err != nil {
		l.d.Logger.Error("login: verifying password", "err", err)
		if ctx.Err() == nil {
			_, _, _ = l.d.Passwords.Verify(ctx, pw, l.d.Passwords.DummyHash())
		}
		return false, false
	}
	return ok, rehash
}

// fail answers every failed attempt the same way; the reason only reaches
// the audit log. Failures the guard let through are counted (a locked
// client's are not: they were never checked). The one exception is a
// blocked or deactivated account whose right password was typed: as in
// Keycloak, its holder is told it is disabled and whom to ask, after the
// same steps and time as any other failure.
func (l *Handler) fail(w http.ResponseWriter, r *http.Request, rd, email, ip, reason string, allowed bool) {
	ctx := r.Context()
	if l.d.Guard != nil && allowed {
		l.d.Guard.Failed(ctx, r, email)
	}
	l.audit(ctx, store.AuditEvent{Actor: "anonymous", Action: "login.failure", Target: strings.ToLower(email), IP: ip, Outcome: "denied", Category: "auth",
		Details: map[string]any{"method": "password", "reason": reason}})
	l.result("failure")
	msg := "login.failed"
	if reason == "status_"+store.StatusBlocked || reason == "status_"+store.StatusDeactivated {
		msg = "login.disabled"
	}
	l.render(w, r, http.StatusUnauthorized, rd, email, msg, "")
}

func (l *Handler) audit(ctx context.Context, e store.AuditEvent) {
	if err := l.d.Audit.AppendAudit(ctx, e); err != nil {
		l.d.Logger.Error("audit", "err", err, "action", e.Action)
	}
}

func (l *Handler) result(r string) {
	if l.d.OnResult != nil {
		l.d.OnResult(r)
	}
}

func retryAfterSeconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
