package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/httperr"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Endpoint is one admin call: it gets the authenticated caller, parses
// the request, calls the service and answers, or returns an error the
// Guard turns into the JSON error shape.
type Endpoint func(w http.ResponseWriter, r *http.Request, c authz.Caller) error

// Guard is the one way into the admin API. It authenticates the caller
// (an API token in "Authorization: Bearer", or the browser session plus
// the X-CSRF-Token header for changes), lets the service refuse the
// operation before the body is read, and writes errors in the contract's
// JSON shape. Authorization itself is the service's: every operation
// checks its caller again, with its target.
type Guard struct {
	Service *adminsvc.Service
	CSRF    *web.CSRF
	// Catalog holds the error messages.
	Catalog  *i18n.Catalog
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
}

// Handle registers fn at method+" "+Prefix+path (pattern is "GET
// accounts/{id}") as operation op. The client IP is put in the request
// context (account.AuditIP) for the audit log.
func (g *Guard) Handle(mux *http.ServeMux, pattern string, op adminsvc.Op, fn Endpoint) {
	method, path, _ := strings.Cut(pattern, " ")
	changes := method != http.MethodGet && method != http.MethodHead
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(account.WithAuditIP(r.Context(), g.ClientIP(r)))
		c, err := g.Authenticate(r)
		if err != nil {
			g.Fail(w, r, err)
			return
		}
		// A token is no browser's: only a session needs the CSRF header.
		csrfOK := c.Via != authz.ViaSession || g.CSRF.Check(r)
		if err := g.Service.Admit(r.Context(), c, op, r.PathValue("id"), changes, csrfOK); err != nil {
			g.Fail(w, r, err)
			return
		}
		if err := fn(w, r, c); err != nil {
			g.Fail(w, r, err)
		}
	})
}

// Authenticate finds the caller: an API token when the request carries an
// Authorization header, the browser session otherwise.
func (g *Guard) Authenticate(r *http.Request) (authz.Caller, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return g.Service.SessionCaller(r)
	}
	scheme, secret, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	ctx := r.Context()
	t, err := g.Service.Authenticate(ctx, strings.TrimSpace(secret))
	if err != nil {
		return authz.Caller{}, err
	}
	return g.Service.LoadCaller(ctx, t.AccountID, authz.ViaToken, t.ID)
}

// Fail writes err as the contract's JSON error, with the status and code
// of httperr's table and its message from the catalogue in the caller's
// language; the detail of an unexpected error goes to the log only.
func (g *Guard) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		be    httpapi.BodyError
		inUse *rules.InUseError
	)
	if errors.As(err, &be) {
		httpapi.WriteJSON(w, be.StatusCode(), be.Body())
		return
	}
	a := httperr.For(err)
	if a.Unexpected() {
		g.Logger.Error("admin API", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if a.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if errors.As(err, &inUse) {
		var b inUseBody
		b.Error.ErrorDetail = a.JSONDetail(g.Catalog, i18n.Negotiate("", r))
		b.Error.Rules = inUse.Rules
		httpapi.WriteJSON(w, a.Status, b)
		return
	}
	a.WriteJSON(w, r, g.Catalog)
}

// inUseBody adds the rules that use a property to the error shape.
type inUseBody struct {
	Error struct {
		httpapi.ErrorDetail
		Rules []rules.RuleRef `json:"rules"`
	} `json:"error"`
}
