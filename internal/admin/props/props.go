// Package props serves the JSON API for account properties, their values,
// relations and access rules (/.gatehouse/api/v1/properties, access-rules, relations).
package props

import (
	"encoding/json"
	"errors"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/api"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

const prefix = "/.gatehouse/api/v1"

// Handler serves the API. Every route is mounted behind Guard, the admin
// API's own authorization, and needs admin_panel in the company concerned.
type Handler struct {
	Rules  *rules.Service
	Guard  *api.Guard
	Logger *slog.Logger
	// MaxBody limits JSON bodies; MaxImport limits CSV imports.
	MaxBody   int64
	MaxImport int64
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	const panel = account.CapAdminPanel
	for _, rt := range []struct {
		pattern, action string
		fn              api.Endpoint
	}{
		{"GET properties", "property.list", h.listDefs},
		{"POST properties", "property.create", h.createDef},
		{"GET properties/{key}", "property.get", h.getDef},
		{"PATCH properties/{key}", "property.update", h.updateDef},
		{"DELETE properties/{key}", "property.delete", h.deleteDef},
		{"PUT properties/{key}/values/{account}", "property.values.set", h.putValue},
		{"POST properties/import", "property.values.import", h.importCSV},
		{"GET accounts/{id}/properties", "property.values.get", h.getValues},
		{"PATCH accounts/{id}/properties", "property.values.set", h.patchValues},
		{"GET relations", "relation.list", h.relations},
		{"GET access-rules", "access_rule.list", h.listRules},
		{"POST access-rules", "access_rule.create", h.createRule},
		{"GET access-rules/explain", "access_rule.explain", h.explain},
		{"GET access-rules/{id}", "access_rule.get", h.getRule},
		{"PATCH access-rules/{id}", "access_rule.update", h.updateRule},
		{"DELETE access-rules/{id}", "access_rule.delete", h.deleteRule},
	} {
		h.Guard.Handle(mux, rt.pattern, rt.action, mapErrors(rt.fn), panel)
	}
}

// ---- shared plumbing

// company resolves the company a call concerns: the `company` query
// parameter, or the caller's only administered company.
func (h *Handler) company(r *http.Request, c authz.Caller) (string, error) {
	if co := r.URL.Query().Get("company"); co != "" {
		return co, nil
	}
	cs := h.Guard.Service.Policy.Companies(c, account.CapAdminPanel)
	switch len(cs) {
	case 0:
		return "", authz.ErrForbidden
	case 1:
		return cs[0], nil
	}
	return "", &httpapi.Error{Status: http.StatusBadRequest, Code: "company_required", Message: "you administer several companies; name one with ?company="}
}

// authorize checks the caller holds admin_panel in company and returns
// the actor the rules service records.
func (h *Handler) authorize(r *http.Request, c authz.Caller, company string) (rules.Actor, error) {
	if company == "" || !h.Guard.Service.Policy.HasIn(c, company, account.CapAdminPanel) {
		return rules.Actor{}, authz.ErrForbidden
	}
	return rules.Actor{ID: c.Account.ID, IP: account.AuditIP(r.Context())}, nil
}

// scope resolves the company of a call and checks the caller in it.
func (h *Handler) scope(r *http.Request, c authz.Caller) (string, rules.Actor, error) {
	company, err := h.company(r, c)
	if err != nil {
		return "", rules.Actor{}, err
	}
	actor, err := h.authorize(r, c, company)
	return company, actor, err
}

// bodyError is an answer with a JSON body beyond the error shape.
type bodyError struct {
	err    error
	status int
	body   any
}

func (e *bodyError) Error() string   { return e.err.Error() }
func (e *bodyError) Unwrap() error   { return e.err }
func (e *bodyError) StatusCode() int { return e.status }
func (e *bodyError) Body() any       { return e.body }

var _ httpapi.BodyError = (*bodyError)(nil)

// inUseBody adds the rules that use a property to the error shape.
type inUseBody struct {
	Error struct {
		httpapi.ErrorDetail
		Rules []rules.RuleRef `json:"rules"`
	} `json:"error"`
}

// mapErrors turns the errors only this API has into answers the Guard
// writes; the rest (validation, conflicts, 401, 403, 404) it maps itself.
func mapErrors(fn api.Endpoint) api.Endpoint {
	return func(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
		err := fn(w, r, c)
		var iu *rules.InUseError
		var tooBig *http.MaxBytesError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &iu):
			var b inUseBody
			b.Error.ErrorDetail = httpapi.ErrorDetail{Code: "in_use", Message: iu.Error()}
			b.Error.Rules = iu.Rules
			return &bodyError{err: err, status: http.StatusConflict, body: b}
		case errors.As(err, &tooBig):
			return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the body is too large"}
		case errors.Is(err, rules.ErrStaleImport):
			return &httpapi.Error{Status: http.StatusConflict, Code: "stale_preview", Message: err.Error()}
		}
		return err
	}
}

