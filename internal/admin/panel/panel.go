// Package panel is the HTML admin panel (/.gatehouse/admin/) over the admin
// API's service layer, and the terms-of-use interstitial shown after sign-in.
package panel

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/httperr"
	"github.com/gatehouse/gatehouse/internal/i18n"
	rdurl "github.com/gatehouse/gatehouse/internal/redirect" // the panel has a redirect helper of its own
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Prefix is where the panel lives.
const Prefix = "/.gatehouse/admin/"

// ExportURL is the accounts export (the JSON API's accounts.csv) the
// panel's export button downloads.
const ExportURL = "/.gatehouse/api/v1/accounts.csv"

// template is the one page template of the panel: every section is a
// named block inside it, so they all share the admin navigation.
const template = "admin_panel"

// Deps is what the panel needs, given to New at once.
type Deps struct {
	Service      *adminsvc.Service
	Renderer     *web.Renderer
	CSRF         *web.CSRF
	ClientIP     func(*http.Request) string
	MaxFormBytes int64
	// MaxImport bounds a CSV import upload (default 5 MiB).
	MaxImport int64
	Logger    *slog.Logger
	// PasskeysOn: workstation enrolment links can be used (passkeys are
	// off on an IP public_url), so the panel offers them.
	PasskeysOn bool
}

// Handler serves the admin panel over the admin service. Every route goes
// through route, which signs the visitor in, checks the CSRF token of a
// change and lets the service refuse the operation the route performs; the
// views parse the form, call the service and render.
type Handler struct{ d Deps }

// New builds the panel, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

// call is one authorized panel request.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	c    authz.Caller
	lang string
	csrf string
	// invalid names the form fields the problems shown are about, so the
	// page can mark them (aria-invalid) and point them at the summary.
	invalid []string
}

// ctx is the request context, carrying the client address for the audit.
func (x *call) ctx() context.Context { return x.r.Context() }

// view answers one panel request; an error it returns becomes an error page.
type view func(x *call) error

