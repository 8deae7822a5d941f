// Package panel is the HTML admin panel (/.gatehouse/admin/) over the admin
// API's service layer, and the terms-of-use interstitial shown after sign-in.
package panel

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Prefix is where the panel lives.
const Prefix = "/.gatehouse/admin/"

// ExportURL is the accounts export the panel's export button downloads.
const ExportURL = api.Prefix + "accounts.csv"

// template is the one page template of the panel: every section is a
// named block inside it, so they all share the admin navigation.
const template = "admin_panel"

// Sessions finds the request's session (the terms interstitial's way in).
type Sessions interface {
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
}

// Passkeys is what the panel does with passkeys and workstation
// enrolments; passkey.Handler is one, and the JSON API's routes run the
// same code, so both decide and record alike.
type Passkeys interface {
	ListCredentials(ctx context.Context, c authz.Caller, accountID string) ([]passkey.CredentialView, error)
	RevokeCredential(ctx context.Context, c authz.Caller, accountID, credID string) (int, error)
	CreateEnrolment(ctx context.Context, c authz.Caller, accountID, name string, nets []netip.Prefix) (passkey.Enrolment, error)
	AllowedNetworks(ctx context.Context, c authz.Caller, accountID string) ([]netip.Prefix, error)
	SetAllowedNetworks(ctx context.Context, c authz.Caller, accountID string, cidrs []string) ([]netip.Prefix, error)
}

// Handler serves the admin panel. Every route goes through route, which
// signs the visitor in through the admin API's Guard, checks capabilities
// and the CSRF token.
type Handler struct {
	// Guard authenticates callers and holds the admin service
	// (Guard.Service) the JSON API uses too.
	Guard *api.Guard
	// Passkeys and Rules, when set, add the passkey, property and access
	// rule pages.
	Passkeys     Passkeys
	Rules        *rules.Service
	Renderer     *web.Renderer
	CSRF         *web.CSRF
	MaxFormBytes int64
	Logger       *slog.Logger
}

// New builds the panel over the admin API's Guard and service.
func New(guard *api.Guard, passkeys Passkeys, rulesSvc *rules.Service, renderer *web.Renderer, csrf *web.CSRF, maxFormBytes int64, logger *slog.Logger) *Handler {
	return &Handler{Guard: guard, Passkeys: passkeys, Rules: rulesSvc, Renderer: renderer, CSRF: csrf, MaxFormBytes: maxFormBytes, Logger: logger}
}

// service is the admin service shared with the JSON API.
func (h *Handler) service() *api.Service { return h.Guard.Service }

// call is one authorized panel request.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	c      authz.Caller
	lang   string
	csrf   string
	policy authz.Policy
}

// ctx is the request context, carrying the client address for the audit.
func (x *call) ctx() context.Context { return x.r.Context() }

// has reports whether the caller holds capability somewhere.
func (x *call) has(capability string) bool { return x.policy.Has(x.c, capability) }

// view answers one panel request; an error it returns becomes an error page.
type view func(x *call) error

