// Package props serves the JSON API for account properties, their values,
// relations and access rules (/.gatehouse/api/v1/properties, access-rules, relations).
package props

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

const prefix = "/.gatehouse/api/v1"

// Handler serves the API. Every route goes through Auth, applied in Mount.
type Handler struct {
	Rules  *rules.Service
	Auth   Authorizer
	Logger *slog.Logger
	// MaxBody limits JSON bodies; MaxImport limits CSV imports.
	MaxBody   int64
	MaxImport int64
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+prefix+"/properties", h.listDefs)
	mux.HandleFunc("POST "+prefix+"/properties", h.createDef)
	mux.HandleFunc("GET "+prefix+"/properties/{key}", h.getDef)
	mux.HandleFunc("PATCH "+prefix+"/properties/{key}", h.updateDef)
	mux.HandleFunc("DELETE "+prefix+"/properties/{key}", h.deleteDef)
	mux.HandleFunc("PUT "+prefix+"/properties/{key}/values/{account}", h.putValue)
	mux.HandleFunc("POST "+prefix+"/properties/import", h.importCSV)
	mux.HandleFunc("GET "+prefix+"/accounts/{id}/properties", h.getValues)
	mux.HandleFunc("PATCH "+prefix+"/accounts/{id}/properties", h.patchValues)
	mux.HandleFunc("GET "+prefix+"/relations", h.relations)
	mux.HandleFunc("GET "+prefix+"/access-rules", h.listRules)
	mux.HandleFunc("POST "+prefix+"/access-rules", h.createRule)
	mux.HandleFunc("GET "+prefix+"/access-rules/explain", h.explain)
	mux.HandleFunc("GET "+prefix+"/access-rules/{id}", h.getRule)
	mux.HandleFunc("PATCH "+prefix+"/access-rules/{id}", h.updateRule)
	mux.HandleFunc("DELETE "+prefix+"/access-rules/{id}", h.deleteRule)
}

// ---- shared plumbing

// company resolves the company a call concerns: the `company` query
// parameter, or the caller's only administered company.
func (h *Handler) company(w http.ResponseWriter, r *http.Request) (string, bool) {
	if c := r.URL.Query().Get("company"); c != "" {
		return c, true
	}
	cs, err := h.Auth.AdminCompanies(r)
	if err != nil {
		h.fail(w, r, err)
		return "", false
	}
	switch len(cs) {
	case 0:
		h.fail(w, r, ErrForbidden)
		return "", false
	case 1:
		return cs[0], true
	}
	writeError(w, http.StatusBadRequest, web.ErrorDetail{Code: "company_required", Message: "you administer several companies; name one with ?company="})
	return "", false
}

// authorize resolves the company and checks the caller.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, write bool) (string, rules.Actor, bool) {
	company, ok := h.company(w, r)
	if !ok {
		return "", rules.Actor{}, false
	}
	actor, err := h.Auth.Authorize(r, company, write)
	if err != nil {
		h.fail(w, r, err)
		return "", rules.Actor{}, false
	}
	return company, actor, true
}

func writeError(w http.ResponseWriter, status int, d web.ErrorDetail) {
	web.WriteJSON(w, status, web.ErrorBody{Error: d})
}

// inUseBody adds the rules that use a property to the error shape.
type inUseBody struct {
	Error struct {
		web.ErrorDetail
		Rules []rules.RuleRef `json:"rules"`
	} `json:"error"`
}

// fail maps an error to its status and JSON body; details of unexpected
// errors go to the log only.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *account.ValidationError
	var ce *account.ConflictError
	var iu *rules.InUseError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ve):
		fields := make(map[string]string, len(ve.Problems))
		for _, p := range ve.Problems {
			if _, dup := fields[p.Field]; !dup {
				fields[p.Field] = p.Message
			}
		}
		writeError(w, http.StatusUnprocessableEntity, web.ErrorDetail{Code: "invalid", Message: ve.Error(), Fields: fields})
	case errors.As(err, &ce):
		writeError(w, http.StatusConflict, web.ErrorDetail{Code: "conflict", Message: ce.Message, Fields: map[string]string{ce.Field: ce.Message}})
	case errors.As(err, &iu):
		var b inUseBody
		b.Error.ErrorDetail = web.ErrorDetail{Code: "in_use", Message: iu.Error()}
		b.Error.Rules = iu.Rules
		web.WriteJSON(w, http.StatusConflict, b)
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, web.ErrorDetail{Code: "too_large", Message: "the body is too large"})
	case errors.Is(err, errBadBody):
		writeError(w, http.StatusBadRequest, web.ErrorDetail{Code: "bad_request", Message: err.Error()})
	case errors.Is(err, ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, web.ErrorDetail{Code: "unauthenticated", Message: "not signed in"})
	case errors.Is(err, ErrCSRF):
		writeError(w, http.StatusForbidden, web.ErrorDetail{Code: "csrf", Message: ErrCSRF.Error()})
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, web.ErrorDetail{Code: "forbidden", Message: ErrForbidden.Error()})
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, web.ErrorDetail{Code: "not_found", Message: "no such resource"})
	case errors.Is(err, rules.ErrStaleImport):
		writeError(w, http.StatusConflict, web.ErrorDetail{Code: "stale_preview", Message: err.Error()})
	case errors.Is(err, store.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, web.ErrorDetail{Code: "unavailable", Message: "the store is unavailable"})
	default:
		h.Logger.Error("properties api", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, web.ErrorDetail{Code: "internal", Message: "internal error"})
	}
}

