// Package httperr is the one table from an error to the gateway's answer:
// the HTTP status, the stable code of the JSON error shape and the
// catalogue keys of what a person reads. The admin API, the admin panel
// and the pages answer through it, so one error gets one status and one
// code on every surface.
package httperr

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Answer is how the gateway answers an error.
type Answer struct {
	web.Problem
	// Detail is the public explanation the error itself carries (which
	// rule refused, when to retry); "" when it carries none. The
	// internal detail of an unexpected error never lands here.
	Detail string
	// Fields is the message of each bad field of a validation error.
	Fields map[string]string
	// RetryAfter, when not zero, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Refusal: a rule refused a well-formed change (self action, last
	// administrator, status transition, conflict). A page sends the user
	// back to the form with the message rather than to an error page.
	Refusal bool
}

// Unexpected reports whether the answer is the generic 500, whose error
// belongs in the log.
func (a Answer) Unexpected() bool { return a.Code == web.ProblemInternal.Code }

// Message is what a person reads: the catalogue message in lang and, when
// the error carries one, its public detail in brackets.
func (a Answer) Message(c *i18n.Catalog, lang string) string {
	msg := c.T(lang, a.MsgKey)
	if a.Detail != "" {
		msg += " (" + a.Detail + ")"
	}
	return msg
}

// WriteJSON writes the answer in the contract's JSON error shape, its
// message from c in the request's language, with Retry-After when it has
// one.
func (a Answer) WriteJSON(w http.ResponseWriter, r *http.Request, c *i18n.Catalog) {
	if a.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.RetryAfter.Seconds()))))
	}
	httpapi.WriteJSON(w, a.Status, httpapi.ErrorBody{Error: a.JSONDetail(c, i18n.Negotiate("", r))})
}

// JSONDetail is the answer's part of the contract's JSON error shape.
func (a Answer) JSONDetail(c *i18n.Catalog, lang string) httpapi.ErrorDetail {
	return httpapi.ErrorDetail{Code: a.Code, Message: a.Message(c, lang), Fields: a.Fields}
}

// Problems of the admin surfaces, beside web's general ones.
var (
	ProblemUnauthenticated = web.Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", TitleKey: "error.title", MsgKey: "error.unauthenticated"}
	ProblemInvalid         = web.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", TitleKey: "error.title", MsgKey: "error.invalid"}
	ProblemCompanyRequired = web.Problem{Status: http.StatusBadRequest, Code: "company_required", TitleKey: "error.title", MsgKey: "error.company_required"}
	ProblemSelfAction      = web.Problem{Status: http.StatusForbidden, Code: "self_action", TitleKey: "error.forbidden.title", MsgKey: "admin.error.self_action"}
	ProblemLastAdmin       = web.Problem{Status: http.StatusConflict, Code: "last_admin", TitleKey: "error.title", MsgKey: "admin.error.last_admin"}
	ProblemTransition      = web.Problem{Status: http.StatusConflict, Code: "invalid_transition", TitleKey: "error.title", MsgKey: "admin.error.invalid_transition"}
	ProblemConflict        = web.Problem{Status: http.StatusConflict, Code: "conflict", TitleKey: "error.title", MsgKey: "admin.error.conflict"}
	ProblemInUse           = web.Problem{Status: http.StatusConflict, Code: "in_use", TitleKey: "error.title", MsgKey: "admin.error.in_use"}
	ProblemInvitationLimit = web.Problem{Status: http.StatusTooManyRequests, Code: "rate_limited", TitleKey: "error.title", MsgKey: "admin.problem.rate_limited"}
	ProblemStaleImport     = web.Problem{Status: http.StatusConflict, Code: "stale_preview", TitleKey: "error.title", MsgKey: "admin.error.stale_import"}
)

