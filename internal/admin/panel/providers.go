package panel

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/docs"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/providers"
)

// providerForm is the provider form's fields as submitted or shown.
type providerForm struct {
	ID, Type, DisplayName, Issuer, ClientID string
	Scopes, AllowedDomains, AllowedTenants  string // space- or comma-separated
	RolesClaim, RoleMap                     string // role_map: one "provider role = gatehouse role" a line
	JITEnabled                              bool
	JITCompany, JITRole                     string
	SecretSet                               bool
}

// providersBody is the providers page.
type providersBody struct {
	List adminsvc.ProviderList
	// CanManage: the caller holds manage_integrations (the add, edit,
	// disable and remove controls).
	CanManage bool
	Form      providerForm
	Types     []string
	// Provider is the provider the page edits (the provider page).
	Provider *adminsvc.ProviderView
	// Guide is a provider guide's text (the guide page).
	Guide, GuideName string
	// Test is a test sign-in's result (the test page).
	Test *testView
}

// testView is a test sign-in's result as the test page shows it.
type testView struct {
	sso.TrialResult
	Claims []claimRow
}

type claimRow struct{ Name, Value string }

func (h *Handler) providersBody(x *call) (providersBody, error) {
	list, err := h.d.Service.ListProviderViews(x.ctx(), x.c)
	if err != nil {
		return providersBody{}, err
	}
	return providersBody{List: list, CanManage: h.d.Service.Can(x.c, adminsvc.OpProviderCreate), Types: providers.Types(),
		Form: providerForm{Type: "oidc", Scopes: "openid email profile"}}, nil
}

func (h *Handler) providers(x *call) error {
	if h.d.Service.Integrations == nil {
		ps, err := h.d.Service.ListProviders(x.c)
		if err != nil {
			return err
		}
		h.render(x, http.StatusOK, "providers_static", "admin.providers.title", ps, nil)
		return nil
	}
	b, err := h.providersBody(x)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "providers", "admin.providers.title", b, nil)
	return nil
}