// Mount registers every panel route behind its capabilities.
func (h *Handler) Mount(mux *http.ServeMux) {
	const (
		panel  = account.CapAdminPanel
		users  = account.CapManageUsers
		export = account.CapExports
	)
	h.route(mux, "GET {$}", h.home, panel)
	h.route(mux, "GET users", h.listUsers, panel, users)
	h.route(mux, "GET users/new", h.newUserPage, panel, users)
	h.route(mux, "POST users/new", h.createUser, panel, users)
	h.route(mux, "GET users/{id}", h.userPage, panel, users)
	h.route(mux, "POST users/{id}", h.updateUser, panel, users)
	h.route(mux, "POST users/{id}/status", h.userStatus, panel, users)
	h.route(mux, "POST users/{id}/delete", h.deleteUser, panel, users)
	h.route(mux, "POST users/{id}/sessions", h.endSessions, panel, users)
	h.route(mux, "POST users/{id}/sessions/{sid}/end", h.endSession, panel, users)
	h.route(mux, "POST users/{id}/memberships", h.setMembership, panel, users)
	h.route(mux, "POST users/{id}/memberships/{company}/remove", h.removeMembership, panel, users)
	if h.Passkeys != nil {
		h.route(mux, "POST users/{id}/passkeys/{cred}/revoke", h.revokePasskey, panel, users)
		h.route(mux, "POST users/{id}/enrolments", h.createEnrolment, panel, users)
		h.route(mux, "POST users/{id}/networks", h.setNetworks, panel, users)
	}
	if h.Rules != nil {
		// Property values are set per company, which the rules service
		// checks the caller administers, as the properties API does.
		h.route(mux, "POST users/{id}/properties", h.setValues, panel, users)
		h.route(mux, "GET properties", h.properties, panel)
		h.route(mux, "POST properties", h.createProperty, panel)
		h.route(mux, "POST properties/{key}", h.updateProperty, panel)
		h.route(mux, "POST properties/{key}/delete", h.deleteProperty, panel)
		h.route(mux, "GET rules", h.rulesPage, panel)
		h.route(mux, "POST rules", h.createRule, panel)
		h.route(mux, "GET rules/{id}", h.rulePage, panel)
		h.route(mux, "POST rules/{id}", h.updateRule, panel)
		h.route(mux, "POST rules/{id}/enabled", h.toggleRule, panel)
		h.route(mux, "POST rules/{id}/delete", h.deleteRule, panel)
		h.route(mux, "GET explain", h.explain, panel)
		h.route(mux, "GET import", h.importPage, panel)
		h.route(mux, "POST import", h.importPreview, panel)
		h.route(mux, "POST import/apply", h.importApply, panel)
	}
	h.route(mux, "GET invite", h.invitePage, panel, users)
	h.route(mux, "POST invite", h.invite, panel, users)
	h.route(mux, "GET companies", h.companies, panel, users)
	h.route(mux, "POST companies", h.createCompany, panel, users)
	h.route(mux, "POST companies/{id}", h.renameCompany, panel, users)
	h.route(mux, "GET sites", h.sites, panel, users)
	h.route(mux, "POST sites", h.createSite, panel, users)
	h.route(mux, "GET sites/{id}", h.sitePage, panel, users)
	h.route(mux, "POST sites/{id}", h.renameSite, panel, users)
	h.route(mux, "POST sites/{id}/members", h.setSiteMembers, panel, users)
	h.route(mux, "GET providers", h.providers, panel)
	h.route(mux, "GET tokens", h.tokens, panel, users)
	h.route(mux, "POST tokens", h.createToken, panel, users)
	h.route(mux, "POST tokens/{id}/revoke", h.revokeToken, panel, users)
	h.route(mux, "GET audit", h.audit, panel)
	h.route(mux, "GET export", h.exportPage, panel, export)
	// Anything else under the panel is a 404 for a signed-in admin, and
	// the sign-in page for anyone else, like every other panel path.
	h.route(mux, "GET /", h.notFound, panel)
}

func (h *Handler) route(mux *http.ServeMux, pattern string, fn view, caps ...string) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/")
	changes := method != http.MethodGet
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		if h.Guard.ClientIP != nil {
			r = r.WithContext(account.WithAuditIP(r.Context(), h.Guard.ClientIP(r)))
		}
		c, err := h.Guard.SessionCaller(r)
		if errors.Is(err, authz.ErrUnauthenticated) {
			h.signIn(w, r)
			return
		}
		if err != nil {
			h.Logger.Warn("admin panel: reading the caller", "err", err)
			h.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		x := &call{w: w, r: r, c: c, lang: i18n.Negotiate(c.Account.Language, r), policy: h.service().Policy}
		if changes {
			if !h.parseForm(w, r) {
				return
			}
			if !h.CSRF.Check(r) {
				h.problem(x, web.ProblemCSRF)
				return
			}
		}
		if err := h.Guard.Require(c, caps...); err != nil {
			h.problem(x, web.ProblemForbidden)
			return
		}
		x.csrf = h.CSRF.Token(w, r)
		if err := fn(x); err != nil {
			h.fail(x, err)
		}
	})
}

