package panel

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// maxUploadBytes bounds a CSV import upload when Handler.MaxImport is 0.
const maxUploadBytes = 5 << 20

// propertyTypes are the types a definition may take, in the form's order.
var propertyTypes = []string{store.PropertyText, store.PropertyChoice, store.PropertyMultiChoice, store.PropertyRelation}

// scope is the company a properties or rules page concerns, among the
// companies the caller administers.
type scope struct {
	Company   string
	Companies []string
}

// companyScope is the company a properties or rules page concerns, among
// those where the caller may run op: the one the query or form names, the
// only one, or, on a page with several to choose from, the first. A form
// post must name it, so a change never lands in a company by default.
func (h *Handler) companyScope(x *call, op adminsvc.Op) (scope, error) {
	cs := h.Service.Companies(x.c, op)
	co, err := h.Service.Company(x.ctx(), x.c, op, strings.TrimSpace(x.r.FormValue("company")))
	if errors.Is(err, adminsvc.ErrCompanyRequired) && x.r.Method == http.MethodGet {
		co, err = cs[0], nil
	}
	if err != nil {
		return scope{}, err
	}
	return scope{Company: co, Companies: cs}, nil
}

// label is a property's label in lang, English when it has none there.
func label(d store.PropertyDef, lang string) string {
	if l := d.Labels[lang]; l != "" {
		return l
	}
	if l := d.Labels["en"]; l != "" {
		return l
	}
	return d.Key
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ---- property definitions

// defRow is one definition with its edit form.
type defRow struct {
	Key, Type, Label string
	Labels           map[string]string
	Choices          string // one per line
	HasChoices       bool
}

// defForm is the new-property form as submitted.
type defForm struct {
	Key, Type, Choices string
	Labels             map[string]string
}

// propsBody is the properties page of one company.
type propsBody struct {
	scope
	Defs      []defRow
	Form      defForm
	Types     []string
	Languages []string
	// InUse names the rules that keep a property from being deleted (or a
	// choice from being removed).
	InUse *rules.InUseError
}

func (h *Handler) propsBody(x *call, sc scope) (propsBody, error) {
	defs, err := h.Service.ListProperties(x.ctx(), x.c, sc.Company)
	if err != nil {
		return propsBody{}, err
	}
	b := propsBody{scope: sc, Types: propertyTypes, Languages: i18n.Languages,
		Form: defForm{Type: store.PropertyChoice, Labels: map[string]string{}}}
	for _, d := range defs {
		b.Defs = append(b.Defs, defRow{Key: d.Key, Type: d.Type, Label: label(d, x.lang), Labels: d.Labels,
			Choices: strings.Join(d.Choices, "\n"), HasChoices: d.Type == store.PropertyChoice || d.Type == store.PropertyMultiChoice})
	}
	return b, nil
}

func (h *Handler) properties(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpPropertyList)
	if err != nil {
		return err
	}
	b, err := h.propsBody(x, sc)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "properties", "admin.properties.title", b, nil)
	return nil
}

// labelsOf reads label_en, label_fr, label_ja; empty ones are left out.
func labelsOf(x *call) map[string]string {
	out := map[string]string{}
	for _, lang := range i18n.Languages {
		if v := formValue(x, "label_"+lang); v != "" {
			out[lang] = v
		}
	}
	return out
}

