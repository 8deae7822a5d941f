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

// LogoutDeps is everything sign-out needs, given to NewLogout at once.
type LogoutDeps struct {
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

// Logout serves the sign-out confirmation and ends sessions.
type Logout struct{ d LogoutDeps }

// NewLogout builds sign-out, complete.
func NewLogout(d LogoutDeps) *Logout { return &Logout{d: d} }

// Mount registers the logout routes.
func (l *Logout) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/logout", l.page)
	mux.HandleFunc("POST /.gatehouse/logout", l.submit)
}

// The confirmation page exists so that apps can link to the logout URL
// while a cross-site link still cannot sign anybody out.
func (l *Logout) page(w http.ResponseWriter, r *http.Request) {
	p := l.d.Renderer.Page(i18n.Negotiate("", r), l.d.CSRF.Token(w, r))
	p.Title = p.T("logout.title")
	l.d.Renderer.Render(w, http.StatusOK, "logout", p)
}

func (l *Logout) submit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseCSRFForm(w, r, l.d.MaxFormBytes, l.d.Renderer, l.d.CSRF) {
		return
	}
	ctx := r.Context()
	target := "/.gatehouse/login?notice=logged_out"
	sess, err := l.d.Sessions.Lookup(ctx, r)
	switch {
	case err == nil:
		if l.d.EndSessionURL != nil {
			if u, ok := l.d.EndSessionURL(sess); ok {
				target = u
			}
		}
		if err := l.d.Sessions.End(ctx, w, r); err != nil {
			l.d.Logger.Error("logout: ending session", "err", err)
			l.d.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		if err := l.d.Audit.AppendAudit(ctx, store.AuditEvent{Actor: sess.AccountID, Action: "logout", Target: sess.AccountID,
			IP: l.d.ClientIP(r), Outcome: "ok", Category: "auth", Details: map[string]any{"session": sess.ID}}); err != nil {
			l.d.Logger.Error("audit", "err", err)
		}
	case errors.Is(err, session.ErrNoSession):
		// Already signed out: still clear whatever cookie the browser holds.
		_ = l.d.Sessions.End(ctx, w, r)
	default:
		l.d.Logger.Error("logout: session lookup", "err", err)
		l.d.Renderer.Fail(w, r, web.ProblemUnavailable)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