// Mount registers every panel route, each as the service operation it
// performs.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, rt := range []struct {
		pattern string
		op      adminsvc.Op
		fn      view
	}{
		{"GET {$}", adminsvc.OpPanel, h.home},
		{"GET users", adminsvc.OpAccountList, h.listUsers},
		{"GET users/new", adminsvc.OpAccountCreate, h.newUserPage},
		{"POST users/new", adminsvc.OpAccountCreate, h.createUser},
		{"GET users/{id}", adminsvc.OpAccountGet, h.userPage},
		{"POST users/{id}", adminsvc.OpAccountUpdate, h.updateUser},
		// The form names the lifecycle action; the service records it.
		{"POST users/{id}/status", adminsvc.OpAccountUpdate, h.userStatus},
		{"POST users/{id}/delete", adminsvc.OpAccountDelete, h.deleteUser},
		{"POST users/{id}/invitation", adminsvc.OpInvitationResend, h.resendInvitation},
		{"POST users/{id}/sessions", adminsvc.OpSessionsEnd, h.endSessions},
		{"POST users/{id}/sessions/{sid}/end", adminsvc.OpSessionEnd, h.endSession},
		{"POST users/{id}/memberships", adminsvc.OpMembershipSet, h.setMembership},
		{"POST users/{id}/memberships/{company}/remove", adminsvc.OpMembershipRemove, h.removeMembership},
		{"POST users/{id}/passkeys/{cred}/revoke", adminsvc.OpPasskeyRevoke, h.revokePasskey},
		{"POST users/{id}/enrolments", adminsvc.OpEnrolmentCreate, h.createEnrolment},
		{"POST users/{id}/mfa/reset", adminsvc.OpMFAReset, h.resetSecondFactor},
		{"POST users/{id}/networks", adminsvc.OpNetworksSet, h.setNetworks},
		{"POST users/{id}/properties", adminsvc.OpValuesSet, h.setValues},
		{"GET properties", adminsvc.OpPropertyList, h.properties},
		{"POST properties", adminsvc.OpPropertyCreate, h.createProperty},
		{"POST properties/{key}", adminsvc.OpPropertyUpdate, h.updateProperty},
		{"POST properties/{key}/delete", adminsvc.OpPropertyDelete, h.deleteProperty},
		{"GET rules", adminsvc.OpRuleList, h.rulesPage},
		{"POST rules", adminsvc.OpRuleCreate, h.createRule},
		{"GET rules/{id}", adminsvc.OpRuleGet, h.rulePage},
		{"POST rules/{id}", adminsvc.OpRuleUpdate, h.updateRule},
		{"POST rules/{id}/enabled", adminsvc.OpRuleUpdate, h.toggleRule},
		{"POST rules/{id}/delete", adminsvc.OpRuleDelete, h.deleteRule},
		{"GET explain", adminsvc.OpRuleExplain, h.explain},
		{"GET import", adminsvc.OpValuesImportPreview, h.importPage},
		{"POST import", adminsvc.OpValuesImportPreview, h.importPreview},
		{"POST import/apply", adminsvc.OpValuesImport, h.importApply},
		{"GET invite", adminsvc.OpInvite, h.invitePage},
		{"POST invite", adminsvc.OpInvite, h.invite},
		{"GET companies", adminsvc.OpCompanyList, h.companies},
		{"POST companies", adminsvc.OpCompanyCreate, h.createCompany},
		{"POST companies/{id}", adminsvc.OpCompanyRename, h.renameCompany},
		{"GET sites", adminsvc.OpSiteList, h.sites},
		{"POST sites", adminsvc.OpSiteCreate, h.createSite},
		{"GET sites/{id}", adminsvc.OpSiteMembers, h.sitePage},
		{"POST sites/{id}", adminsvc.OpSiteRename, h.renameSite},
		{"POST sites/{id}/members", adminsvc.OpSiteMembersSet, h.setSiteMembers},
		{"GET providers", adminsvc.OpProviderList, h.providers},
		{"POST providers", adminsvc.OpProviderCreate, h.createProvider},
		{"GET providers/guides/{type}", adminsvc.OpProviderList, h.providerGuide},
		{"GET providers/{id}", adminsvc.OpProviderGet, h.providerPage},
		{"POST providers/{id}", adminsvc.OpProviderUpdate, h.updateProvider},
		{"POST providers/{id}/disable", adminsvc.OpProviderDisable, h.setProviderEnabled(false)},
		{"POST providers/{id}/enable", adminsvc.OpProviderEnable, h.setProviderEnabled(true)},
		{"POST providers/{id}/delete", adminsvc.OpProviderDelete, h.deleteProvider},
		{"POST providers/{id}/test", adminsvc.OpProviderTest, h.startProviderTest},
		{"GET providers/{id}/test/{rid}", adminsvc.OpProviderTest, h.providerTestResult},
		{"GET tokens", adminsvc.OpTokenList, h.tokens},
		{"POST tokens", adminsvc.OpTokenCreate, h.createToken},
		{"POST tokens/{id}/revoke", adminsvc.OpTokenRevoke, h.revokeToken},
		{"GET audit", adminsvc.OpAuditList, h.audit},
		{"GET export", adminsvc.OpAccountExport, h.exportPage},
		// Anything else under the panel is a 404 for a signed-in admin, and
		// the sign-in page for anyone else, like every other panel path.
		{"GET /", adminsvc.OpPanel, h.notFound},
	} {
		h.route(mux, rt.pattern, rt.op, rt.fn)
	}
}

func (h *Handler) route(mux *http.ServeMux, pattern string, op adminsvc.Op, fn view) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/")
	changes := method != http.MethodGet
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		if h.d.ClientIP != nil {
			r = r.WithContext(account.WithAuditIP(r.Context(), h.d.ClientIP(r)))
		}
		c, err := h.d.Service.SessionCaller(r)
		if errors.Is(err, authz.ErrUnauthenticated) {
			h.signIn(w, r)
			return
		}
		if err != nil {
			h.d.Logger.Warn("admin panel: reading the caller", "err", err)
			h.d.Renderer.Fail(w, r, web.ProblemUnavailable)
			return
		}
		x := &call{w: w, r: r, c: c, lang: i18n.Negotiate(c.Account.Language, r)}
		if changes && !h.parseForm(w, r) {
			return
		}
		if err := h.d.Service.Admit(r.Context(), c, op, r.PathValue("id"), changes, changes && h.d.CSRF.Check(r)); errors.Is(err, apperr.ErrCSRF) {
			h.problem(x, web.ProblemCSRF)
			return
		} else if err != nil {
			h.problem(x, web.ProblemForbidden)
			return
		}
		x.csrf = h.d.CSRF.Token(w, r)
		if err := fn(x); err != nil {
			h.fail(x, err)
		}
	})
}