// For is the answer to err. The table is read in order: errors that wrap
// others (a refusal is also authz.ErrForbidden, a conflict also
// store.ErrConflict) come before what they wrap.
func For(err error) Answer {
	var (
		p      web.Problem
		ae     *httpapi.Error
		rl     *apperr.RateLimitError
		tooBig *http.MaxBytesError
		inUse  *rules.InUseError
		ve     *validation.Error
		te     *account.TransitionError
		ce     *account.ConflictError
	)
	switch {
	case errors.As(err, &p):
		// A feature's own answer, as it stands.
		return Answer{Problem: p}
	case errors.As(err, &ae):
		// An endpoint's own answer: its status and code, the general
		// message of that status, its text as the detail.
		return Answer{Problem: web.Problem{Status: ae.Status, Code: ae.Code, TitleKey: "error.title", MsgKey: byStatus(ae.Status).MsgKey},
			Detail: ae.Message, Fields: ae.Fields}
	case errors.As(err, &rl):
		return Answer{Problem: ProblemInvitationLimit, Detail: rl.Message, RetryAfter: rl.RetryAfter}
	case errors.As(err, &tooBig):
		return Answer{Problem: web.ProblemTooLarge}
	case errors.Is(err, apperr.ErrCSRF):
		return Answer{Problem: web.ProblemCSRF}
	case errors.As(err, &inUse):
		return Answer{Problem: ProblemInUse, Detail: inUse.Error()}
	case errors.Is(err, rules.ErrStaleImport):
		return Answer{Problem: ProblemStaleImport}
	case errors.Is(err, apperr.ErrCompanyRequired):
		return Answer{Problem: ProblemCompanyRequired}
	case errors.Is(err, authz.ErrUnauthenticated):
		return Answer{Problem: ProblemUnauthenticated}
	case errors.Is(err, authz.ErrForbidden):
		a := Answer{Problem: web.ProblemForbidden}
		if err != authz.ErrForbidden {
			a.Detail = err.Error() // the refusal says which rule
		}
		return a
	case errors.As(err, &ve):
		fields := map[string]string{}
		for _, p := range ve.Problems {
			if _, dup := fields[p.Field]; !dup {
				fields[p.Field] = p.Message
			}
		}
		return Answer{Problem: ProblemInvalid, Fields: fields}
	case errors.Is(err, account.ErrSelfAction):
		return Answer{Problem: ProblemSelfAction, Refusal: true}
	case errors.Is(err, account.ErrLastAdmin):
		return Answer{Problem: ProblemLastAdmin, Refusal: true}
	case errors.As(err, &te):
		return Answer{Problem: ProblemTransition, Detail: te.Error(), Refusal: true}
	case errors.Is(err, account.ErrInvalidTransition):
		return Answer{Problem: ProblemTransition, Refusal: true}
	case errors.As(err, &ce):
		return Answer{Problem: ProblemConflict, Detail: ce.Message, Fields: map[string]string{ce.Field: ce.Message}, Refusal: true}
	case errors.Is(err, store.ErrConflict):
		return Answer{Problem: ProblemConflict, Refusal: true}
	case errors.Is(err, store.ErrNotFound):
		return Answer{Problem: web.ProblemNotFound}
	case errors.Is(err, apperr.ErrUnavailable):
		return Answer{Problem: web.ProblemUnavailable, Detail: err.Error()}
	case errors.Is(err, store.ErrUnavailable):
		return Answer{Problem: web.ProblemUnavailable}
	}
	return Answer{Problem: web.ProblemInternal}
}

// byStatus is the general problem of an HTTP status, for the message of an
// answer an endpoint chose itself.
func byStatus(status int) web.Problem {
	for _, p := range []web.Problem{web.ProblemNotFound, web.ProblemForbidden, web.ProblemTooLarge, web.ProblemTooMany,
		web.ProblemUnavailable, web.ProblemInternal, ProblemUnauthenticated, ProblemInvalid, ProblemConflict} {
		if p.Status == status {
			return p
		}
	}
	if status >= 500 {
		return web.ProblemInternal
	}
	return web.ProblemBadRequest
}