// decode reads a JSON body with the API's one strict decoder.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	limit := h.MaxBody
	if limit <= 0 {
		limit = 256 << 10
	}
	return httpapi.Decode(w, r, v, limit)
}

// ---- definitions

type defJSON struct {
	Company   string            `json:"company"`
	Key       string            `json:"key"`
	Labels    map[string]string `json:"labels"`
	Type      string            `json:"type"`
	Choices   []string          `json:"choices"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func defOut(d store.PropertyDef) defJSON {
	out := defJSON{Company: d.CompanyID, Key: d.Key, Labels: d.Labels, Type: d.Type, Choices: d.Choices, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Choices == nil {
		out.Choices = []string{}
	}
	return out
}

func (h *Handler) listDefs(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, _, err := h.scope(r, c)
	if err != nil {
		return err
	}
	defs, err := h.Rules.ListDefs(r.Context(), company)
	if err != nil {
		return err
	}
	out := make([]defJSON, len(defs))
	for i, d := range defs {
		out[i] = defOut(d)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"properties": out})
	return nil
}

func (h *Handler) createDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	var in struct {
		Key     string            `json:"key"`
		Labels  map[string]string `json:"labels"`
		Type    string            `json:"type"`
		Choices []string          `json:"choices"`
	}
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	d, err := h.Rules.CreateDef(r.Context(), actor, store.PropertyDef{CompanyID: company, Key: in.Key, Labels: in.Labels, Type: in.Type, Choices: in.Choices})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, defOut(d))
	return nil
}

func (h *Handler) getDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, _, err := h.scope(r, c)
	if err != nil {
		return err
	}
	d, err := h.Rules.GetDef(r.Context(), company, r.PathValue("key"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, defOut(d))
	return nil
}

func (h *Handler) updateDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	var in struct {
		Labels  map[string]string `json:"labels"`
		Choices []string          `json:"choices"`
	}
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	d, err := h.Rules.UpdateDef(r.Context(), actor, company, r.PathValue("key"), in.Labels, in.Choices)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, defOut(d))
	return nil
}

func (h *Handler) deleteDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	if err := h.Rules.DeleteDef(r.Context(), actor, company, r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- values

func (h *Handler) writeValues(w http.ResponseWriter, r *http.Request, accountID, company string) error {
	vals, err := h.Rules.Values(r.Context(), accountID, company)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"account": accountID, "company": company, "properties": vals})
	return nil
}

func (h *Handler) getValues(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, _, err := h.scope(r, c)
	if err != nil {
		return err
	}
	return h.writeValues(w, r, r.PathValue("id"), company)
}

func (h *Handler) patchValues(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	var in map[string]json.RawMessage
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	values := make(map[string][]string, len(in))
	var problems []account.FieldProblem
	for k, raw := range in {
		v, ok := rules.ParseValues(raw)
		if !ok {
			problems = append(problems, account.FieldProblem{Field: k, Code: "invalid", Message: "a value is a string, a list of strings, or null to clear it"})
			continue
		}
		values[k] = v
	}
	if len(problems) > 0 {
		return &account.ValidationError{Problems: problems}
	}
	id := r.PathValue("id")
	if err := h.Rules.SetValues(r.Context(), actor, id, company, values); err != nil {
		return err
	}
	return h.writeValues(w, r, id, company)
}

func (h *Handler) putValue(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	var in struct {
		Values json.RawMessage `json:"values"`
	}
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	key := r.PathValue("key")
	v, ok := rules.ParseValues(in.Values)
	if !ok {
		return &account.ValidationError{Problems: []account.FieldProblem{{Field: "values", Code: "invalid", Message: "a value is a string, a list of strings, or null to clear it"}}}
	}
	if _, err := h.Rules.GetDef(r.Context(), company, key); err != nil {
		return err
	}
	id := r.PathValue("account")
	if err := h.Rules.SetValues(r.Context(), actor, id, company, map[string][]string{key: v}); err != nil {
		return err
	}
	return h.writeValues(w, r, id, company)
}

// importCSV previews a CSV of values, or applies it with ?confirm=TOKEN
// (the token of its preview).
func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	limit := h.MaxImport
	if limit <= 0 {
		limit = 5 << 20
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	confirm := r.URL.Query().Get("confirm")
	if confirm == "" {
		rep, err := h.Rules.PreviewImport(r.Context(), company, data)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
	rep, err := h.Rules.ApplyImport(r.Context(), actor, company, data, confirm)
	if errors.Is(err, rules.ErrImportInvalid) {
		return &bodyError{err: err, status: http.StatusUnprocessableEntity, body: map[string]any{
			"error":  httpapi.ErrorDetail{Code: "invalid", Message: err.Error()},
			"report": rep,
		}}
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// ---- relations

// relations answers both directions: ?object=X lists the accounts linked
// to object X, ?account=ID the objects the account is linked to. Without
// company, every company the caller administers is searched.
func (h *Handler) relations(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	q := r.URL.Query()
	object, acct, key := q.Get("object"), q.Get("account"), q.Get("key")
	if (object == "") == (acct == "") {
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "give exactly one of object or account"}
	}
	companies := []string{q.Get("company")}
	if companies[0] == "" {
		companies = h.Guard.Service.Policy.Companies(c, account.CapAdminPanel)
		if len(companies) == 0 {
			return authz.ErrForbidden
		}
	}
	links := []rules.Link{}
	for _, co := range companies {
		if _, err := h.authorize(r, c, co); err != nil {
			return err
		}
		var found []rules.Link
		var err error
		if object != "" {
			found, err = h.Rules.LinkedAccounts(r.Context(), object, co, key)
		} else {
			found, err = h.Rules.LinkedObjects(r.Context(), acct, co, key)
		}
		if err != nil {
			return err
		}
		links = append(links, found...)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"relations": links})
	return nil
}

// ---- rules

type ruleJSON struct {
	ID         string          `json:"id"`
	Company    string          `json:"company"`
	Name       string          `json:"name"`
	Position   int             `json:"position"`
	Enabled    bool            `json:"enabled"`
	Condition  json.RawMessage `json:"condition"`
	Capability string          `json:"capability"`
	Tag        string          `json:"tag"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

func ruleOut(r store.AccessRule) ruleJSON {
	cond := json.RawMessage(r.Condition)
	if !json.Valid(cond) {
		cond = json.RawMessage("null")
	}
	return ruleJSON{ID: r.ID, Company: r.CompanyID, Name: r.Name, Position: r.Position, Enabled: r.Enabled,
		Condition: cond, Capability: r.Capability, Tag: r.Tag, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (h *Handler) listRules(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, _, err := h.scope(r, c)
	if err != nil {
		return err
	}
	rs, err := h.Rules.ListRules(r.Context(), company)
	if err != nil {
		return err
	}
	out := make([]ruleJSON, len(rs))
	for i, rl := range rs {
		out[i] = ruleOut(rl)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"access_rules": out})
	return nil
}

func (h *Handler) createRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, actor, err := h.scope(r, c)
	if err != nil {
		return err
	}
	var in rules.RuleInput
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	rl, err := h.Rules.CreateRule(r.Context(), actor, company, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, ruleOut(rl))
	return nil
}

// ruleFor loads a rule and checks the caller administers its company.
// The Guard has authenticated the caller already, so whether a rule
// exists is never revealed to a stranger.
func (h *Handler) ruleFor(r *http.Request, c authz.Caller) (store.AccessRule, rules.Actor, error) {
	rl, err := h.Rules.GetRule(r.Context(), r.PathValue("id"))
	if err != nil {
		return store.AccessRule{}, rules.Actor{}, err
	}
	actor, err := h.authorize(r, c, rl.CompanyID)
	if err != nil {
		return store.AccessRule{}, rules.Actor{}, err
	}
	return rl, actor, nil
}

func (h *Handler) getRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	rl, _, err := h.ruleFor(r, c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ruleOut(rl))
	return nil
}

func (h *Handler) updateRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	rl, actor, err := h.ruleFor(r, c)
	if err != nil {
		return err
	}
	var in rules.RuleInput
	if err := h.decode(w, r, &in); err != nil {
		return err
	}
	updated, err := h.Rules.UpdateRule(r.Context(), actor, rl.ID, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ruleOut(updated))
	return nil
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	rl, actor, err := h.ruleFor(r, c)
	if err != nil {
		return err
	}
	if err := h.Rules.DeleteRule(r.Context(), actor, rl.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, _, err := h.scope(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	acct := q.Get("account")
	if acct == "" {
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "name the account with ?account="}
	}
	ex, err := h.Rules.Explain(r.Context(), acct, company, q.Get("capability"), q.Get("tag"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ex)
	return nil
}