// parseForm reads a form post, a multipart one (a file upload) included,
// within the size limit.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return web.ParseForm(w, r, h.MaxFormBytes, h.Renderer)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.Renderer.Fail(w, r, web.ProblemTooLarge)
		} else {
			h.Renderer.Fail(w, r, web.ProblemBadRequest)
		}
		return false
	}
	return true
}

// signIn sends a signed-out visitor to the login page, back here after.
// A form post cannot be replayed after sign-in, so it returns to the
// page the form came from: the panel's start.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	target := Prefix
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		target = r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
	}
	http.Redirect(w, r, "/.gatehouse/login?rd="+url.QueryEscape(target), http.StatusFound)
}

// problem renders an error page in the caller's language.
func (h *Handler) problem(x *call, p web.Problem) {
	page := h.Renderer.Page(x.lang, "")
	page.Title = page.T(p.TitleKey)
	page.Error = page.T(p.MsgKey)
	h.Renderer.Render(x.w, p.Status, "error", page)
}

// fail turns an error a view returned into an error page; the detail goes
// to the log only.
func (h *Handler) fail(x *call, err error) {
	var ae *httpapi.Error
	switch {
	case errors.Is(err, authz.ErrForbidden), errors.Is(err, account.ErrSelfAction):
		h.problem(x, web.ProblemForbidden)
	case errors.Is(err, store.ErrNotFound):
		h.problem(x, web.ProblemNotFound)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		h.problem(x, web.ProblemNotFound)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, api.ErrTokensUnavailable):
		h.problem(x, web.ProblemUnavailable)
	default:
		h.Logger.Error("admin panel", "method", x.r.Method, "path", x.r.URL.Path, "err", err)
		h.problem(x, web.ProblemInternal)
	}
}

func (h *Handler) notFound(x *call) error { return store.ErrNotFound }

func (h *Handler) home(x *call) error {
	if x.has(account.CapManageUsers) {
		http.Redirect(x.w, x.r, Prefix+"users", http.StatusSeeOther)
		return nil
	}
	http.Redirect(x.w, x.r, Prefix+"audit", http.StatusSeeOther)
	return nil
}

// nav is what the navigation bar shows the caller.
type nav struct {
	Section      string
	Users        bool
	Export       bool
	Integration  bool
	Props        bool // the properties and access rules pages
	FullAdmin    bool
	Name         string
	Email        string
	Language     string
	DateFormat   string
	CompanyCount int
}

// pageData is Page.Data for every panel page.
type pageData struct {
	Nav      nav
	Problems []string // translated validation problems of the submitted form
	Body     any
}

// render shows a section of the panel.
func (h *Handler) render(x *call, status int, section, titleKey string, body any, problems []string) {
	page := h.Renderer.Page(x.lang, x.csrf)
	page.Title = page.T(titleKey)
	page.MainClass = "wide admin"
	page.Notice, page.Error = h.flash(x)
	page.Data = pageData{
		Nav: nav{
			Section: section, Users: x.has(account.CapManageUsers), Export: x.has(account.CapExports),
			Integration: x.has(account.CapIntegrationLogs), FullAdmin: x.policy.IsFullAdmin(x.c), Props: h.Rules != nil,
			Name: account.DisplayName(x.c.Account), Email: x.c.Account.Email,
		},
		Problems: problems,
		Body:     body,
	}
	h.Renderer.Render(x.w, status, template, page)
}