// parseForm reads a form post, a multipart one (a file upload) included,
// within the size limit.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return web.ParseForm(w, r, h.d.MaxFormBytes, h.d.Renderer)
	}
	limit := h.d.MaxImport
	if limit <= 0 {
		limit = maxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(limit); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.d.Renderer.Fail(w, r, web.ProblemTooLarge)
		} else {
			h.d.Renderer.Fail(w, r, web.ProblemBadRequest)
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
	http.Redirect(w, r, rdurl.LoginURL("", target), http.StatusFound)
}

// problem renders an error page in the caller's language inside the
// panel's layout, so a signed-in visitor keeps the navigation (or, when
// they may not use the panel at all, their account and sign-out links).
func (h *Handler) problem(x *call, p web.Problem) {
	if x.csrf == "" {
		x.csrf = h.d.CSRF.Token(x.w, x.r)
	}
	msg := p.MsgKey
	if key, ok := panelProblems[p.Code]; ok {
		msg = key
	}
	page := h.page(x, "error", p.TitleKey, nil, nil)
	page.Notice, page.Error = "", page.T(msg)
	h.d.Renderer.Render(x.w, p.Status, template, page)
}

// panelProblems words the problems whose gateway-wide message would
// mislead inside the panel ("no application at this address").
var panelProblems = map[string]string{
	web.ProblemNotFound.Code:  "panel_error.not_found",
	web.ProblemForbidden.Code: "panel_error.forbidden",
}

// fail turns an error a view returned into the error page httperr's table
// gives it; the detail of an unexpected error goes to the log only.
func (h *Handler) fail(x *call, err error) {
	a := httperr.For(err)
	if a.Unexpected() {
		h.d.Logger.Error("admin panel", "method", x.r.Method, "path", x.r.URL.Path, "err", err)
	}
	h.problem(x, a.Problem)
}

func (h *Handler) notFound(x *call) error { return store.ErrNotFound }

// home is the dashboard: what an administrator checks first.
func (h *Handler) home(x *call) error { return h.dashboard(x) }

// nav is what the navigation bar shows the caller.
type nav struct {
	Section      string
	Panel        bool // the caller may use the panel at all
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
	Invalid  []string // the names of the fields those problems are about
	Body     any
	// Label says a code in words: {{call $.Data.Label "role" .Role}}.
	Label func(kind, code string) string
}

// render shows a section of the panel.
func (h *Handler) render(x *call, status int, section, titleKey string, body any, problems []string) {
	h.d.Renderer.Render(x.w, status, template, h.page(x, section, titleKey, body, problems))
}

// page is a section of the panel with its navigation.
func (h *Handler) page(x *call, section, titleKey string, body any, problems []string) web.Page {
	page := h.d.Renderer.Page(x.lang, x.csrf)
	page.Title = page.T(titleKey)
	page.MainClass = "wide admin"
	page.Notice, page.Error = h.flash(x)
	page.Data = pageData{
		Nav: nav{
			Section: section, Panel: h.d.Service.Can(x.c, adminsvc.OpPanel),
			Users: h.d.Service.Can(x.c, adminsvc.OpAccountList), Export: h.d.Service.Can(x.c, adminsvc.OpAccountExport),
			Integration: h.d.Service.SeesIntegrationLogs(x.c), FullAdmin: h.d.Service.CreatesCompanies(x.c),
			Props: h.d.Service.Rules != nil && h.d.Service.Can(x.c, adminsvc.OpPropertyList),
			Name:  account.DisplayName(x.c.Account), Email: x.c.Account.Email,
		},
		Problems: problems,
		Invalid:  x.invalid,
		Body:     body,
		Label:    h.labeler(x).Label,
	}
	return page
}

