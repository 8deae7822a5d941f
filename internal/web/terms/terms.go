// Package terms serves the terms-of-use interstitial (/.gatehouse/terms)
// the gate sends people to until they accept the configured version.
package terms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/redirect"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Sessions finds the request's session (the terms interstitial's way in).
type Sessions interface {
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
}

// Deps is what the interstitial needs, given to New at once.
type Deps struct {
	Version string // the version to accept; empty: no terms, the page only redirects
	URL     string // where the terms are published

	Sessions     Sessions
	Accounts     store.Accounts
	Audit        store.Audit
	Renderer     *web.Renderer
	CSRF         *web.CSRF
	Redirect     func(rd string) string // a safe target for rd
	MaxFormBytes int64
	ClientIP     func(*http.Request) string
	Now          func() time.Time
	Logger       *slog.Logger
}

// Handler serves the terms-of-use interstitial: a page with the link to the
// terms and an "I accept" form, which records the accepted version on the
// account and returns to the app the person was going to.
type Handler struct{ d Deps }

// New builds the interstitial, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

// Mount registers the interstitial.
func (t *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+redirect.TermsPath, t.page)
	mux.HandleFunc("POST "+redirect.TermsPath, t.accept)
}

// termsData is Page.Data of the terms page.
type termsData struct {
	URL      string
	Version  string
	Redirect string
}

// account reads the signed-in account; ok is false when the answer (a
// redirect to sign in, or an error page) has been written.
func (t *Handler) account(w http.ResponseWriter, r *http.Request, rd string) (store.Session, store.Account, bool) {
	sess, err := t.d.Sessions.Lookup(r.Context(), r)
	if err != nil {
		t.refuse(w, r, rd, errors.Is(err, session.ErrNoSession))
		return store.Session{}, store.Account{}, false
	}
	acc, err := t.d.Accounts.GetAccount(r.Context(), sess.AccountID)
	if err != nil {
		t.refuse(w, r, rd, errors.Is(err, store.ErrNotFound))
		return store.Session{}, store.Account{}, false
	}
	return sess, acc, true
}

// refuse answers a request that has no account to read: off to sign in
// when there is none (signIn), else an error page.
func (t *Handler) refuse(w http.ResponseWriter, r *http.Request, rd string, signIn bool) {
	if signIn {
		http.Redirect(w, r, redirect.LoginURL("", rd), http.StatusFound)
		return
	}
	t.d.Renderer.Fail(w, r, web.ProblemUnavailable)
}

func (t *Handler) page(w http.ResponseWriter, r *http.Request) {
	rd := t.d.Redirect(r.URL.Query().Get("rd"))
	_, acc, ok := t.account(w, r, rd)
	if !ok {
		return
	}
	if t.d.Version == "" || acc.TermsVersion == t.d.Version {
		http.Redirect(w, r, rd, http.StatusSeeOther)
		return
	}
	t.render(w, r, acc, rd)
}

func (t *Handler) render(w http.ResponseWriter, r *http.Request, acc store.Account, rd string) {
	page := t.d.Renderer.Page(i18n.Negotiate(acc.Language, r), t.d.CSRF.Token(w, r))
	page.Title = page.T("terms.title")
	page.Data = termsData{URL: t.d.URL, Version: t.d.Version, Redirect: rd}
	t.d.Renderer.Render(w, http.StatusOK, "terms", page)
}

func (t *Handler) accept(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, t.d.MaxFormBytes, t.d.Renderer, t.d.CSRF) {
		return
	}
	rd := t.d.Redirect(r.PostFormValue("rd"))
	_, acc, ok := t.account(w, r, rd)
	if !ok {
		return
	}
	if t.d.Version == "" || acc.TermsVersion == t.d.Version {
		http.Redirect(w, r, rd, http.StatusSeeOther)
		return
	}
	version := t.d.Version
	_, err := t.d.Accounts.UpdateAccount(r.Context(), acc.ID, func(a *store.Account) error {
		a.TermsVersion = version
		a.UpdatedAt = t.d.Now().UTC()
		return nil
	})
	if err != nil {
		t.d.Logger.Error("recording terms acceptance", "account", acc.ID, "err", err)
		t.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	ip := ""
	if t.d.ClientIP != nil {
		ip = t.d.ClientIP(r)
	}
	if err := t.d.Audit.AppendAudit(r.Context(), store.AuditEvent{
		Time: t.d.Now().UTC(), Actor: acc.ID, Action: "terms.accept", Target: acc.ID, IP: ip,
		Outcome: "ok", Category: "auth", Details: map[string]any{"version": version},
	}); err != nil {
		t.d.Logger.Error("audit", "action", "terms.accept", "err", err)
	}
	// The store announces the changed account, so the gate's cached
	// "terms" answer is gone and the app opens at once.
	http.Redirect(w, r, rd, http.StatusSeeOther)
}
