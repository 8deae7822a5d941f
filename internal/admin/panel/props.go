package panel

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// maxUploadBytes bounds a CSV import upload when Deps.MaxImport is 0.
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
	cs := h.d.Service.Companies(x.c, op)
	co, err := h.d.Service.Company(x.ctx(), x.c, op, strings.TrimSpace(x.r.FormValue("company")))
	if errors.Is(err, apperr.ErrCompanyRequired) && x.r.Method == http.MethodGet {
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
	defs, err := h.d.Service.ListProperties(x.ctx(), x.c, sc.Company)
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
	_, err = h.d.Service.CreateProperty(x.ctx(), x.c, d)
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
	d, err := h.d.Service.GetProperty(x.ctx(), x.c, sc.Company, key)
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
	_, err = h.d.Service.UpdateProperty(x.ctx(), x.c, sc.Company, key, labelsOf(x), choices)
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
	err = h.d.Service.DeleteProperty(x.ctx(), x.c, sc.Company, x.r.PathValue("key"))
	if done, rerr := h.propsRefused(x, sc, err); done || rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"properties", "property_deleted", "company", sc.Company)
	return nil
}
