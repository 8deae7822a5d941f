// Package web is what every gateway page shares: templates rendered into a
// buffer, error pages, CSRF and form parsing. Features import it; it imports no feature.
package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/httpapi"

	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/templates"
)

// Page is what every template receives. Templates call {{.T "key"}} for
// text, so every word on a page comes from the message catalogues.
type Page struct {
	Lang      string
	CSRF      string
	Title     string
	Error     string
	Notice    string
	MainClass string
	Data      any

	catalog *i18n.Catalog
}

// T translates key into the page's language.
func (p Page) T(key string) string { return p.catalog.T(p.Lang, key) }

// Renderer holds every page template, parsed once at start.
type Renderer struct {
	pages   map[string]*template.Template
	Catalog *i18n.Catalog
	logger  *slog.Logger
	// CSRF, when set, gives error pages their csrf-token too, so every
	// page the gateway serves carries one.
	CSRF *CSRF
	// csp is the policy of every page; SetFormAction replaces it when the
	// identity providers change.
	csp atomic.Pointer[string]
}

// NewRenderer parses layout.html with each other page of templates.FS.
// formAction lists the sources, besides the gateway's own origin, that a
// gateway form may lead to through the redirect answering it (see
// ContentSecurityPolicy).
func NewRenderer(catalog *i18n.Catalog, logger *slog.Logger, formAction ...string) (*Renderer, error) {
	r, err := newRenderer(templates.FS, catalog, logger)
	if err != nil {
		return nil, err
	}
	r.SetFormAction(formAction...)
	return r, nil
}

// SetFormAction replaces the sources besides 'self' that forms may lead
// to, for identity providers added or removed while the gateway runs.
func (rn *Renderer) SetFormAction(formAction ...string) {
	csp := ContentSecurityPolicy(formAction)
	rn.csp.Store(&csp)
}

// ContentSecurityPolicy is the policy of every gateway page. Scripts and
// styles come from the gateway's own files only (no inline code of
// either kind, so injected markup can neither run nor restyle a page into
// a phishing form). Browsers also apply form-action to the redirects that
// answer a form, so it lists, besides 'self', where the gateway's forms
// send the browser on: the apps on other hosts that sign-in returns to,
// and the identity providers that sign-out continues at.
func ContentSecurityPolicy(formAction []string) string {
	var b strings.Builder
	b.WriteString("default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	for _, src := range formAction {
		b.WriteByte(' ')
		b.WriteString(src)
	}
	return b.String()
}

func newRenderer(fsys fs.FS, catalog *i18n.Catalog, logger *slog.Logger) (*Renderer, error) {
	layout, err := template.ParseFS(fsys, "layout.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, Catalog: catalog, logger: logger}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		r.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return r, nil
}

// Page returns a Page in lang whose T uses the renderer's catalogue.
func (rn *Renderer) Page(lang, csrf string) Page {
	return Page{Lang: lang, CSRF: csrf, catalog: rn.Catalog}
}

// Render executes the named page into a buffer and only then writes it, so
// a template error becomes a clean 500 instead of half a page.
func (rn *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) {
	if p.catalog == nil {
		p.catalog = rn.Catalog
	}
	t, ok := rn.pages[name]
	var buf bytes.Buffer
	if !ok {
		rn.logger.Error("unknown template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		rn.logger.Error("rendering template", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if csp := rn.csp.Load(); csp != nil {
		h.Set("Content-Security-Policy", *csp)
	} else {
		h.Set("Content-Security-Policy", ContentSecurityPolicy(nil))
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Problem is an error page: the status, a JSON code and the catalogue keys
// of its title and message.
type Problem struct {
	Status   int
	Code     string
	TitleKey string
	MsgKey   string
}

// Error makes a Problem an error of its own, for a feature whose answer
// is none of the general ones: httperr answers it as it stands.
func (p Problem) Error() string { return p.Code }

// Problems the gateway answers with.
var (
	ProblemBadRequest  = Problem{http.StatusBadRequest, "bad_request", "error.title", "error.bad_request"}
	ProblemCSRF        = Problem{http.StatusForbidden, "csrf", "error.title", "error.csrf"}
	ProblemForbidden   = Problem{http.StatusForbidden, "forbidden", "error.forbidden.title", "error.forbidden"}
	ProblemNotFound    = Problem{http.StatusNotFound, "not_found", "error.title", "error.not_found"}
	ProblemTooLarge    = Problem{http.StatusRequestEntityTooLarge, "too_large", "error.title", "error.too_large"}
	ProblemTooMany     = Problem{http.StatusTooManyRequests, "rate_limited", "error.title", "error.too_many"}
	ProblemUnavailable = Problem{http.StatusServiceUnavailable, "unavailable", "error.unavailable.title", "error.unavailable"}
	ProblemBadGateway  = Problem{http.StatusBadGateway, "bad_gateway", "error.bad_gateway.title", "error.bad_gateway"}
	ProblemTimeout     = Problem{http.StatusGatewayTimeout, "gateway_timeout", "error.bad_gateway.title", "error.bad_gateway"}
	ProblemInternal    = Problem{http.StatusInternalServerError, "internal", "error.title", "error.internal"}
)

// Fail answers with p: an HTML page for browsers, JSON for everything else.
func (rn *Renderer) Fail(w http.ResponseWriter, r *http.Request, p Problem) {
	lang := i18n.Negotiate("", r)
	if httpapi.WantsHTML(r) {
		page := rn.Page(lang, rn.csrfToken(w, r))
		page.Title = page.T(p.TitleKey)
		page.Error = page.T(p.MsgKey)
		rn.Render(w, p.Status, "error", page)
		return
	}
	httpapi.WriteError(w, p.Status, p.Code, rn.Catalog.T(lang, p.MsgKey))
}

// FailKey answers with an HTML error page whose message is the
// catalogue's text of key in the request's language, each {name} of the
// vars pairs (name, value) filled in, for flows such as SSO callbacks.
// There is no way to show a message that is not in the catalogues.
func (rn *Renderer) FailKey(w http.ResponseWriter, r *http.Request, status int, key string, vars ...string) {
	page := rn.Page(i18n.Negotiate("", r), rn.csrfToken(w, r))
	page.Title = page.T("error.title")
	page.Error = Fill(page.T(key), vars...)
	rn.Render(w, status, "error", page)
}

// Fill replaces each {name} of msg by its value; vars are (name, value)
// pairs.
func Fill(msg string, vars ...string) string {
	for i := 0; i+1 < len(vars); i += 2 {
		msg = strings.ReplaceAll(msg, "{"+vars[i]+"}", vars[i+1])
	}
	return msg
}

func (rn *Renderer) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if rn.CSRF == nil {
		return ""
	}
	return rn.CSRF.Token(w, r)
}
