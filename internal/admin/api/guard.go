package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Endpoint is one admin call: it gets the authorized caller and answers,
// or returns an error the Guard turns into the JSON error shape.
type Endpoint func(w http.ResponseWriter, r *http.Request, c authz.Caller) error

// Guard is the one way into the admin API, shared by every package that
// serves routes under Prefix (accounts, passkeys, properties). It
// authenticates the caller (an API token in "Authorization: Bearer", or
// the browser session plus the X-CSRF-Token header for changes), checks
// the capabilities the route names, records refused and failed changes,
// and writes errors in the contract's JSON shape.
type Guard struct {
	Service  *Service
	Sessions interface {
		Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	}
	CSRF     *web.CSRF
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
}

// Handle registers fn at method+" "+Prefix+path (pattern is "GET
// accounts/{id}") behind authentication, the CSRF check and every
// capability in caps. action names the call in the audit log. The client
// IP is put in the request context (account.AuditIP) for the services.
func (g *Guard) Handle(mux *http.ServeMux, pattern, action string, fn Endpoint, caps ...string) {
	method, path, _ := strings.Cut(pattern, " ")
	changes := method != http.MethodGet && method != http.MethodHead
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		ctx := account.WithAuditIP(r.Context(), g.ClientIP(r))
		r = r.WithContext(ctx)
		c, err := g.Authenticate(r)
		if err != nil {
			g.Fail(w, r, err)
			return
		}
		if changes && c.Via == authz.ViaSession && !g.CSRF.Check(r) {
			g.record(ctx, c, action, r, "denied", "csrf")
			httpapi.WriteError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header")
			return
		}
		for _, capability := range caps {
			if !g.Service.Policy.Has(c, capability) {
				if changes {
					g.record(ctx, c, action, r, "denied", "capability "+capability)
				}
				g.Fail(w, r, authz.ErrForbidden)
				return
			}
		}
		if err := fn(w, r, c); err != nil {
			if changes {
				outcome := "error"
				if errors.Is(err, authz.ErrForbidden) || errors.Is(err, account.ErrSelfAction) {
					outcome = "denied"
				}
				g.record(ctx, c, action, r, outcome, err.Error())
			}
			g.Fail(w, r, err)
		}
	})
}

// record logs a refused or failed change; successful ones are recorded by
// the service that made them, in the same transaction.
func (g *Guard) record(ctx context.Context, c authz.Caller, action string, r *http.Request, outcome, reason string) {
	target := r.PathValue("id")
	e := g.Service.event(ctx, c, action, target, outcome, map[string]any{"reason": reason})
	if err := g.Service.Store.AppendAudit(ctx, e); err != nil {
		g.Logger.Error("audit", "action", action, "err", err)
	}
}

// Authenticate finds the caller: an API token when the request carries an
// Authorization header, the browser session otherwise.
func (g *Guard) Authenticate(r *http.Request) (authz.Caller, error) {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, secret, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return authz.Caller{}, authz.ErrUnauthenticated
		}
		t, err := g.Service.Authenticate(ctx, strings.TrimSpace(secret))
		if err != nil {
			return authz.Caller{}, err
		}
		return g.Service.LoadCaller(ctx, t.AccountID, authz.ViaToken, t.ID)
	}
	return g.SessionCaller(r)
}

// SessionCaller finds the caller from the browser session only, for HTML
// pages (the admin panel), which a script holding an API token has no
// business driving.
func (g *Guard) SessionCaller(r *http.Request) (authz.Caller, error) {
	ctx := r.Context()
	sess, err := g.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	if err != nil {
		return authz.Caller{}, err
	}
	return g.Service.LoadCaller(ctx, sess.AccountID, authz.ViaSession, "")
}

// Require reports authz.ErrForbidden unless the caller holds every one of
// caps somewhere: the check Handle makes before an endpoint runs.
func (g *Guard) Require(c authz.Caller, caps ...string) error {
	for _, capability := range caps {
		if !g.Service.Policy.Has(c, capability) {
			return fmt.Errorf("%w: needs %s", authz.ErrForbidden, capability)
		}
	}
	return nil
}

// Fail writes err as the contract's JSON error; the detail of an
// unexpected error goes to the log only.
func (g *Guard) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *httpapi.Error
		be httpapi.BodyError
		ve *account.ValidationError
		ce *account.ConflictError
		te *account.TransitionError
	)
	switch {
	case errors.As(err, &be):
		httpapi.WriteJSON(w, be.StatusCode(), be.Body())
		return
	case errors.As(err, &ae):
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
	case errors.Is(err, ErrTokensUnavailable):
		ae = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()}
	case errors.Is(err, store.ErrUnavailable):
		ae = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the store is unavailable; try again"}
	default:
		g.Logger.Error("admin API", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &httpapi.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	httpapi.WriteJSON(w, ae.Status, httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: ae.Code, Message: ae.Message, Fields: ae.Fields}})
}