func (h *Handler) createProperty(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpPropertyCreate)
	if err != nil {
		return err
	}
	f := defForm{Key: formValue(x, "key"), Type: formValue(x, "type"), Choices: x.r.PostFormValue("choices"), Labels: labelsOf(x)}
	d := store.PropertyDef{CompanyID: sc.Company, Key: f.Key, Type: f.Type, Labels: f.Labels}
	if f.Type == store.PropertyChoice || f.Type == store.PropertyMultiChoice {
		d.Choices = lines(f.Choices)
	}
	_, err = h.Service.CreateProperty(x.ctx(), x.c, d)
	if ps, ok := h.problems(x, err); ok {
		b, err := h.propsBody(x, sc)
		if err != nil {
			return err
		}
		b.Form = f
		h.render(x, http.StatusUnprocessableEntity, "properties", "admin.properties.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"properties", "property_created", "company", sc.Company)
	return nil
}

// propsRefused shows the properties page with why a change was refused:
// field problems, or the rules that use the property.
func (h *Handler) propsRefused(x *call, sc scope, err error) (bool, error) {
	var iu *rules.InUseError
	status := http.StatusUnprocessableEntity
	ps, ok := h.problems(x, err)
	if errors.As(err, &iu) {
		ok, status = true, http.StatusConflict
	}
	if !ok {
		return false, nil
	}
	b, berr := h.propsBody(x, sc)
	if berr != nil {
		return true, berr
	}
	b.InUse = iu
	h.render(x, status, "properties", "admin.properties.title", b, ps)
	return true, nil
}

func (h *Handler) updateProperty(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpPropertyUpdate)
	if err != nil {
		return err
	}
	key := x.r.PathValue("key")
	d, err := h.Service.GetProperty(x.ctx(), x.c, sc.Company, key)
	if err != nil {
		return err
	}
	var choices []string
	if d.Type == store.PropertyChoice || d.Type == store.PropertyMultiChoice {
		choices = lines(x.r.PostFormValue("choices"))
		if choices == nil {
			choices = []string{} // cleared: the service says a choice is needed
		}
	}
	_, err = h.Service.UpdateProperty(x.ctx(), x.c, sc.Company, key, labelsOf(x), choices)
	if done, rerr := h.propsRefused(x, sc, err); done || rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"properties", "property_saved", "company", sc.Company)
	return nil
}

func (h *Handler) deleteProperty(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpPropertyDelete)
	if err != nil {
		return err
	}
	err = h.Service.DeleteProperty(x.ctx(), x.c, sc.Company, x.r.PathValue("key"))
	if done, rerr := h.propsRefused(x, sc, err); done || rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"properties", "property_deleted", "company", sc.Company)
	return nil
}

// ---- property values on the user page

// choiceOpt is one choice of a choice field.
type choiceOpt struct {
	Value    string
	Selected bool
}

// valueField is one property of a user's values form.
type valueField struct {
	Key, Label, Type, Value string // Value: text, choice, or relation ids one per line
	Choices                 []choiceOpt
	Error                   string
}

// valuesForm is the account's property values in one company.
type valuesForm struct {
	Company string
	Fields  []valueField
}

// valuesForms builds a values form for each company of the account the
// caller administers; typed and errs (by company, then key) keep what a
// refused form held.
func (h *Handler) valuesForms(x *call, a adminsvc.AccountJSON) ([]valuesForm, error) {
	var out []valuesForm
	companies := h.Service.Companies(x.c, adminsvc.OpValuesGet)
	for _, m := range a.Memberships {
		if !slices.Contains(companies, m.Company) {
			continue
		}
		defs, err := h.Service.ListProperties(x.ctx(), x.c, m.Company)
		if err != nil {
			return nil, err
		}
		if len(defs) == 0 {
			continue
		}
		vals, err := h.Service.PropertyValues(x.ctx(), x.c, a.ID, m.Company)
		if err != nil {
			return nil, err
		}
		f := valuesForm{Company: m.Company}
		for _, d := range defs {
			f.Fields = append(f.Fields, field(d, x.lang, valueStrings(vals[d.Key])))
		}
		out = append(out, f)
	}
	return out, nil
}

// valueStrings reads a value as the rules service shapes it.
func valueStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func field(d store.PropertyDef, lang string, values []string) valueField {
	f := valueField{Key: d.Key, Label: label(d, lang), Type: d.Type, Value: strings.Join(values, "\n")}
	for _, c := range d.Choices {
		f.Choices = append(f.Choices, choiceOpt{Value: c, Selected: slices.Contains(values, c)})
	}
	return f
}

// submittedValues reads a values form: "key" names each property shown,
// "p.KEY" holds its value (several for multi_choice; relation ids one per
// line). Properties not on the form are left alone.
func submittedValues(x *call, defs []store.PropertyDef) map[string][]string {
	out := map[string][]string{}
	for _, key := range x.r.PostForm["key"] {
		i := slices.IndexFunc(defs, func(d store.PropertyDef) bool { return d.Key == key })
		if i < 0 {
			out[key] = nil // the service reports it unknown
			continue
		}
		raw := x.r.PostForm["p."+key]
		var vals []string
		switch defs[i].Type {
		case store.PropertyMultiChoice:
			vals = raw
		case store.PropertyRelation:
			for _, r := range raw {
				vals = append(vals, lines(strings.ReplaceAll(r, ";", "\n"))...)
			}
		default:
			if len(raw) > 0 && strings.TrimSpace(raw[0]) != "" {
				vals = []string{strings.TrimSpace(raw[0])}
			}
		}
		out[key] = vals
	}
	return out
}