// flash reads the notice or error a redirect after a change carries as
// ?notice=code or ?error=code. Only codes with a catalogue message show,
// so a crafted link cannot put arbitrary text on the page: a count (n) is
// a number, said with the language's plural rules, and an account named
// (had, unsent) is an id the caller may see, shown by its address.
func (h *Handler) flash(x *call) (notice, failure string) {
	q := x.r.URL.Query()
	cat := h.d.Renderer.Catalog
	msg := func(prefix, code string) string {
		if code == "" || strings.ContainsAny(code, " ./") {
			return ""
		}
		key := prefix + code
		if _, counted := cat.Lookup("en", key+".other"); counted {
			n, err := strconv.Atoi(q.Get("n"))
			if err != nil || n < 0 {
				return ""
			}
			return cat.N(x.lang, key, n)
		}
		if text, ok := cat.Lookup(x.lang, key); ok {
			return text
		}
		return ""
	}
	notice = msg("admin.notice.", q.Get("notice"))
	if notice != "" {
		for _, list := range []struct{ param, key string }{{"had", "admin.notice.invited_existing"}, {"unsent", "admin.notice.invited_unsent"}} {
			if emails := h.flashAccounts(x, q[list.param]); len(emails) > 0 {
				notice += " " + cat.T(x.lang, list.key) + " " + strings.Join(emails, ", ")
			}
		}
	}
	return notice, msg("admin.error.", q.Get("error"))
}

// flashAccounts shows the addresses of the accounts ids names that the
// caller may see; others are left out, as if the link did not name them.
func (h *Handler) flashAccounts(x *call, ids []string) []string {
	var out []string
	for _, id := range ids[:min(len(ids), adminsvc.MaxInvitations)] {
		if a, err := h.d.Service.GetAccount(x.ctx(), x.c, id); err == nil {
			out = append(out, a.Email)
		}
	}
	return out
}

// redirect ends a successful change: 303 back to a page with a notice.
func redirect(x *call, path, notice string, args ...string) {
	q := url.Values{}
	if notice != "" {
		q.Set("notice", notice)
	}
	for i := 0; i+1 < len(args); i += 2 {
		q.Add(args[i], args[i+1])
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

// refusal is the flash error code (admin.error.<code>) of a refusal in
// httperr's table, the same code the API answers with; ok is false for
// any other error.
func refusal(err error) (string, bool) {
	a := httperr.For(err)
	return a.Code, a.Refusal
}

// problems translates validation problems for the page, each prefixed by
// the field's label: the problem's own sentence from the catalogue, else
// the catalogue's message for its code, else the service's English message
// so no problem goes unexplained.
func (h *Handler) problems(x *call, err error) ([]string, bool) {
	var ve *validation.Error
	var ce *account.ConflictError
	var rl *apperr.RateLimitError
	switch {
	case errors.As(err, &rl):
		return []string{httperr.For(err).Message(h.d.Renderer.Catalog, x.lang)}, true
	case errors.As(err, &ve):
	case errors.As(err, &ce):
		ve = &validation.Error{Problems: []validation.Problem{{Field: ce.Field, Code: "conflict", Message: ce.Message}}}
	default:
		return nil, false
	}
	cat := h.d.Renderer.Catalog
	out := make([]string, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		field, _, _ := strings.Cut(p.Field, "[")
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		x.invalid = append(x.invalid, field)
		label := cat.T(x.lang, "admin.field."+field)
		if label == "admin.field."+field {
			label = p.Field
		}
		out = append(out, label+": "+h.problemText(x, p))
	}
	return out, true
}

// problemText is one problem in the caller's language (see problems).
func (h *Handler) problemText(x *call, p validation.Problem) string {
	cat := h.d.Renderer.Catalog
	translate := func(key string) (string, bool) { return cat.Lookup(x.lang, key) }
	if _, ok := translate(validation.MessageKey(p.Format)); ok {
		return p.Localize(translate)
	}
	if text, ok := translate("admin.problem." + p.Code); ok && p.Code != "invalid" && p.Code != "not_allowed" && p.Code != "unknown" {
		// These three codes cover many cases; only the message says which.
		return text
	}
	if text, ok := translate("reset.policy." + p.Code); ok {
		return text
	}
	return p.Message
}

func (x *call) date(t time.Time) string {
	return dateformat.Date(t, x.c.Account.DateFormat, x.c.Account.TimeZone)
}
func (x *call) time(t time.Time) string {
	return dateformat.Time(t, x.c.Account.DateFormat, x.c.Account.TimeZone)
}
