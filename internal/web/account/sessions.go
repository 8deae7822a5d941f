package account

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/device"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// sessionRow is one line of the account page's sessions table.
type sessionRow struct {
	ID        string
	Current   bool
	Method    string
	Device    string
	UserAgent string // the raw header, shown on hover
	IP        string
	Created   string
	LastSeen  string
}

// sessionRows lists the sessions for the page, translated with t (the
// page's T) and dated in the account's format and zone; currentID is the session showing the page.
func (h *Handler) sessionRows(t func(key string) string, sessions []store.Session, currentID string, acct store.Account) []sessionRow {
	rows := make([]sessionRow, 0, len(sessions))
	for _, s := range sessions {
		rows = append(rows, sessionRow{
			ID: s.ID, Current: s.ID == currentID,
			Method: session.MethodLabel(t, session.Method(s), s.IDP, h.d.ProviderName), Device: device.Label(t, device.Parse(s.UserAgent)),
			UserAgent: s.UserAgent, IP: s.IP,
			Created: dateformat.Time(s.CreatedAt, acct.DateFormat, acct.TimeZone), LastSeen: dateformat.Time(s.LastSeenAt, acct.DateFormat, acct.TimeZone),
		})
	}
	return rows
}

// accountEndSession ends one of the signed-in person's other sessions.
// Their own current one is ended by signing out instead.
func (h *Handler) accountEndSession(w http.ResponseWriter, r *http.Request) {
	sess, acct, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("id")
	if id == sess.ID {
		h.renderAccount(w, r, http.StatusConflict, sess, acct, "account.end_current", "")
		return
	}
	// Someone else's session answers exactly like a missing one.
	err := h.d.Sessions.EndAccountSession(ctx, acct.ID, id)
	if errors.Is(err, session.ErrNotAccountSession) {
		h.d.Renderer.Fail(w, r, web.ProblemNotFound)
		return
	}
	if err != nil {
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "session.end", Target: acct.ID, IP: h.d.ClientIP(r), Outcome: "ok", Category: "auth",
		Details: map[string]any{"session": id, "from_session": sess.ID}})
	http.Redirect(w, r, accountPath+"?notice=ended", http.StatusSeeOther)
}

// accountEndOthers signs the person out everywhere but here.
func (h *Handler) accountEndOthers(w http.ResponseWriter, r *http.Request) {
	sess, acct, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ended, err := h.d.Sessions.EndOthers(ctx, acct.ID, sess.ID)
	// Whatever ended before a failure is gone (and announced): record it
	// too.
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	if ended == nil {
		ended = []string{}
	}
	h.audit(ctx, store.AuditEvent{Actor: acct.ID, Action: "session.end_others", Target: acct.ID, IP: h.d.ClientIP(r), Outcome: outcome, Category: "auth",
		Details: map[string]any{"sessions": ended, "sessions_ended": len(ended), "kept_session": sess.ID}})
	if err != nil {
		h.d.Logger.Error("ending the other sessions", "account", acct.ID, "err", err)
		h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	http.Redirect(w, r, accountPath+"?notice=others_ended", http.StatusSeeOther)
}