func (h *Handler) setValues(x *call) error {
	id := x.r.PathValue("id")
	company := formValue(x, "company")
	defs, err := h.Service.ValueDefinitions(x.ctx(), x.c, id, company)
	if err != nil {
		return err
	}
	values := submittedValues(x, defs)
	_, err = h.Service.SetPropertyValues(x.ctx(), x.c, id, company, values)
	var ve *validation.Error
	if errors.As(err, &ve) {
		errs := map[string]string{}
		var ps []string
		for _, p := range ve.Problems {
			key, _, _ := strings.Cut(p.Field, "[")
			name := key
			if i := slices.IndexFunc(defs, func(d store.PropertyDef) bool { return d.Key == key }); i >= 0 {
				name = label(defs[i], x.lang)
			}
			if _, dup := errs[key]; !dup {
				errs[key] = p.Message
			}
			ps = append(ps, name+": "+p.Message)
		}
		return h.userProblems(x, id, ps, func(b *userBody) {
			for i, f := range b.Properties {
				if f.Company != company {
					continue
				}
				for j, fl := range f.Fields {
					d := defs[slices.IndexFunc(defs, func(d store.PropertyDef) bool { return d.Key == fl.Key })]
					if v, ok := values[fl.Key]; ok {
						fl = field(d, x.lang, v)
					}
					fl.Error = errs[fl.Key]
					b.Properties[i].Fields[j] = fl
				}
			}
		})
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "values_saved")
	return nil
}

// ---- access rules

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
	roles := h.Service.Accounts.Roles()
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
	rs, err := h.Service.ListRules(x.ctx(), x.c, sc.Company)
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
		p := validation.New(f, "invalid", "not a number")
		if f == "condition" {
			p = validation.New(f, "invalid", "not valid JSON")
		}
		ve.Problems = append(ve.Problems, p)
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
		_, err = h.Service.CreateRule(x.ctx(), x.c, sc.Company, in)
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
	return h.Service.GetRule(x.ctx(), x.c, x.r.PathValue("id"))
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
		r, err = h.Service.UpdateRule(x.ctx(), x.c, id, in)
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
	r, err := h.Service.UpdateRule(x.ctx(), x.c, x.r.PathValue("id"), rules.RuleInput{Enabled: &enabled})
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
	r, err := h.Service.DeleteRule(x.ctx(), x.c, x.r.PathValue("id"))
	if err != nil {
		return err
	}
	redirect(x, Prefix+"rules", "rule_deleted", "company", r.CompanyID)
	return nil
}

// ---- explain

// explainRow is one rule of an explanation.
type explainRow struct {
	rules.RuleMatch
	On []string // "key = value" the rule matched on
}

// explainBody is the Explain form and, once asked, its answer.
type explainBody struct {
	scope
	Account, Capability, Tag string
	Capabilities             []string
	Asked                    bool
	Email                    string
	Result                   rules.Explanation
	Values                   []string // "key = v1, v2"
	Rows                     []explainRow
}

func (h *Handler) explain(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpRuleExplain)
	if err != nil {
		return err
	}
	q := x.r.URL.Query()
	b := explainBody{scope: sc, Account: strings.TrimSpace(q.Get("account")), Capability: strings.TrimSpace(q.Get("capability")),
		Tag: strings.TrimSpace(q.Get("tag")), Capabilities: h.capabilities()}
	if b.Account == "" {
		h.render(x, http.StatusOK, "explain", "admin.explain.title", b, nil)
		return nil
	}
	id, err := h.Service.AccountRef(x.ctx(), x.c, b.Account)
	if err != nil {
		return err
	}
	ex, err := h.Service.Explain(x.ctx(), x.c, id, sc.Company, b.Capability, b.Tag)
	if errors.Is(err, store.ErrNotFound) {
		h.render(x, http.StatusNotFound, "explain", "admin.explain.title", b, []string{h.Renderer.Catalog.T(x.lang, "admin.explain.no_account")})
		return nil
	}
	if err != nil {
		return err
	}
	b.Asked, b.Result = true, ex
	emails, err := h.Service.Emails(x.ctx(), x.c, []string{ex.Account})
	if err != nil {
		return err
	}
	b.Email = emails[ex.Account]
	for _, k := range slices.Sorted(maps.Keys(ex.Values)) {
		b.Values = append(b.Values, k+" = "+strings.Join(ex.Values[k], ", "))
	}
	for _, m := range ex.Rules {
		row := explainRow{RuleMatch: m}
		for _, k := range slices.Sorted(maps.Keys(m.MatchedOn)) {
			row.On = append(row.On, k+" = "+strings.Join(m.MatchedOn[k], ", "))
		}
		b.Rows = append(b.Rows, row)
	}
	h.render(x, http.StatusOK, "explain", "admin.explain.title", b, nil)
	return nil
}

