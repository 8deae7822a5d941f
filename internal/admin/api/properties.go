package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Account properties, their values, relations and access rules
// (properties, accounts/{id}/properties, relations, access-rules).

// company is the company a call names with ?company=, or the caller's
// only one where op is allowed.
func (h *Handler) company(r *http.Request, c authz.Caller, op adminsvc.Op) (string, error) {
	return h.d.Service.Company(r.Context(), c, op, r.URL.Query().Get("company"))
}

// parseValues reads values as the API takes them: a key maps to a
// string, a list of strings, or null to clear it. field names a key's
// place in the body.
func parseValues(in map[string]json.RawMessage, field func(key string) string) (map[string][]string, error) {
	values := make(map[string][]string, len(in))
	var problems []validation.Problem
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v, ok := rules.ParseValues(in[k])
		if !ok {
			problems = append(problems, validation.New(field(k), "invalid", "a value is a string, a list of strings, or null to clear it"))
			continue
		}
		values[k] = v
	}
	if len(problems) > 0 {
		return nil, &validation.Error{Problems: problems}
	}
	return values, nil
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
	company, err := h.company(r, c, adminsvc.OpPropertyList)
	if err != nil {
		return err
	}
	defs, err := h.d.Service.ListProperties(r.Context(), c, company)
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
	company, err := h.company(r, c, adminsvc.OpPropertyCreate)
	if err != nil {
		return err
	}
	var in struct {
		Key     string            `json:"key"`
		Labels  map[string]string `json:"labels"`
		Type    string            `json:"type"`
		Choices []string          `json:"choices"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	d, err := h.d.Service.CreateProperty(r.Context(), c, store.PropertyDef{CompanyID: company, Key: in.Key, Labels: in.Labels, Type: in.Type, Choices: in.Choices})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, defOut(d))
	return nil
}

func (h *Handler) getDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpPropertyGet)
	if err != nil {
		return err
	}
	d, err := h.d.Service.GetProperty(r.Context(), c, company, r.PathValue("key"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, defOut(d))
	return nil
}

func (h *Handler) updateDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpPropertyUpdate)
	if err != nil {
		return err
	}
	var in struct {
		Labels  map[string]string `json:"labels"`
		Choices []string          `json:"choices"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	d, err := h.d.Service.UpdateProperty(r.Context(), c, company, r.PathValue("key"), in.Labels, in.Choices)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, defOut(d))
	return nil
}

func (h *Handler) deleteDef(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpPropertyDelete)
	if err != nil {
		return err
	}
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.d.Service.DeleteProperty(r.Context(), c, company, r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- values

func writeValues(w http.ResponseWriter, accountID, company string, vals map[string]any) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"account": accountID, "company": company, "properties": vals})
}

func (h *Handler) getValues(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpValuesGet)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	vals, err := h.d.Service.PropertyValues(r.Context(), c, id, company)
	if err != nil {
		return err
	}
	writeValues(w, id, company, vals)
	return nil
}

func (h *Handler) patchValues(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpValuesSet)
	if err != nil {
		return err
	}
	var in map[string]json.RawMessage
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	values, err := parseValues(in, func(k string) string { return k })
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	vals, err := h.d.Service.SetPropertyValues(r.Context(), c, id, company, values)
	if err != nil {
		return err
	}
	writeValues(w, id, company, vals)
	return nil
}

func (h *Handler) putValue(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpValuesSet)
	if err != nil {
		return err
	}
	var in struct {
		Values json.RawMessage `json:"values"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	key := r.PathValue("key")
	values, err := parseValues(map[string]json.RawMessage{key: in.Values}, func(string) string { return "values" })
	if err != nil {
		return err
	}
	if _, err := h.d.Service.GetProperty(r.Context(), c, company, key); err != nil {
		return err
	}
	id := r.PathValue("account")
	vals, err := h.d.Service.SetPropertyValues(r.Context(), c, id, company, values)
	if err != nil {
		return err
	}
	writeValues(w, id, company, vals)
	return nil
}

// importCSV previews a CSV of values, or applies it with ?confirm=TOKEN
// (the token of its preview).
func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpValuesImport)
	if err != nil {
		return err
	}
	limit := h.d.MaxImport
	if limit <= 0 {
		limit = 5 << 20
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Message: fmt.Sprintf("the file is larger than %d bytes; split it into several imports", limit)}
	}
	if err != nil {
		return err
	}
	confirm := r.URL.Query().Get("confirm")
	if confirm == "" {
		rep, err := h.d.Service.PreviewImport(r.Context(), c, company, data)
		if tl := (*rules.ImportTooLargeError)(nil); errors.As(err, &tl) {
			return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "too_large", Message: tl.Message}
		}
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
	rep, err := h.d.Service.ApplyImport(r.Context(), c, company, data, confirm)
	if tl := (*rules.ImportTooLargeError)(nil); errors.As(err, &tl) {
		return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "too_large", Message: tl.Message}
	}
	if errors.Is(err, rules.ErrImportInvalid) {
		httpapi.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":  httpapi.ErrorDetail{Code: "invalid", Message: err.Error()},
			"report": rep,
		})
		return nil
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// relations answers both directions: ?object=X lists the accounts linked
// to object X, ?account=ID the objects the account is linked to. Without
// company, every company where the caller may is searched.
func (h *Handler) relations(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	q := r.URL.Query()
	object, acct := q.Get("object"), q.Get("account")
	if (object == "") == (acct == "") {
		return badRequest("give exactly one of object or account")
	}
	var companies []string
	if co := q.Get("company"); co != "" {
		companies = []string{co}
	}
	links, err := h.d.Service.Relations(r.Context(), c, companies, object, acct, q.Get("key"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"relations": links})
	return nil
}

// ---- access rules

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
	company, err := h.company(r, c, adminsvc.OpRuleList)
	if err != nil {
		return err
	}
	rs, err := h.d.Service.ListRules(r.Context(), c, company)
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
	company, err := h.company(r, c, adminsvc.OpRuleCreate)
	if err != nil {
		return err
	}
	var in rules.RuleInput
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	rl, err := h.d.Service.CreateRule(r.Context(), c, company, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, ruleOut(rl))
	return nil
}

func (h *Handler) getRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	rl, err := h.d.Service.GetRule(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ruleOut(rl))
	return nil
}

func (h *Handler) updateRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var in rules.RuleInput
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	rl, err := h.d.Service.UpdateRule(r.Context(), c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ruleOut(rl))
	return nil
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if _, err := h.d.Service.DeleteRule(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	company, err := h.company(r, c, adminsvc.OpRuleExplain)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	acct := q.Get("account")
	if acct == "" {
		return badRequest("name the account with ?account=")
	}
	ex, err := h.d.Service.Explain(r.Context(), c, acct, company, q.Get("capability"), q.Get("tag"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ex)
	return nil
}