// flash reads the notice or error a redirect after a change carries as
// ?notice=code or ?error=code. Only codes with a catalogue message show,
// so a crafted link cannot put arbitrary text on the page.
func (h *Handler) flash(x *call) (notice, failure string) {
	q := x.r.URL.Query()
	msg := func(prefix, code string) string {
		if code == "" || strings.ContainsAny(code, " ./") {
			return ""
		}
		key := prefix + code
		text := h.Renderer.Catalog.T(x.lang, key)
		if text == key {
			return ""
		}
		for _, name := range []string{"n", "existing", "failed"} {
			if v := q.Get(name); v != "" {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					text = strings.ReplaceAll(text, "{"+name+"}", strconv.Itoa(n))
				}
			}
		}
		return text
	}
	return msg("admin.notice.", q.Get("notice")), msg("admin.error.", q.Get("error"))
}

// redirect ends a successful change: 303 back to a page with a notice.
func redirect(x *call, path, notice string, args ...string) {
	q := url.Values{}
	if notice != "" {
		q.Set("notice", notice)
	}
	for i := 0; i+1 < len(args); i += 2 {
		q.Set(args[i], args[i+1])
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(x.w, x.r, target, http.StatusSeeOther)
}

// redirectError ends a refused change: 303 back with an error code.
func redirectError(x *call, path, code string) {
	http.Redirect(x.w, x.r, path+"?error="+url.QueryEscape(code), http.StatusSeeOther)
}

// refusal maps the account rules' refusals to a flash error code; ok is
// false for any other error.
func refusal(err error) (string, bool) {
	var ce *account.ConflictError
	switch {
	case errors.Is(err, account.ErrSelfAction):
		return "self_action", true
	case errors.Is(err, account.ErrLastAdmin):
		return "last_admin", true
	case errors.Is(err, account.ErrInvalidTransition):
		return "invalid_transition", true
	case errors.As(err, &ce), errors.Is(err, store.ErrConflict):
		return "conflict", true
	}
	return "", false
}

// problems translates validation problems for the page: a known code has a
// catalogue message, prefixed by the field's label; anything else keeps
// the service's English message so no problem goes unexplained.
func (h *Handler) problems(x *call, err error) ([]string, bool) {
	var ve *account.ValidationError
	var ce *account.ConflictError
	switch {
	case errors.As(err, &ve):
	case errors.As(err, &ce):
		ve = &account.ValidationError{Problems: []account.FieldProblem{{Field: ce.Field, Code: "conflict", Message: ce.Message}}}
	default:
		return nil, false
	}
	cat := h.Renderer.Catalog
	out := make([]string, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		field, _, _ := strings.Cut(p.Field, "[")
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		label := cat.T(x.lang, "admin.field."+field)
		if label == "admin.field."+field {
			label = p.Field
		}
		text := cat.T(x.lang, "admin.problem."+p.Code)
		if text == "admin.problem."+p.Code || p.Code == "invalid" || p.Code == "not_allowed" || p.Code == "unknown" {
			// These codes cover many cases; the service's message says which.
			text = p.Message
		}
		out = append(out, label+": "+text)
	}
	return out, true
}

// Date layouts of the two date formats an account may choose.
var dateLayouts = map[string]string{
	"MM/DD/YYYY": "01/02/2006",
	"DD/MM/YYYY": "02/01/2006",
}

// formatDate shows t in the viewer's date format (UTC, as stored).
func formatDate(t time.Time, format string) string {
	if t.IsZero() {
		return ""
	}
	layout, ok := dateLayouts[format]
	if !ok {
		layout = dateLayouts["MM/DD/YYYY"]
	}
	return t.UTC().Format(layout)
}

// formatTime shows t as a date in the viewer's format and a UTC time.
func formatTime(t time.Time, format string) string {
	if t.IsZero() {
		return ""
	}
	return formatDate(t, format) + " " + t.UTC().Format("15:04") + " UTC"
}

func (x *call) date(t time.Time) string { return formatDate(t, x.c.Account.DateFormat) }
func (x *call) time(t time.Time) string { return formatTime(t, x.c.Account.DateFormat) }