// ---- CSV import

// importRow is one row of a preview.
type importRow struct {
	Line    int
	Email   string
	Changes []string // "key: before → after"
	Errors  []string
}

// importBody is the import page: the upload form, or a preview.
type importBody struct {
	scope
	Previewed bool
	Valid     bool
	Data      string // the previewed file, base64, sent back to apply it
	Confirm   string
	FileErrs  []string
	Rows      []importRow
	BadRows   int
}

func (h *Handler) importPage(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImportPreview)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "import", "admin.import.title", importBody{scope: sc}, nil)
	return nil
}

// uploaded reads the CSV from the file input, or the text area when no
// file was chosen.
func uploaded(x *call) ([]byte, error) {
	if x.r.MultipartForm != nil {
		if fhs := x.r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			// The whole form was read within the upload limit, so the
			// file is too.
			return io.ReadAll(f)
		}
	}
	return []byte(x.r.FormValue("csv")), nil
}

func problemText(p validation.Problem) string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

func importView(sc scope, data []byte, rep rules.ImportReport) importBody {
	b := importBody{scope: sc, Previewed: true, Valid: rep.Valid, Confirm: rep.Confirm,
		Data: base64.StdEncoding.EncodeToString(data)}
	for _, p := range rep.Errors {
		b.FileErrs = append(b.FileErrs, problemText(p))
	}
	for _, r := range rep.Rows {
		row := importRow{Line: r.Line, Email: r.Email}
		for _, k := range slices.Sorted(maps.Keys(r.Changes)) {
			c := r.Changes[k]
			row.Changes = append(row.Changes, k+": "+showValue(c.Before)+" → "+showValue(c.After))
		}
		for _, p := range r.Errors {
			row.Errors = append(row.Errors, problemText(p))
		}
		if len(row.Errors) > 0 {
			b.BadRows++
		}
		b.Rows = append(b.Rows, row)
	}
	return b
}

func showValue(v any) string {
	vals := valueStrings(v)
	if len(vals) == 0 {
		return "∅"
	}
	return strings.Join(vals, ", ")
}

func (h *Handler) importPreview(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImportPreview)
	if err != nil {
		return err
	}
	data, err := uploaded(x)
	if err != nil {
		return err
	}
	rep, err := h.Service.PreviewImport(x.ctx(), x.c, sc.Company, data)
	if tl := (*rules.ImportTooLargeError)(nil); errors.As(err, &tl) {
		h.render(x, http.StatusUnprocessableEntity, "import", "admin.import.title", importBody{scope: sc}, []string{tl.Message})
		return nil
	}
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "import", "admin.import.title", importView(sc, data, rep), nil)
	return nil
}

func (h *Handler) importApply(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImport)
	if err != nil {
		return err
	}
	data, err := base64.StdEncoding.DecodeString(x.r.PostFormValue("data"))
	if err != nil {
		redirectError(x, Prefix+"import?company="+sc.Company, "stale_import")
		return nil
	}
	rep, err := h.Service.ApplyImport(x.ctx(), x.c, sc.Company, data, x.r.PostFormValue("confirm"))
	switch {
	case errors.Is(err, rules.ErrStaleImport):
		redirectError(x, Prefix+"import?company="+sc.Company, "stale_import")
		return nil
	case errors.Is(err, rules.ErrImportInvalid):
		// The data changed since the preview: show what is wrong now.
		h.render(x, http.StatusUnprocessableEntity, "import", "admin.import.title", importView(sc, data, rep), nil)
		return nil
	case err != nil:
		return err
	}
	n := 0
	for _, r := range rep.Rows {
		if len(r.Changes) > 0 {
			n++
		}
	}
	redirect(x, Prefix+"properties", "imported", "company", sc.Company, "n", strconv.Itoa(n))
	return nil
}