var errBadBody = errors.New("bad body")

// decode reads a JSON body strictly: size-limited, unknown fields and
// trailing data refused.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	limit := h.MaxBody
	if limit <= 0 {
		limit = 256 << 10
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		h.fail(w, r, fmt.Errorf("%w: the body is not the expected JSON: %v", errBadBody, err))
		return false
	}
	if dec.More() {
		h.fail(w, r, fmt.Errorf("%w: trailing data after the JSON body", errBadBody))
		return false
	}
	return true
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

func (h *Handler) listDefs(w http.ResponseWriter, r *http.Request) {
	company, _, ok := h.authorize(w, r, false)
	if !ok {
		return
	}
	defs, err := h.Rules.ListDefs(r.Context(), company)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]defJSON, len(defs))
	for i, d := range defs {
		out[i] = defOut(d)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"properties": out})
}

func (h *Handler) createDef(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	var in struct {
		Key     string            `json:"key"`
		Labels  map[string]string `json:"labels"`
		Type    string            `json:"type"`
		Choices []string          `json:"choices"`
	}
	if !h.decode(w, r, &in) {
		return
	}
	d, err := h.Rules.CreateDef(r.Context(), actor, store.PropertyDef{CompanyID: company, Key: in.Key, Labels: in.Labels, Type: in.Type, Choices: in.Choices})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, defOut(d))
}

func (h *Handler) getDef(w http.ResponseWriter, r *http.Request) {
	company, _, ok := h.authorize(w, r, false)
	if !ok {
		return
	}
	d, err := h.Rules.GetDef(r.Context(), company, r.PathValue("key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, defOut(d))
}

func (h *Handler) updateDef(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	var in struct {
		Labels  map[string]string `json:"labels"`
		Choices []string          `json:"choices"`
	}
	if !h.decode(w, r, &in) {
		return
	}
	d, err := h.Rules.UpdateDef(r.Context(), actor, company, r.PathValue("key"), in.Labels, in.Choices)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, defOut(d))
}

func (h *Handler) deleteDef(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	if err := h.Rules.DeleteDef(r.Context(), actor, company, r.PathValue("key")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- values

// valuesOf reads a JSON value as a list: null clears, a string is one
// value, an array of strings several.
func valuesOf(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, true
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, true
		}
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many, true
	}
	return nil, false
}

func (h *Handler) writeValues(w http.ResponseWriter, r *http.Request, accountID, company string) {
	vals, err := h.Rules.Values(r.Context(), accountID, company)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"account": accountID, "company": company, "properties": vals})
}

func (h *Handler) getValues(w http.ResponseWriter, r *http.Request) {
	company, _, ok := h.authorize(w, r, false)
	if !ok {
		return
	}
	h.writeValues(w, r, r.PathValue("id"), company)
}

func (h *Handler) patchValues(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	var in map[string]json.RawMessage
	if !h.decode(w, r, &in) {
		return
	}
	values := make(map[string][]string, len(in))
	var problems []account.FieldProblem
	for k, raw := range in {
		v, ok := valuesOf(raw)
		if !ok {
			problems = append(problems, account.FieldProblem{Field: k, Code: "invalid", Message: "a value is a string, a list of strings, or null to clear it"})
			continue
		}
		values[k] = v
	}
	if len(problems) > 0 {
		h.fail(w, r, &account.ValidationError{Problems: problems})
		return
	}
	id := r.PathValue("id")
	if err := h.Rules.SetValues(r.Context(), actor, id, company, values); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeValues(w, r, id, company)
}

func (h *Handler) putValue(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	var in struct {
		Values json.RawMessage `json:"values"`
	}
	if !h.decode(w, r, &in) {
		return
	}
	key := r.PathValue("key")
	v, ok := valuesOf(in.Values)
	if !ok {
		h.fail(w, r, &account.ValidationError{Problems: []account.FieldProblem{{Field: "values", Code: "invalid", Message: "a value is a string, a list of strings, or null to clear it"}}})
		return
	}
	if _, err := h.Rules.GetDef(r.Context(), company, key); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("account")
	if err := h.Rules.SetValues(r.Context(), actor, id, company, map[string][]string{key: v}); err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeValues(w, r, id, company)
}

