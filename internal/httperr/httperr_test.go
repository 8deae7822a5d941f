package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
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

// TestTable pins the answer to each error the admin surfaces return, and
// checks that every message it names is in every catalogue.
func TestTable(t *testing.T) {
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err     error
		status  int
		code    string
		refusal bool
	}{
		{&httpapi.Error{Status: http.StatusConflict, Code: "passkeys_off", Message: "passkeys need a host name"}, 409, "passkeys_off", false},
		{&apperr.RateLimitError{Message: "10 an hour", RetryAfter: time.Minute}, 429, "rate_limited", false},
		{&http.MaxBytesError{Limit: 1}, 413, "too_large", false},
		{apperr.ErrCSRF, 403, "csrf", false},
		{&rules.InUseError{}, 409, "in_use", false},
		{rules.ErrStaleImport, 409, "stale_preview", false},
		{apperr.ErrCompanyRequired, 400, "company_required", false},
		{authz.ErrUnauthenticated, 401, "unauthenticated", false},
		{fmt.Errorf("%w: not your company", authz.ErrForbidden), 403, "forbidden", false},
		{&validation.Error{Problems: []validation.Problem{{Field: "email", Code: "required", Message: "an email is required"}}}, 422, "invalid", false},
		{account.ErrSelfAction, 403, "self_action", true},
		{account.ErrLastAdmin, 409, "last_admin", true},
		{&account.TransitionError{Action: "block", From: store.StatusDeactivated}, 409, "invalid_transition", true},
		{&account.ConflictError{Field: "email", Message: "taken"}, 409, "conflict", true},
		{fmt.Errorf("creating: %w", store.ErrConflict), 409, "conflict", true},
		{store.ErrNotFound, 404, "not_found", false},
		{apperr.ErrUnavailable, 503, "unavailable", false},
		{store.ErrUnavailable, 503, "unavailable", false},
		{web.Problem{Status: http.StatusGone, Code: "enrolment_invalid", TitleKey: "error.title", MsgKey: "enrol.invalid"}, 410, "enrolment_invalid", false},
		{errors.New("disk on fire"), 500, "internal", false},
	} {
		a := For(fmt.Errorf("wrapped: %w", c.err))
		if a.Status != c.status || a.Code != c.code || a.Refusal != c.refusal {
			t.Errorf("%v: %d %s refusal=%v, want %d %s refusal=%v", c.err, a.Status, a.Code, a.Refusal, c.status, c.code, c.refusal)
		}
		for _, lang := range i18n.Languages {
			for _, key := range []string{a.MsgKey, a.TitleKey} {
				if catalog.T(lang, key) == key {
					t.Errorf("%v: %s has no %s message", c.err, key, lang)
				}
			}
		}
		if a.Unexpected() && a.Detail != "" {
			t.Errorf("%v: an unexpected error's text must not reach the answer: %q", c.err, a.Detail)
		}
	}
}

func TestMessageCarriesPublicDetail(t *testing.T) {
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a := For(&apperr.RateLimitError{Message: "at most 10 invitations an hour"})
	if got, want := a.Message(catalog, "fr"), catalog.T("fr", "admin.problem.rate_limited")+" (at most 10 invitations an hour)"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if a := For(authz.ErrForbidden); a.Detail != "" {
		t.Errorf("a bare refusal has no detail to add, got %q", a.Detail)
	}
}
