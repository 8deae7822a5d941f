package login

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Logout serves the sign-out confirmation and ends sessions.
type Logout struct {
	Renderer *web.Renderer
	CSRF     *web.CSRF
	Sessions SessionStarter
	Audit    store.Audit
	// EndSessionURL, when set, returns where to send the browser after an
	// SSO session ends (the provider's end-session endpoint).
	EndSessionURL func(s store.Session) (string, bool)
	MaxFormBytes  int64
	ClientIP      func(r *http.Request) string
	Logger        *slog.Logger
}

// Mount registers the logout routes.
func (l *Logout) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/logout", l.page)
	mux.HandleFunc("POST /.gatehouse/logout", l.submit)
}

// The confirmation page exists so that apps can link to the logout URL
// while a cross-site link still cannot sign anybody out.
func (l *Logout) page(w http.ResponseWriter, r *http.Request) {
	p := l.Renderer.Page(i18n.Negotiate("", r), l.CSRF.Token(w, r))
	p.Title = p.T("logout.title")
	l.Renderer.Render(w, http.StatusOK, "logout", p)
}

func (l *Logout) submit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, l.MaxFormBytes, l.Renderer, l.CSRF) {
		return
	}
	ctx := r.Context()
	target := "/.gatehouse/login?notice=logged_out"
	sess, err := l.Sessions.Lookup(ctx, r)
	switch {
	case err == nil:
		if l.EndSessionURL != nil {
			if u, ok := l.EndSessionURL(sess); ok {
				target = u
			}
		}
		if err := l.Sessions.End(ctx, w, r); err != nil {
			l.Logger.Error("logout: ending session", "err", err)
			l.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		if err := l.Audit.AppendAudit(ctx, store.AuditEvent{Actor: sess.AccountID, Action: "logout", Target: sess.AccountID,
			IP: l.ClientIP(r), Outcome: "ok", Category: "auth", Details: map[string]any{"session": sess.ID}}); err != nil {
			l.Logger.Error("audit", "err", err)
		}
	case errors.Is(err, session.ErrNoSession):
		// Already signed out: still clear whatever cookie the browser holds.
		_ = l.Sessions.End(ctx, w, r)
	default:
		l.Logger.Error("logout: session lookup", "err", err)
		l.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
