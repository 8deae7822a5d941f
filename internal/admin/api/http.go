package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Prefix is where the API lives.
const Prefix = "/.gatehouse/api/v1/"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Handler serves the JSON API over a Service.
type Handler struct {
	Service  *Service
	Sessions interface {
		Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	}
	CSRF     *web.CSRF
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
}

// apiError is a failure with its status and public message.
type apiError struct {
	status  int
	code    string
	message string
	fields  map[string]string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: fmt.Sprintf(format, args...)}
}

// endpoint is one API call: it gets the authorized caller and answers,
// or returns an error the wrapper turns into the JSON error shape.
type endpoint func(w http.ResponseWriter, r *http.Request, c authz.Caller) error

// Mount registers every route. Each one goes through handle, which
// authenticates, checks the capabilities named here and the CSRF token,
// so an endpoint cannot be added without its authorization.
func (h *Handler) Mount(mux *http.ServeMux) {
	const (
		panel  = account.CapAdminPanel
		users  = account.CapManageUsers
		export = account.CapExports
	)
	h.handle(mux, "GET accounts", "account.list", h.listAccounts, panel, users)
	h.handle(mux, "POST accounts", "account.create", h.createAccount, panel, users)
	h.handle(mux, "GET accounts.csv", "account.export", h.exportCSV, panel, export)
	h.handle(mux, "GET accounts/{id}", "account.get", h.getAccount, panel, users)
	h.handle(mux, "PATCH accounts/{id}", "account.update", h.updateAccount, panel, users)
	h.handle(mux, "DELETE accounts/{id}", "account.delete", h.deleteAccount, panel, users)
	for _, action := range []string{ActionBlock, ActionUnblock, ActionDeactivate} {
		h.handle(mux, "POST accounts/{id}/"+action, "account."+action, h.lifecycle(action), panel, users)
	}
	h.handle(mux, "DELETE accounts/{id}/sessions", "account.sessions.end", h.endSessions, panel, users)
	h.handle(mux, "PUT accounts/{id}/memberships/{company}", "account.membership.set", h.setMembership, panel, users)
	h.handle(mux, "DELETE accounts/{id}/memberships/{company}", "account.membership.remove", h.removeMembership, panel, users)
	h.handle(mux, "POST invitations", "account.invite", h.invite, panel, users)
	h.handle(mux, "GET companies", "company.list", h.listCompanies, panel, users)
	h.handle(mux, "POST companies", "company.create", h.createCompany, panel, users)
	h.handle(mux, "PATCH companies/{id}", "company.rename", h.renameCompany, panel, users)
	h.handle(mux, "GET companies/{id}/members", "company.members", h.companyMembers, panel, users)
	h.handle(mux, "GET sites", "site.list", h.listSites, panel, users)
	h.handle(mux, "POST sites", "site.create", h.createSite, panel, users)
	h.handle(mux, "PATCH sites/{id}", "site.rename", h.renameSite, panel, users)
	h.handle(mux, "GET sites/{id}/members", "site.members", h.siteMembers, panel, users)
	h.handle(mux, "PUT sites/{id}/members", "site.members.set", h.setSiteMembers, panel, users)
	h.handle(mux, "GET providers", "provider.list", h.providers, panel)
	h.handle(mux, "GET audit", "audit.list", h.audit, panel)
	h.handle(mux, "GET api-tokens", "api_token.list", h.listTokens, panel, users)
	h.handle(mux, "POST api-tokens", "api_token.create", h.createToken, panel, users)
	h.handle(mux, "DELETE api-tokens/{id}", "api_token.revoke", h.revokeToken, panel, users)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		web.WriteJSONError(w, http.StatusNotFound, "not_found", "no such API resource")
	})
}

func (h *Handler) handle(mux *http.ServeMux, pattern, action string, fn endpoint, caps ...string) {
	method, path, _ := strings.Cut(pattern, " ")
	changes := method != http.MethodGet
	mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		ip := h.ClientIP(r)
		ctx := account.WithAuditIP(r.Context(), ip)
		r = r.WithContext(ctx)
		c, err := h.authenticate(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if changes && c.Via == authz.ViaSession && !h.CSRF.Check(r) {
			h.record(ctx, c, action, r, "denied", "csrf")
			web.WriteJSONError(w, http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token header")
			return
		}
		for _, capability := range caps {
			if !h.Service.Policy.Has(c, capability) {
				if changes {
					h.record(ctx, c, action, r, "denied", "capability "+capability)
				}
				h.fail(w, r, authz.ErrForbidden)
				return
			}
		}
		if err := fn(w, r, c); err != nil {
			if changes {
				outcome := "error"
				if errors.Is(err, authz.ErrForbidden) || errors.Is(err, account.ErrSelfAction) {
					outcome = "denied"
				}
				h.record(ctx, c, action, r, outcome, err.Error())
			}
			h.fail(w, r, err)
		}
	})
}