func (h *Handler) providerPage(x *call) error {
	p, err := h.d.Service.GetProvider(x.ctx(), x.c, x.r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.renderProvider(x, http.StatusOK, p, providerFormOf(p), nil)
}

func (h *Handler) renderProvider(x *call, status int, p adminsvc.ProviderView, f providerForm, problems []string) error {
	b, err := h.providersBody(x)
	if err != nil {
		return err
	}
	b.Provider, b.Form = &p, f
	h.render(x, status, "provider", "admin.providers.edit", b, problems)
	return nil
}

func providerFormOf(p adminsvc.ProviderView) providerForm {
	s := p.Settings
	var lines []string
	for from, to := range s.RoleMap {
		lines = append(lines, from+" = "+to)
	}
	slices.Sort(lines)
	return providerForm{
		ID: p.ID, Type: s.Type, DisplayName: s.DisplayName, Issuer: s.Issuer, ClientID: s.ClientID,
		Scopes: strings.Join(s.Scopes, " "), AllowedDomains: strings.Join(s.AllowedDomains, " "),
		AllowedTenants: strings.Join(s.AllowedTenants, " "), RolesClaim: s.RolesClaim, RoleMap: strings.Join(lines, "\n"),
		JITEnabled: s.JIT.Enabled, JITCompany: s.JIT.Company, JITRole: s.JIT.Role, SecretSet: p.ClientSecret == "set",
	}
}

// submittedProvider reads the form. A role_map line without "=" becomes
// a mapping to "", which the service refuses with the field named.
func submittedProvider(x *call) (providerForm, adminsvc.ProviderInput) {
	v := x.r.PostForm
	f := providerForm{
		ID: strings.TrimSpace(v.Get("id")), Type: v.Get("type"), DisplayName: strings.TrimSpace(v.Get("display_name")),
		Issuer: strings.TrimSpace(v.Get("issuer")), ClientID: strings.TrimSpace(v.Get("client_id")),
		Scopes: v.Get("scopes"), AllowedDomains: v.Get("allowed_domains"), AllowedTenants: v.Get("allowed_tenants"),
		RolesClaim: strings.TrimSpace(v.Get("roles_claim")), RoleMap: v.Get("role_map"),
		JITEnabled: v.Get("jit_enabled") == "true", JITCompany: strings.TrimSpace(v.Get("jit_company")), JITRole: strings.TrimSpace(v.Get("jit_role")),
	}
	var roleMap map[string]string
	for line := range strings.SplitSeq(f.RoleMap, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		from, to, _ := strings.Cut(line, "=")
		if roleMap == nil {
			roleMap = map[string]string{}
		}
		roleMap[strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	in := adminsvc.ProviderInput{ID: f.ID, Enabled: true, Settings: idp.Settings{
		Type: f.Type, DisplayName: f.DisplayName, Issuer: f.Issuer, ClientID: f.ClientID,
		Scopes: words(f.Scopes), AllowedDomains: words(f.AllowedDomains), AllowedTenants: words(f.AllowedTenants),
		RolesClaim: f.RolesClaim, RoleMap: roleMap,
		JIT: idp.JIT{Enabled: f.JITEnabled, Company: f.JITCompany, Role: f.JITRole},
	}}
	// An empty secret field keeps the stored secret.
	if s := v.Get("client_secret"); s != "" {
		in.ClientSecret = &s
	}
	return f, in
}

// words splits a list typed as words separated by spaces or commas.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (h *Handler) createProvider(x *call) error {
	f, in := submittedProvider(x)
	_, err := h.d.Service.CreateProvider(x.ctx(), x.c, in)
	if ps, ok := h.problems(x, err); ok {
		b, err := h.providersBody(x)
		if err != nil {
			return err
		}
		b.Form = f
		h.render(x, http.StatusUnprocessableEntity, "providers", "admin.providers.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"providers", "provider_created")
	return nil
}

func (h *Handler) updateProvider(x *call) error {
	f, in := submittedProvider(x)
	in.ID = x.r.PathValue("id")
	f.ID = in.ID
	_, err := h.d.Service.UpdateProvider(x.ctx(), x.c, in)
	if ps, ok := h.problems(x, err); ok {
		p, err := h.d.Service.GetProvider(x.ctx(), x.c, in.ID)
		if err != nil {
			return err
		}
		f.SecretSet = p.ClientSecret == "set"
		return h.renderProvider(x, http.StatusUnprocessableEntity, p, f, ps)
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"providers", "provider_saved")
	return nil
}

func (h *Handler) setProviderEnabled(enabled bool) view {
	return func(x *call) error {
		if _, err := h.d.Service.SetProviderEnabled(x.ctx(), x.c, x.r.PathValue("id"), enabled); err != nil {
			return err
		}
		notice := "provider_disabled"
		if enabled {
			notice = "provider_enabled"
		}
		redirect(x, Prefix+"providers", notice)
		return nil
	}
}

func (h *Handler) deleteProvider(x *call) error {
	if err := h.d.Service.DeleteProvider(x.ctx(), x.c, x.r.PathValue("id")); err != nil {
		return err
	}
	redirect(x, Prefix+"providers", "provider_removed")
	return nil
}

// providerGuide shows a provider type's guide from docs/providers/, the
// same text the repository holds.
func (h *Handler) providerGuide(x *call) error {
	name := x.r.PathValue("type")
	text, err := docs.ProviderGuide(name)
	if err != nil {
		return err
	}
	b, err := h.providersBody(x)
	if err != nil {
		return err
	}
	b.Guide, b.GuideName = text, name
	h.render(x, http.StatusOK, "provider_guide", "admin.providers.guide", b, nil)
	return nil
}

// startProviderTest sends the browser (a new tab: the form's target) to
// the provider to test it.
func (h *Handler) startProviderTest(x *call) error {
	target, err := h.d.Service.StartProviderTest(x.ctx(), x.c, x.r.PathValue("id"))
	var ve *validation.Error
	if errors.As(err, &ve) {
		redirectError(x, Prefix+"providers", "provider_unavailable")
		return nil
	}
	if err != nil {
		return err
	}
	x.w.Header().Set("Cache-Control", "no-store")
	http.Redirect(x.w, x.r, target, http.StatusSeeOther)
	return nil
}

func (h *Handler) providerTestResult(x *call) error {
	res, err := h.d.Service.ProviderTestResult(x.ctx(), x.c, x.r.PathValue("rid"))
	if err != nil {
		return err
	}
	b, err := h.providersBody(x)
	if err != nil {
		return err
	}
	tv := &testView{TrialResult: res}
	names := make([]string, 0, len(res.Claims))
	for k := range res.Claims {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v, _ := json.Marshal(res.Claims[k])
		tv.Claims = append(tv.Claims, claimRow{Name: k, Value: string(v)})
	}
	b.Test = tv
	h.render(x, http.StatusOK, "provider_test", "admin.providers.test_title", b, nil)
	return nil
}
