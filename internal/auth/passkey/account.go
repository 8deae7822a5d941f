package passkey

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/redirect"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

const accountPath = "/.gatehouse/account/"

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
	sess, err := h.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, redirect.LoginURL("", accountPath), http.StatusSeeOther)
		return store.Session{}, store.Account{}, false
	}
	if err != nil {
		h.Renderer.Fail(w, r, web.ProblemUnavailable)
		return store.Session{}, store.Account{}, false
	}
	acct, err := h.Store.GetAccount(ctx, sess.AccountID)
	if err != nil {
		h.Renderer.Fail(w, r, web.ProblemUnavailable)
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
	creds, err := h.Credentials.ListCredentials(ctx, acct.ID)
	if err != nil {
		h.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	sessions, err := h.Sessions.List(ctx, acct.ID)
	if err != nil {
		h.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	lang := acct.Language
	if !slices.Contains(languages, lang) {
		lang = "en"
	}
	p := h.Renderer.Page(lang, h.CSRF.Token(w, r))
	p.Title = p.T("account.title")
	p.MainClass = "wide"
	if errKey != "" {
		p.Error = p.T(errKey)
	}
	if noticeKey != "" {
		p.Notice = p.T(noticeKey)
	}
	d := accountData{Account: acct, Shared: acct.Kind == store.KindSharedComputer, PasskeysOff: h.off, Languages: languages, DateFormats: dateformat.All(), Zones: dateformat.SuggestedZones()}
	for _, c := range creds {
		d.Passkeys = append(d.Passkeys, passkeyRow{ID: encodeID(c.ID), Name: c.Name, Synced: c.BackupEligible, Workstation: c.Workstation,
			Created: dateformat.Time(c.CreatedAt, acct.DateFormat, acct.TimeZone), LastUsed: dateformat.Time(c.LastUsedAt, acct.DateFormat, acct.TimeZone)})
	}
	d.Sessions = h.sessionRows(p.T, sessions, sess.ID, acct)
	p.Data = d
	h.Renderer.Render(w, status, "account", p)
}

// accountForm checks the session, the form size and the CSRF token of an
// account page form.
func (h *Handler) accountForm(w http.ResponseWriter, r *http.Request) (store.Session, store.Account, bool) {
	if !web.ParseCSRFForm(w, r, maxBodyBytes, h.Renderer, h.CSRF) {
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
	if _, err := h.Store.UpdateAccount(r.Context(), acct.ID, func(a *store.Account) error {
		a.Language, a.DateFormat, a.TimeZone, a.UpdatedAt = lang, df, zone, h.Now()
		return nil
	}); err != nil {
		h.Renderer.Fail(w, r, web.ProblemUnavailable)
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
		if _, err := h.Store.UpdateAccount(r.Context(), acct.ID, func(a *store.Account) error {
			if a.TimeZone == "" {
				a.TimeZone, a.UpdatedAt = zone, h.Now()
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
	id, ok := decodeID(r.PostFormValue("id"))
	if !ok {
		h.Renderer.Fail(w, r, web.ProblemNotFound)
		return store.Account{}, nil, false
	}
	return acct, id, true
}

// failStore answers a failed change: a record that is not there is not
// found, anything else leaves the store unavailable.
func (h *Handler) failStore(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		h.Renderer.Fail(w, r, web.ProblemNotFound)
		return
	}
	h.Renderer.Fail(w, r, web.ProblemUnavailable)
}

func (h *Handler) accountRename(w http.ResponseWriter, r *http.Request) {
	acct, id, ok := h.credentialForm(w, r)
	if !ok {
		return
	}
	name := cleanName(r.PostFormValue("name"), "")
	if name == "" {
		http.Redirect(w, r, accountPath, http.StatusSeeOther)
		return
	}
	if err := h.Credentials.RenameCredential(r.Context(), acct.ID, id, name); err != nil {
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
		h.Renderer.Fail(w, r, web.ProblemForbidden)
		return
	}
	ended, err := h.revoke(r.Context(), acct.ID, id)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	h.audit(r.Context(), store.AuditEvent{Actor: acct.ID, Action: "passkey.revoke", Target: acct.ID, IP: h.ClientIP(r), Outcome: "ok", Category: "auth",
		Details: map[string]any{"credential": encodeID(id), "sessions_ended": len(ended)}})
	http.Redirect(w, r, accountPath+"?notice=removed", http.StatusSeeOther)
}
