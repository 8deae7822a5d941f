// Package account serves the signed-in person's own page,
// /.gatehouse/account/: preferences, their passkeys and their sessions.
package account

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/redirect"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

const accountPath = "/.gatehouse/account/"

// Sessions is what the page needs of session.Manager.
type Sessions interface {
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	// List returns the account's live sessions with their latest last-seen.
	List(ctx context.Context, accountID string) ([]store.Session, error)
	// EndAccountSession ends one of the account's own sessions and answers
	// session.ErrNotAccountSession for any other id.
	EndAccountSession(ctx context.Context, accountID, id string) error
	// EndOthers ends every session of the account but keepID and returns
	// their ids.
	EndOthers(ctx context.Context, accountID, keepID string) ([]string, error)
}

// Passkeys is what the page does with the person's own passkeys beyond
// listing and renaming them (passkey.Handler).
type Passkeys interface {
	// Enabled is false on a gateway without passkeys, which hides "Add a
	// passkey".
	Enabled() bool
	// Revoke deletes a passkey and ends the sessions signed in with it.
	Revoke(ctx context.Context, accountID string, id []byte) ([]string, error)
}

// Deps is what the page needs, given to New at once.
type Deps struct {
	Accounts    store.Accounts
	Credentials store.Credentials
	Audit       store.Audit
	Passkeys    Passkeys
	Sessions    Sessions
	Renderer    *web.Renderer
	CSRF        *web.CSRF
	ClientIP    func(*http.Request) string
	// ProviderName gives the display name of an identity provider, for the
	// sign-in method of SSO sessions; nil or "" shows the provider's id.
	ProviderName func(id string) string
	Now          func() time.Time
	Logger       *slog.Logger
}

// Handler serves the account page and its forms.
type Handler struct{ d Deps }

// New builds the account page, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

// maxFormBytes bounds the page's forms, which carry a few short fields.
const maxFormBytes = 64 << 10

// Mount registers the page and its forms.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/account/{$}", h.accountPage)
	mux.HandleFunc("GET /.gatehouse/account", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, accountPath, http.StatusMovedPermanently)
	})
	mux.HandleFunc("POST /.gatehouse/account/preferences", h.accountPreferences)
	mux.HandleFunc("POST /.gatehouse/account/time-zone", h.accountBrowserZone)
	mux.HandleFunc("POST /.gatehouse/account/passkeys/rename", h.accountRename)
	mux.HandleFunc("POST /.gatehouse/account/passkeys/remove", h.accountRemove)
	mux.HandleFunc("POST /.gatehouse/account/sessions/end", h.accountEndSession)
	mux.HandleFunc("POST /.gatehouse/account/sessions/end-others", h.accountEndOthers)
}

func (h *Handler) audit(ctx context.Context, e store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = h.d.Now()
	}
	if err := h.d.Audit.AppendAudit(ctx, e); err != nil {
		h.d.Logger.Error("audit", "err", err, "action", e.Action)
	}
}

var (
	languages = []string{"en", "fr", "ja"}
)

type accountData struct {
	Account store.Account
	Shared  bool
	// PasskeysOff hides "Add a passkey" on a gateway without passkeys.
	PasskeysOff bool
	Languages   []string
	DateFormats []string
	Zones       []string // suggested IANA names beside the free field
	Passkeys    []passkeyRow
	Sessions    []sessionRow
}

type passkeyRow struct {
	ID          string
	Name        string
	Synced      bool
	Workstation bool
	Created     string
	LastUsed    string
}

// pageSession returns the session of a page request, redirecting to the
// login page (and back here) when there is none.
func (h *Handler) pageSession(w http.ResponseWriter, r *http.Request) (store.Session, store.Account, bool) {
	ctx := r.Context()
	sess, err := h.d.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, redirect.LoginURL("", accountPath), http.StatusSeeOther)
		return store.Session{}, store.Account{}, false
	}
	if err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return store.Session{}, store.Account{}, false
	}
	acct, err := h.d.Accounts.GetAccount(ctx, sess.AccountID)
	if err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return store.Session{}, store.Account{}, false
	}
	return sess, acct, true
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	sess, acct, ok := h.pageSession(w, r)
	if !ok {
		return
	}
	notice := ""
	switch r.URL.Query().Get("notice") {
	case "saved":
		notice = "account.saved"
	case "added":
		notice = "account.passkey_added"
	case "removed":
		notice = "account.passkey_removed"
	case "ended":
		notice = "account.session_ended"
	case "others_ended":
		notice = "account.others_ended"
	}
	h.renderAccount(w, r, http.StatusOK, sess, acct, "", notice)
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, sess store.Session, acct store.Account, errKey, noticeKey string) {
	ctx := r.Context()
	creds, err := h.d.Credentials.ListCredentials(ctx, acct.ID)
	if err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	sessions, err := h.d.Sessions.List(ctx, acct.ID)
	if err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	lang := acct.Language
	if !slices.Contains(languages, lang) {
		lang = "en"
	}
	p := h.d.Renderer.Page(lang, h.d.CSRF.Token(w, r))
	p.Title = p.T("account.title")
	p.MainClass = "wide"
	if errKey != "" {
		p.Error = p.T(errKey)
	}
	if noticeKey != "" {
		p.Notice = p.T(noticeKey)
	}
	d := accountData{Account: acct, Shared: acct.Kind == store.KindSharedComputer, PasskeysOff: !h.d.Passkeys.Enabled(), Languages: languages, DateFormats: dateformat.All(), Zones: dateformat.SuggestedZones()}
	for _, c := range creds {
		d.Passkeys = append(d.Passkeys, passkeyRow{ID: passkey.EncodeID(c.ID), Name: c.Name, Synced: c.BackupEligible, Workstation: c.Workstation,
			Created: dateformat.Time(c.CreatedAt, acct.DateFormat, acct.TimeZone), LastUsed: dateformat.Time(c.LastUsedAt, acct.DateFormat, acct.TimeZone)})
	}
	d.Sessions = h.sessionRows(p.T, sessions, sess.ID, acct)
	p.Data = d
	h.d.Renderer.Render(w, status, "account", p)
}