// record logs a refused or failed change; successful ones are recorded by
// the service that made them, in the same transaction.
func (h *Handler) record(ctx context.Context, c authz.Caller, action string, r *http.Request, outcome, reason string) {
	target := r.PathValue("id")
	e := h.Service.event(ctx, c, action, target, outcome, map[string]any{"reason": reason})
	if err := h.Service.Store.AppendAudit(ctx, e); err != nil {
		h.Logger.Error("audit", "action", action, "err", err)
	}
}

// authenticate finds the caller: an API token when the request carries an
// Authorization header, the browser session otherwise.
func (h *Handler) authenticate(r *http.Request) (authz.Caller, error) {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, secret, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return authz.Caller{}, authz.ErrUnauthenticated
		}
		t, err := h.Service.Authenticate(ctx, strings.TrimSpace(secret))
		if err != nil {
			return authz.Caller{}, err
		}
		return h.Service.LoadCaller(ctx, t.AccountID, authz.ViaToken, t.ID)
	}
	sess, err := h.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	if err != nil {
		return authz.Caller{}, err
	}
	return h.Service.LoadCaller(ctx, sess.AccountID, authz.ViaSession, "")
}

// fail writes err as the contract's JSON error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *apiError
		ve *account.ValidationError
		ce *account.ConflictError
		te *account.TransitionError
	)
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, authz.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		ae = &apiError{http.StatusUnauthorized, "unauthenticated", "sign in or send a valid API token", nil}
	case errors.Is(err, authz.ErrForbidden):
		ae = &apiError{http.StatusForbidden, "forbidden", err.Error(), nil}
	case errors.As(err, &ve):
		fields := map[string]string{}
		for _, p := range ve.Problems {
			if _, dup := fields[p.Field]; !dup {
				fields[p.Field] = p.Message
			}
		}
		ae = &apiError{http.StatusUnprocessableEntity, "invalid", "the request has invalid fields", fields}
	case errors.Is(err, account.ErrSelfAction):
		ae = &apiError{http.StatusForbidden, "self_action", err.Error(), nil}
	case errors.Is(err, account.ErrLastAdmin):
		ae = &apiError{http.StatusConflict, "last_admin", err.Error(), nil}
	case errors.As(err, &te):
		ae = &apiError{http.StatusConflict, "invalid_transition", te.Error(), nil}
	case errors.As(err, &ce):
		ae = &apiError{http.StatusConflict, "conflict", ce.Message, map[string]string{ce.Field: ce.Message}}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{http.StatusConflict, "conflict", "this conflicts with an existing record", nil}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "not_found", "not found", nil}
	case errors.Is(err, ErrTokensUnavailable):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", err.Error(), nil}
	case errors.Is(err, store.ErrUnavailable):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "the store is unavailable; try again", nil}
	default:
		h.Logger.Error("admin API", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error", nil}
	}
	web.WriteJSON(w, ae.status, web.ErrorBody{Error: web.ErrorDetail{Code: ae.code, Message: ae.message, Fields: ae.fields}})
}

// decode reads exactly one JSON value with no unknown fields into v.
// allowEmpty lets an empty body stand for {}.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", message: fmt.Sprintf("the body must be at most %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return badRequest("could not read the body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return badRequest("a JSON body is required")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", message: "send application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the body must hold exactly one JSON value")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return fmt.Sprintf("field %q has the wrong type", ute.Field)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed"
}

// emptyBody accepts nothing but an empty body or {}.
func emptyBody(w http.ResponseWriter, r *http.Request) error {
	var v struct{}
	return decode(w, r, &v, true)
}

func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer", name)
	}
	return n, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badRequest("%s must be an RFC 3339 time", name)
	}
	return t, nil
}

// --- accounts ---

type membershipBody struct {
	Company string   `json:"company"`
	Role    string   `json:"role"`
	Sites   []string `json:"sites"`
}

func memberships(in []membershipBody) []account.MembershipInput {
	out := make([]account.MembershipInput, len(in))
	for i, m := range in {
		out[i] = account.MembershipInput{Company: strings.TrimSpace(m.Company), Role: strings.TrimSpace(m.Role), Sites: m.Sites}
	}
	return out
}

func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := h.Service.ListAccounts(r.Context(), c, AccountFilter{
		Search: q.Get("search"), Status: q.Get("status"), Role: q.Get("role"), Company: q.Get("company"),
		Site: q.Get("site"), After: q.Get("after"), Limit: limit,
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, page)
	return nil
}

