package panel

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ruleRow is one rule in the list.
type ruleRow struct {
	ID, Name, Capability, Tag, Condition string
	Position                             int
	Enabled                              bool
}

// ruleForm is a rule's form as shown or submitted.
type ruleForm struct {
	ID, Name, Capability, Tag, Condition, Position string
	Enabled                                        bool
}

// rulesBody is the rules page of one company.
type rulesBody struct {
	scope
	Rows         []ruleRow
	Form         ruleForm
	Capabilities []string
	Example      string
}

// conditionExample is the syntax help shown by every condition editor.
const conditionExample = `{"all": [{"property": "site", "op": "equals", "value": "Toulouse"},
         {"role": true, "op": "in", "values": ["manager", "admin"]}]}`

func (h *Handler) capabilities() []string {
	roles := h.d.Service.Accounts.Roles()
	seen := map[string]bool{}
	for _, r := range roles.RoleNames() {
		for _, kind := range []string{store.KindPersonal, store.KindSharedComputer} {
			for _, c := range roles.Capabilities(r, kind) {
				seen[c] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func prettyCondition(c []byte) string {
	var v any
	if json.Unmarshal(c, &v) != nil {
		return string(c)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(c)
	}
	return string(b)
}

func (h *Handler) rulesBody(x *call, sc scope) (rulesBody, error) {
	rs, err := h.d.Service.ListRules(x.ctx(), x.c, sc.Company)
	if err != nil {
		return rulesBody{}, err
	}
	b := rulesBody{scope: sc, Capabilities: h.capabilities(), Example: conditionExample, Form: ruleForm{Enabled: true}}
	for _, r := range rs {
		b.Rows = append(b.Rows, ruleRow{ID: r.ID, Name: r.Name, Capability: r.Capability, Tag: r.Tag,
			Condition: string(r.Condition), Position: r.Position, Enabled: r.Enabled})
	}
	return b, nil
}

func (h *Handler) rulesPage(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpRuleList)
	if err != nil {
		return err
	}
	b, err := h.rulesBody(x, sc)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "rules", "admin.rules.title", b, nil)
	return nil
}

// submittedRule reads a rule form into the form (to show again) and the
// service's input.
func submittedRule(x *call) (ruleForm, rules.RuleInput, []string) {
	f := ruleForm{Name: formValue(x, "name"), Capability: formValue(x, "capability"), Tag: formValue(x, "tag"),
		Condition: strings.TrimSpace(x.r.PostFormValue("condition")), Position: formValue(x, "position"),
		Enabled: x.r.PostFormValue("enabled") != ""}
	in := rules.RuleInput{Name: &f.Name, Capability: &f.Capability, Tag: &f.Tag, Enabled: &f.Enabled}
	var bad []string
	if f.Condition != "" {
		if json.Valid([]byte(f.Condition)) {
			in.Condition = json.RawMessage(f.Condition)
		} else {
			bad = append(bad, "condition")
		}
	}
	if f.Position != "" {
		n, err := strconv.Atoi(f.Position)
		if err != nil {
			bad = append(bad, "position")
		} else {
			in.Position = &n
		}
	}
	return f, in, bad
}

// badFields is the validation error of fields the form itself could not
// read, before the service sees them.
func badFields(fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	ve := &validation.Error{}
	for _, f := range fields {
		msg := "not a number"
		if f == "condition" {
			msg = "not valid JSON"
		}
		ve.Problems = append(ve.Problems, validation.Problem{Field: f, Code: "invalid", Message: msg})
	}
	return ve
}

func (h *Handler) createRule(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpRuleCreate)
	if err != nil {
		return err
	}
	f, in, bad := submittedRule(x)
	err = badFields(bad)
	if err == nil {
		_, err = h.d.Service.CreateRule(x.ctx(), x.c, sc.Company, in)
	}
	if ps, ok := h.problems(x, err); ok {
		b, err := h.rulesBody(x, sc)
		if err != nil {
			return err
		}
		b.Form = f
		h.render(x, http.StatusUnprocessableEntity, "rules", "admin.rules.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"rules", "rule_created", "company", sc.Company)
	return nil
}

// ruleFor loads the {id} rule; one of another company is not found.
func (h *Handler) ruleFor(x *call) (store.AccessRule, error) {
	return h.d.Service.GetRule(x.ctx(), x.c, x.r.PathValue("id"))
}

// ruleBody is one rule's edit page.
type ruleBody struct {
	Company      string
	Form         ruleForm
	Capabilities []string
	Example      string
}

func (h *Handler) renderRule(x *call, status int, company string, f ruleForm, ps []string) {
	h.render(x, status, "rule", "admin.rule.title", ruleBody{Company: company, Form: f, Capabilities: h.capabilities(), Example: conditionExample}, ps)
}

func (h *Handler) rulePage(x *call) error {
	r, err := h.ruleFor(x)
	if err != nil {
		return err
	}
	h.renderRule(x, http.StatusOK, r.CompanyID, ruleForm{ID: r.ID, Name: r.Name, Capability: r.Capability, Tag: r.Tag,
		Condition: prettyCondition(r.Condition), Position: strconv.Itoa(r.Position), Enabled: r.Enabled}, nil)
	return nil
}

func (h *Handler) updateRule(x *call) error {
	id := x.r.PathValue("id")
	f, in, bad := submittedRule(x)
	f.ID = id
	var r store.AccessRule
	err := badFields(bad)
	if err == nil {
		r, err = h.d.Service.UpdateRule(x.ctx(), x.c, id, in)
	}
	if ps, ok := h.problems(x, err); ok {
		// The form is shown again only to who may see the rule.
		if r, err = h.ruleFor(x); err != nil {
			return err
		}
		h.renderRule(x, http.StatusUnprocessableEntity, r.CompanyID, f, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"rules", "rule_saved", "company", r.CompanyID)
	return nil
}

func (h *Handler) toggleRule(x *call) error {
	enabled := x.r.PostFormValue("enabled") == "true"
	r, err := h.d.Service.UpdateRule(x.ctx(), x.c, x.r.PathValue("id"), rules.RuleInput{Enabled: &enabled})
	if code, ok := refusal(err); ok {
		redirectError(x, Prefix+"rules", code)
		return nil
	}
	if err != nil {
		return err
	}
	notice := "rule_disabled"
	if enabled {
		notice = "rule_enabled"
	}
	redirect(x, Prefix+"rules", notice, "company", r.CompanyID)
	return nil
}

func (h *Handler) deleteRule(x *call) error {
	r, err := h.d.Service.DeleteRule(x.ctx(), x.c, x.r.PathValue("id"))
	if err != nil {
		return err
	}
	redirect(x, Prefix+"rules", "rule_deleted", "company", r.CompanyID)
	return nil
}