// accountForm checks the session, the form size and the CSRF token of an
// account page form.
func (h *Handler) accountForm(w http.ResponseWriter, r *http.Request) (store.Session, store.Account, bool) {
	if !web.ParseCSRFForm(w, r, maxFormBytes, h.d.Renderer, h.d.CSRF) {
		return store.Session{}, store.Account{}, false
	}
	return h.pageSession(w, r)
}

func (h *Handler) accountPreferences(w http.ResponseWriter, r *http.Request) {
	sess, acct, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	lang, df := r.PostFormValue("language"), r.PostFormValue("date_format")
	zone := strings.TrimSpace(r.PostFormValue("time_zone"))
	if zone == "" {
		// A form sent without the field (or emptied) keeps the zone.
		zone = acct.TimeZone
	}
	if !slices.Contains(languages, lang) || !dateformat.Valid(df) || (zone != "" && !dateformat.ValidZone(zone)) {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, sess, acct, "account.bad_preferences", "")
		return
	}
	if _, err := h.d.Accounts.UpdateAccount(r.Context(), acct.ID, func(a *store.Account) error {
		a.Language, a.DateFormat, a.TimeZone, a.UpdatedAt = lang, df, zone, h.d.Now()
		return nil
	}); err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	http.Redirect(w, r, accountPath+"?notice=saved", http.StatusSeeOther)
}

// accountBrowserZone takes the browser's time zone, sent by the account
// page's script on the first visit, as the account's zone. It never
// replaces a zone already set: the user's own choice wins. 204 either way;
// a name that is not a zone is 422 and changes nothing.
func (h *Handler) accountBrowserZone(w http.ResponseWriter, r *http.Request) {
	_, acct, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	zone := strings.TrimSpace(r.PostFormValue("time_zone"))
	if !dateformat.ValidZone(zone) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	if acct.TimeZone == "" {
		if _, err := h.d.Accounts.UpdateAccount(r.Context(), acct.ID, func(a *store.Account) error {
			if a.TimeZone == "" {
				a.TimeZone, a.UpdatedAt = zone, h.d.Now()
			}
			return nil
		}); err != nil {
			h.failStore(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// credentialForm is accountForm for a change to one of the account's own
// passkeys, named by the form's id; an id that does not decode is not found.
func (h *Handler) credentialForm(w http.ResponseWriter, r *http.Request) (store.Account, []byte, bool) {
	_, acct, ok := h.accountForm(w, r)
	if !ok {
		return store.Account{}, nil, false
	}
	id, ok := passkey.DecodeID(r.PostFormValue("id"))
	if !ok {
		h.d.Renderer.Fail(w, r, web.ProblemNotFound)
		return store.Account{}, nil, false
	}
	return acct, id, true
}

// failStore answers a failed change: a record that is not there is not
// found, anything else leaves the store unavailable.
func (h *Handler) failStore(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		h.d.Renderer.Fail(w, r, web.ProblemNotFound)
		return
	}
	h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
}

func (h *Handler) accountRename(w http.ResponseWriter, r *http.Request) {
	acct, id, ok := h.credentialForm(w, r)
	if !ok {
		return
	}
	name := passkey.CleanName(r.PostFormValue("name"), "")
	if name == "" {
		http.Redirect(w, r, accountPath, http.StatusSeeOther)
		return
	}
	if err := h.d.Credentials.RenameCredential(r.Context(), acct.ID, id, name); err != nil {
		h.failStore(w, r, err)
		return
	}
	http.Redirect(w, r, accountPath+"?notice=saved", http.StatusSeeOther)
}

func (h *Handler) accountRemove(w http.ResponseWriter, r *http.Request) {
	acct, id, ok := h.credentialForm(w, r)
	if !ok {
		return
	}
	if acct.Kind == store.KindSharedComputer {
		// Workstation keys are an admin's to revoke, not the floor's.
		h.d.Renderer.Fail(w, r, web.ProblemForbidden)
		return
	}
	ended, err := h.d.Passkeys.Revoke(r.Context(), acct.ID, id)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	h.audit(r.Context(), store.AuditEvent{Actor: acct.ID, Action: "passkey.revoke", Target: acct.ID, IP: h.d.ClientIP(r), Outcome: "ok", Category: "auth",
		Details: map[string]any{"credential": passkey.EncodeID(id), "sessions_ended": len(ended)}})
	http.Redirect(w, r, accountPath+"?notice=removed", http.StatusSeeOther)
}