type createAccountBody struct {
	Email       string           `json:"email"`
	FirstName   string           `json:"first_name"`
	LastName    string           `json:"last_name"`
	Language    string           `json:"language"`
	DateFormat  string           `json:"date_format"`
	Kind        string           `json:"kind"`
	SignIn      string           `json:"sign_in"`
	Memberships []membershipBody `json:"memberships"`
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createAccountBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	out, err := h.Service.CreateAccount(r.Context(), c, NewAccount{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Language: b.Language,
		DateFormat: b.DateFormat, Kind: b.Kind, SignIn: b.SignIn, Memberships: memberships(b.Memberships),
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	a, err := h.Service.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

type updateAccountBody struct {
	Email      *string `json:"email"`
	FirstName  *string `json:"first_name"`
	LastName   *string `json:"last_name"`
	Language   *string `json:"language"`
	DateFormat *string `json:"date_format"`
	// Kind is accepted only to refuse a change clearly: it is fixed at creation.
	Kind *string `json:"kind"`
}

func (h *Handler) updateAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b updateAccountBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	id := r.PathValue("id")
	if b.Kind != nil {
		cur, err := h.Service.GetAccount(r.Context(), c, id)
		if err != nil {
			return err
		}
		if *b.Kind != cur.Kind {
			return problem("kind", "not_allowed", "the kind of an account is fixed at creation; a shared-computer account is never converted")
		}
	}
	a, err := h.Service.UpdateAccount(r.Context(), c, id, account.ProfileUpdate{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Language: b.Language, DateFormat: b.DateFormat,
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.Service.DeleteAccount(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) lifecycle(action string) endpoint {
	return func(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		a, err := h.Service.Lifecycle(r.Context(), c, r.PathValue("id"), action)
		if err != nil {
			return err
		}
		web.WriteJSON(w, http.StatusOK, a)
		return nil
	}
}

func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	n, err := h.Service.EndAccountSessions(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
	return nil
}

type setMembershipBody struct {
	Role  string   `json:"role"`
	Sites []string `json:"sites"`
}

func (h *Handler) setMembership(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b setMembershipBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	a, err := h.Service.SetMembership(r.Context(), c, r.PathValue("id"), account.MembershipInput{
		Company: r.PathValue("company"), Role: strings.TrimSpace(b.Role), Sites: b.Sites,
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handler) removeMembership(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	a, err := h.Service.RemoveMembership(r.Context(), c, r.PathValue("id"), r.PathValue("company"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

type inviteBody struct {
	Emails      string           `json:"emails"`
	Memberships []membershipBody `json:"memberships"`
	Language    string           `json:"language"`
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b inviteBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	res, err := h.Service.Invite(r.Context(), c, Invitations{Emails: b.Emails, Memberships: memberships(b.Memberships), Language: b.Language})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handler) exportCSV(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	// Rendered into a buffer first, so a failure midway is a clean error
	// and never half a file.
	var buf bytes.Buffer
	if err := h.Service.ExportCSV(r.Context(), c, &buf); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="accounts.csv"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// --- companies and sites ---

type nameBody struct {
	Name string `json:"name"`
}

type createCompanyBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (h *Handler) listCompanies(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.Service.ListCompanies(r.Context(), c)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"companies": out})
	return nil
}

func (h *Handler) createCompany(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createCompanyBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	co, err := h.Service.CreateCompany(r.Context(), c, b.ID, b.Name)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, co)
	return nil
}

func (h *Handler) renameCompany(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b nameBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	co, err := h.Service.RenameCompany(r.Context(), c, r.PathValue("id"), b.Name)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, co)
	return nil
}

func (h *Handler) companyMembers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	ms, err := h.Service.CompanyMembers(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

type createSiteBody struct {
	Company string `json:"company"`
	Name    string `json:"name"`
}

func (h *Handler) listSites(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.Service.ListSites(r.Context(), c, r.URL.Query().Get("company"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sites": out})
	return nil
}

func (h *Handler) createSite(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createSiteBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	site, err := h.Service.CreateSite(r.Context(), c, strings.TrimSpace(b.Company), b.Name)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, site)
	return nil
}

func (h *Handler) renameSite(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b nameBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	site, err := h.Service.RenameSite(r.Context(), c, r.PathValue("id"), b.Name)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, site)
	return nil
}

func (h *Handler) siteMembers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	ms, err := h.Service.SiteMembers(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

type siteMembersBody struct {
	Accounts []string `json:"accounts"`
}

func (h *Handler) setSiteMembers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b siteMembersBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if b.Accounts == nil {
		return problem("accounts", "required", "list the accounts that may reach the site (an empty list removes them all)")
	}
	ms, err := h.Service.SetSiteMembers(r.Context(), c, r.PathValue("id"), b.Accounts)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

// --- providers, audit, tokens ---

func (h *Handler) providers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out := []ProviderStatus{}
	if h.Service.Providers != nil {
		out = append(out, h.Service.Providers()...)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
	return nil
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	var before int64
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
			return badRequest("before must be an event id")
		}
	}
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until")
	if err != nil {
		return err
	}
	page, err := h.Service.ListAudit(r.Context(), c, AuditFilter{
		Actor: q.Get("actor"), Target: q.Get("target"), Action: q.Get("action"), Category: q.Get("category"),
		Since: since, Until: until, Before: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.Service.ListAPITokens(r.Context(), c)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

type createTokenBody struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createTokenBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	var exp time.Time
	if b.ExpiresAt != nil {
		exp = *b.ExpiresAt
	}
	t, err := h.Service.CreateAPIToken(r.Context(), c, b.Name, exp)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.Service.RevokeAPIToken(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
