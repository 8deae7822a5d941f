package panel

import (
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

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
	companies := h.d.Service.Companies(x.c, adminsvc.OpValuesGet)
	for _, m := range a.Memberships {
		if !slices.Contains(companies, m.Company) {
			continue
		}
		defs, err := h.d.Service.ListProperties(x.ctx(), x.c, m.Company)
		if err != nil {
			return nil, err
		}
		if len(defs) == 0 {
			continue
		}
		vals, err := h.d.Service.PropertyValues(x.ctx(), x.c, a.ID, m.Company)
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
	defs, err := h.d.Service.ValueDefinitions(x.ctx(), x.c, id, company)
	if err != nil {
		return err
	}
	values := submittedValues(x, defs)
	_, err = h.d.Service.SetPropertyValues(x.ctx(), x.c, id, company, values)
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
