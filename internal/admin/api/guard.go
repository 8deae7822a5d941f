package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
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
	Service  *adminsvc.Service
	CSRF     *web.CSRF
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
		if err := g.Service.Admit(r.Context(), c, op, r.PathValue("id"), changes, csrfOK); errors.Is(err, adminsvc.ErrCSRF) {
			httpapi.WriteError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header")
			return
		} else if err != nil {
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

// Fail writes err as the contract's JSON error; the detail of an
// unexpected error goes to the log only.
func (g *Guard) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *httpapi.Error
		be httpapi.BodyError
		ve *validation.Error
		ce *account.ConflictError
		te *account.TransitionError
	)
	var (
		inUse  *rules.InUseError
		tooBig *http.MaxBytesError
		rl     *adminsvc.RateLimitError
	)
	switch {
	case errors.As(err, &be):
		httpapi.WriteJSON(w, be.StatusCode(), be.Body())
		return
	case errors.As(err, &inUse):
		var b inUseBody
		b.Error.ErrorDetail = httpapi.ErrorDetail{Code: "in_use", Message: inUse.Error()}
		b.Error.Rules = inUse.Rules
		httpapi.WriteJSON(w, http.StatusConflict, b)
		return
	case errors.As(err, &ae):
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		ae = &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: rl.Message}
	case errors.As(err, &tooBig):
		ae = &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the body is too large"}
	case errors.Is(err, rules.ErrStaleImport):
		ae = &httpapi.Error{Status: http.StatusConflict, Code: "stale_preview", Message: err.Error()}
	case errors.Is(err, adminsvc.ErrCompanyRequired):
		ae = &httpapi.Error{Status: http.StatusBadRequest, Code: "company_required", Message: "you administer several companies; name one with ?company="}
	case errors.Is(err, authz.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		ae = &httpapi.Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in or send a valid API token"}
	case errors.Is(err, authz.ErrForbidden):
		ae = &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}
	case errors.As(err, &ve):
		fields := map[string]string{}
		for _, p := range ve.Problems {
			if _, dup := fields[p.Field]; !dup {
				fields[p.Field] = p.Message
			}
		}
		ae = &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "the request has invalid fields", Fields: fields}
	case errors.Is(err, account.ErrSelfAction):
		ae = &httpapi.Error{Status: http.StatusForbidden, Code: "self_action", Message: err.Error()}
	case errors.Is(err, account.ErrLastAdmin):
		ae = &httpapi.Error{Status: http.StatusConflict, Code: "last_admin", Message: err.Error()}
	case errors.As(err, &te):
		ae = &httpapi.Error{Status: http.StatusConflict, Code: "invalid_transition", Message: te.Error()}
	case errors.As(err, &ce):
		ae = &httpapi.Error{Status: http.StatusConflict, Code: "conflict", Message: ce.Message, Fields: map[string]string{ce.Field: ce.Message}}
	case errors.Is(err, store.ErrConflict):
		ae = &httpapi.Error{Status: http.StatusConflict, Code: "conflict", Message: "this conflicts with an existing record"}
	case errors.Is(err, store.ErrNotFound):
		ae = &httpapi.Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, adminsvc.ErrUnavailable):
		ae = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()}
	case errors.Is(err, store.ErrUnavailable):
		ae = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the store is unavailable; try again"}
	default:
		g.Logger.Error("admin API", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &httpapi.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	httpapi.WriteJSON(w, ae.Status, httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: ae.Code, Message: ae.Message, Fields: ae.Fields}})
}

// inUseBody adds the rules that use a property to the error shape.
type inUseBody struct {
	Error struct {
		httpapi.ErrorDetail
		Rules []rules.RuleRef `json:"rules"`
	} `json:"error"`
}