// importCSV previews a CSV of values, or applies it with ?confirm=TOKEN
// (the token of its preview).
func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	limit := h.MaxImport
	if limit <= 0 {
		limit = 5 << 20
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	confirm := r.URL.Query().Get("confirm")
	if confirm == "" {
		rep, err := h.Rules.PreviewImport(r.Context(), company, data)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		web.WriteJSON(w, http.StatusOK, rep)
		return
	}
	rep, err := h.Rules.ApplyImport(r.Context(), actor, company, data, confirm)
	if errors.Is(err, rules.ErrImportInvalid) {
		web.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":  web.ErrorDetail{Code: "invalid", Message: err.Error()},
			"report": rep,
		})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, rep)
}

// ---- relations

// relations answers both directions: ?object=X lists the accounts linked
// to object X, ?account=ID the objects the account is linked to. Without
// company, every company the caller administers is searched.
func (h *Handler) relations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	object, acct, key := q.Get("object"), q.Get("account"), q.Get("key")
	if (object == "") == (acct == "") {
		writeError(w, http.StatusBadRequest, web.ErrorDetail{Code: "bad_request", Message: "give exactly one of object or account"})
		return
	}
	companies := []string{q.Get("company")}
	if companies[0] == "" {
		cs, err := h.Auth.AdminCompanies(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if len(cs) == 0 {
			h.fail(w, r, ErrForbidden)
			return
		}
		companies = cs
	}
	links := []rules.Link{}
	for _, c := range companies {
		if _, err := h.Auth.Authorize(r, c, false); err != nil {
			h.fail(w, r, err)
			return
		}
		var found []rules.Link
		var err error
		if object != "" {
			found, err = h.Rules.LinkedAccounts(r.Context(), object, c, key)
		} else {
			found, err = h.Rules.LinkedObjects(r.Context(), acct, c, key)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		links = append(links, found...)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"relations": links})
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

func (h *Handler) listRules(w http.ResponseWriter, r *http.Request) {
	company, _, ok := h.authorize(w, r, false)
	if !ok {
		return
	}
	rs, err := h.Rules.ListRules(r.Context(), company)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]ruleJSON, len(rs))
	for i, rl := range rs {
		out[i] = ruleOut(rl)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"access_rules": out})
}

func (h *Handler) createRule(w http.ResponseWriter, r *http.Request) {
	company, actor, ok := h.authorize(w, r, true)
	if !ok {
		return
	}
	var in rules.RuleInput
	if !h.decode(w, r, &in) {
		return
	}
	rl, err := h.Rules.CreateRule(r.Context(), actor, company, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, ruleOut(rl))
}

// ruleFor loads a rule and checks the caller administers its company.
func (h *Handler) ruleFor(w http.ResponseWriter, r *http.Request, write bool) (store.AccessRule, rules.Actor, bool) {
	// Authenticate before revealing whether the rule exists.
	if _, err := h.Auth.AdminCompanies(r); err != nil {
		h.fail(w, r, err)
		return store.AccessRule{}, rules.Actor{}, false
	}
	rl, err := h.Rules.GetRule(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return store.AccessRule{}, rules.Actor{}, false
	}
	actor, err := h.Auth.Authorize(r, rl.CompanyID, write)
	if err != nil {
		h.fail(w, r, err)
		return store.AccessRule{}, rules.Actor{}, false
	}
	return rl, actor, true
}

func (h *Handler) getRule(w http.ResponseWriter, r *http.Request) {
	rl, _, ok := h.ruleFor(w, r, false)
	if !ok {
		return
	}
	web.WriteJSON(w, http.StatusOK, ruleOut(rl))
}

func (h *Handler) updateRule(w http.ResponseWriter, r *http.Request) {
	rl, actor, ok := h.ruleFor(w, r, true)
	if !ok {
		return
	}
	var in rules.RuleInput
	if !h.decode(w, r, &in) {
		return
	}
	updated, err := h.Rules.UpdateRule(r.Context(), actor, rl.ID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, ruleOut(updated))
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request) {
	rl, actor, ok := h.ruleFor(w, r, true)
	if !ok {
		return
	}
	if err := h.Rules.DeleteRule(r.Context(), actor, rl.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request) {
	company, _, ok := h.authorize(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	acct := q.Get("account")
	if acct == "" {
		writeError(w, http.StatusBadRequest, web.ErrorDetail{Code: "bad_request", Message: "name the account with ?account="})
		return
	}
	ex, err := h.Rules.Explain(r.Context(), acct, company, q.Get("capability"), q.Get("tag"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, ex)
}
