package gate

import (
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/redirect"
)

// HandlerDeps is what the gate's handler needs, given to NewHandler at once.
type HandlerDeps struct {
	Gate *Gate
	// Pages shows a refusal the way the client asked for it (an HTML page
	// for a browser navigation, the JSON error otherwise).
	Pages     Pages
	PublicURL string // without a trailing slash
	// Observe, when set, is told the outcome of every routed request.
	// It gets the response writer the handler was given, so a wrapper of
	// the server's can record the route without a context value.
	Observe func(w http.ResponseWriter, route *proxy.Route, outcome Outcome)
	// ObserveUpstream, when set, is told how long a forwarded request took.
	ObserveUpstream func(route *proxy.Route, d time.Duration)
	Now             func() time.Time
}

// Handler serves routed paths (everything outside /.gatehouse/) and the
// forward-auth endpoint.
type Handler struct{ d HandlerDeps }

// NewHandler builds the gate's handler, complete.
func NewHandler(d HandlerDeps) *Handler { return &Handler{d: d} }

// Pages shows the refusals of routed requests; the server's page
// renderer is one.
type Pages interface {
	Refuse(w http.ResponseWriter, r *http.Request, o Outcome)
}

// ServeHTTP forwards the request when the gate allows it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := h.d.Gate.Decide(r.Context(), r, r.Host, r.URL.EscapedPath())
	if h.d.Observe != nil {
		h.d.Observe(w, d.Route, d.Outcome)
	}
	switch d.Outcome {
	case Allow:
		if h.d.ObserveUpstream == nil {
			d.Route.Forward(w, r, d.Identity)
			return
		}
		start := h.d.Now()
		d.Route.Forward(w, r, d.Identity)
		h.d.ObserveUpstream(d.Route, h.d.Now().Sub(start))
	case SignIn:
		if !navigate(w, r, redirect.LoginURL, "", withQuery(d.Path, r.URL.RawQuery)) {
			httpapi.WriteError(w, http.StatusUnauthorized, "unauthenticated", "sign in to reach this application")
		}
	case Terms:
		if !navigate(w, r, redirect.TermsURL, "", withQuery(d.Path, r.URL.RawQuery)) {
			termsRefused(w)
		}
	default:
		h.fail(w, r, d.Outcome)
	}
}

// navigate sends a browser navigation (Accept names text/html) to a
// gateway page, page(base, target), that returns it to target afterwards,
// and reports whether it did.
func navigate(w http.ResponseWriter, r *http.Request, page func(base, target string) string, base, target string) bool {
	if !httpapi.WantsHTML(r) {
		return false
	}
	http.Redirect(w, r, page(base, target), http.StatusFound)
	return true
}

// withQuery joins the checked path and the raw query.
func withQuery(path, rawQuery string) string {
	if rawQuery == "" {
		return path
	}
	return path + "?" + rawQuery
}

// forwardedOrigin is the scheme and host the front proxy says the browser
// used; anything but https counts as http.
func forwardedOrigin(r *http.Request, host string) string {
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto != "https" {
		proto = "http"
	}
	return proto + "://" + host
}

// termsRefused answers a request that is not a browser navigation while
// the terms of use wait for acceptance.
func termsRefused(w http.ResponseWriter) {
	httpapi.WriteError(w, http.StatusForbidden, "terms_not_accepted", "accept the terms of use at "+redirect.TermsPath+" first")
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, o Outcome) {
	h.d.Pages.Refuse(w, r, o)
}

// Verify is the forward-auth endpoint for nginx auth_request, Traefik
// forwardAuth and Caddy forward_auth. The front proxy tells which request
// it is asking about with X-Forwarded-Method, -Proto, -Host and -Uri; the
// decision is made on that request's normalised path and host exactly as
// if it had come through the gateway.
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(uri, "/") {
		h.fail(w, r, BadPath)
		return
	}
	d := h.d.Gate.Decide(r.Context(), r, host, u.EscapedPath())
	if h.d.Observe != nil {
		h.d.Observe(w, d.Route, d.Outcome)
	}
	switch d.Outcome {
	case Allow:
		if d.Identity != nil {
			d.Identity.SetHeaders(w.Header())
		} else {
			// A public route without a session: answer the identity
			// headers empty, so a front proxy that copies them replaces
			// whatever the client sent under those names.
			for _, name := range proxy.IdentityHeaderNames() {
				w.Header()[name] = []string{""}
			}
		}
		w.WriteHeader(http.StatusOK)
	case SignIn:
		if !navigate(w, r, redirect.LoginURL, h.d.PublicURL, forwardedOrigin(r, host)+withQuery(d.Path, u.RawQuery)) {
			httpapi.WriteError(w, http.StatusUnauthorized, "unauthenticated", "sign in to reach this application")
		}
	case Terms:
		if !navigate(w, r, redirect.TermsURL, h.d.PublicURL, forwardedOrigin(r, host)+withQuery(d.Path, u.RawQuery)) {
			termsRefused(w)
		}
	default:
		h.fail(w, r, d.Outcome)
	}
}
