package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/i18n"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Prefix is where the API lives.
const Prefix = "/.gatehouse/api/v1/"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Deps are what the JSON API needs, given to New at once.
type Deps struct {
	Service  *adminsvc.Service
	CSRF     *web.CSRF
	Catalog  *i18n.Catalog // error messages
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
	// MaxImport bounds a CSV import body (default 5 MiB).
	MaxImport int64
}

// Handler serves the JSON API over the admin service.
type Handler struct{ d Deps }

// New builds the JSON API, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

func badRequest(format string, args ...any) error { return httpapi.BadRequest(format, args...) }

// Mount registers every route, each as one operation of the service
// behind the Guard, so an endpoint cannot be added without naming what it
// does and who may.
func (h *Handler) Mount(mux *http.ServeMux) {
	g := &Guard{Service: h.d.Service, CSRF: h.d.CSRF, Catalog: h.d.Catalog, ClientIP: h.d.ClientIP, Logger: h.d.Logger}
	for _, rt := range []struct {
		pattern string
		op      adminsvc.Op
		fn      Endpoint
	}{
		{"GET accounts", adminsvc.OpAccountList, h.listAccounts},
		{"POST accounts", adminsvc.OpAccountCreate, h.createAccount},
		{"GET accounts.csv", adminsvc.OpAccountExport, h.exportCSV},
		{"GET accounts/{id}", adminsvc.OpAccountGet, h.getAccount},
		{"PATCH accounts/{id}", adminsvc.OpAccountUpdate, h.updateAccount},
		{"DELETE accounts/{id}", adminsvc.OpAccountDelete, h.deleteAccount},
		{"POST accounts/{id}/block", adminsvc.OpAccountBlock, h.lifecycle(adminsvc.ActionBlock)},
		{"POST accounts/{id}/unblock", adminsvc.OpAccountUnblock, h.lifecycle(adminsvc.ActionUnblock)},
		{"POST accounts/{id}/deactivate", adminsvc.OpAccountDeactivate, h.lifecycle(adminsvc.ActionDeactivate)},
		{"GET accounts/{id}/sessions", adminsvc.OpSessionList, h.listSessions},
		{"DELETE accounts/{id}/sessions", adminsvc.OpSessionsEnd, h.endSessions},
		{"DELETE accounts/{id}/sessions/{sid}", adminsvc.OpSessionEnd, h.endSession},
		{"PUT accounts/{id}/memberships/{company}", adminsvc.OpMembershipSet, h.setMembership},
		{"DELETE accounts/{id}/memberships/{company}", adminsvc.OpMembershipRemove, h.removeMembership},
		{"GET accounts/{id}/credentials", adminsvc.OpPasskeyList, h.listCredentials},
		{"DELETE accounts/{id}/credentials/{credId}", adminsvc.OpPasskeyRevoke, h.revokeCredential},
		{"POST accounts/{id}/enrolments", adminsvc.OpEnrolmentCreate, h.createEnrolment},
		{"DELETE accounts/{id}/mfa", adminsvc.OpMFAReset, h.resetSecondFactor},
		{"GET accounts/{id}/allowed-networks", adminsvc.OpNetworksGet, h.getNetworks},
		{"PUT accounts/{id}/allowed-networks", adminsvc.OpNetworksSet, h.putNetworks},
		{"GET accounts/{id}/properties", adminsvc.OpValuesGet, h.getValues},
		{"PATCH accounts/{id}/properties", adminsvc.OpValuesSet, h.patchValues},
		{"POST invitations", adminsvc.OpInvite, h.invite},
		{"POST accounts/{id}/invitation", adminsvc.OpInvitationResend, h.resendInvitation},
		{"GET companies", adminsvc.OpCompanyList, h.listCompanies},
		{"POST companies", adminsvc.OpCompanyCreate, h.createCompany},
		{"PATCH companies/{id}", adminsvc.OpCompanyRename, h.renameCompany},
		{"GET companies/{id}/members", adminsvc.OpCompanyMembers, h.companyMembers},
		{"GET sites", adminsvc.OpSiteList, h.listSites},
		{"POST sites", adminsvc.OpSiteCreate, h.createSite},
		{"PATCH sites/{id}", adminsvc.OpSiteRename, h.renameSite},
		{"GET sites/{id}/members", adminsvc.OpSiteMembers, h.siteMembers},
		{"PUT sites/{id}/members", adminsvc.OpSiteMembersSet, h.setSiteMembers},
		{"GET providers", adminsvc.OpProviderList, h.providers},
		{"POST providers", adminsvc.OpProviderCreate, h.createProvider},
		{"GET providers/{id}", adminsvc.OpProviderGet, h.getProvider},
		{"PUT providers/{id}", adminsvc.OpProviderUpdate, h.updateProvider},
		{"DELETE providers/{id}", adminsvc.OpProviderDelete, h.deleteProvider},
		{"POST providers/{id}/disable", adminsvc.OpProviderDisable, h.enableProvider(false)},
		{"POST providers/{id}/enable", adminsvc.OpProviderEnable, h.enableProvider(true)},
		{"POST providers/{id}/test", adminsvc.OpProviderTest, h.startProviderTest},
		{"GET providers/{id}/test/{rid}", adminsvc.OpProviderTest, h.providerTestResult},
		{"GET audit", adminsvc.OpAuditList, h.audit},
		{"GET api-tokens", adminsvc.OpTokenList, h.listTokens},
		{"POST api-tokens", adminsvc.OpTokenCreate, h.createToken},
		{"DELETE api-tokens/{id}", adminsvc.OpTokenRevoke, h.revokeToken},
		{"GET properties", adminsvc.OpPropertyList, h.listDefs},
		{"POST properties", adminsvc.OpPropertyCreate, h.createDef},
		{"GET properties/{key}", adminsvc.OpPropertyGet, h.getDef},
		{"PATCH properties/{key}", adminsvc.OpPropertyUpdate, h.updateDef},
		{"DELETE properties/{key}", adminsvc.OpPropertyDelete, h.deleteDef},
		{"PUT properties/{key}/values/{account}", adminsvc.OpValuesSet, h.putValue},
		// A preview (no ?confirm) is refused as the import it prepares is.
		{"POST properties/import", adminsvc.OpValuesImport, h.importCSV},
		{"GET relations", adminsvc.OpRelationList, h.relations},
		{"GET access-rules", adminsvc.OpRuleList, h.listRules},
		{"POST access-rules", adminsvc.OpRuleCreate, h.createRule},
		{"GET access-rules/explain", adminsvc.OpRuleExplain, h.explain},
		{"GET access-rules/{id}", adminsvc.OpRuleGet, h.getRule},
		{"PATCH access-rules/{id}", adminsvc.OpRuleUpdate, h.updateRule},
		{"DELETE access-rules/{id}", adminsvc.OpRuleDelete, h.deleteRule},
	} {
		g.Handle(mux, rt.pattern, rt.op, rt.fn)
	}
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such API resource")
	})
}

// decode reads exactly one JSON value with no unknown fields into v.
// allowEmpty lets an empty body stand for {}.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if allowEmpty {
		return httpapi.DecodeOptional(w, r, v, MaxBodyBytes)
	}
	return httpapi.Decode(w, r, v, MaxBodyBytes)
}

// emptyBody accepts nothing but an empty body or {}.
func emptyBody(w http.ResponseWriter, r *http.Request) error { return httpapi.DecodeEmpty(w, r) }

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
	page, err := h.d.Service.ListAccounts(r.Context(), c, adminsvc.AccountFilter{
		Search: q.Get("search"), Status: q.Get("status"), Role: q.Get("role"), Company: q.Get("company"),
		Site: q.Get("site"), After: q.Get("after"), Limit: limit,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
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
	out, err := h.d.Service.CreateAccount(r.Context(), c, adminsvc.NewAccount{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Language: b.Language,
		DateFormat: b.DateFormat, Kind: b.Kind, SignIn: b.SignIn, Memberships: memberships(b.Memberships),
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	a, err := h.d.Service.GetAccount(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

type updateAccountBody struct {
	Email      *string `json:"email"`
	FirstName  *string `json:"first_name"`
	LastName   *string `json:"last_name"`
	Language   *string `json:"language"`
	DateFormat *string `json:"date_format"`
	TimeZone   *string `json:"time_zone"`
	// Kind is accepted only to refuse a change clearly: it is fixed at creation.
	Kind *string `json:"kind"`
	// Properties sets property values in one company, each value as
	// accounts/{id}/properties takes it (a string, a list, or null).
	Properties *propertiesBody `json:"properties"`
}

type propertiesBody struct {
	Company string                     `json:"company"`
	Values  map[string]json.RawMessage `json:"values"`
}

// update reads the body's properties, naming every value of a wrong shape.
func (b *propertiesBody) update() (*adminsvc.PropertiesUpdate, error) {
	if b == nil {
		return nil, nil
	}
	values, err := parseValues(b.Values, func(k string) string { return "properties.values." + k })
	if err != nil {
		return nil, err
	}
	return &adminsvc.PropertiesUpdate{Company: strings.TrimSpace(b.Company), Values: values}, nil
}

func (h *Handler) updateAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b updateAccountBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	props, err := b.Properties.update()
	if err != nil {
		return err
	}
	a, err := h.d.Service.UpdateAccount(r.Context(), c, r.PathValue("id"), adminsvc.AccountUpdate{
		Profile: account.ProfileUpdate{Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Language: b.Language, DateFormat: b.DateFormat, TimeZone: b.TimeZone},
		Kind:    b.Kind, Properties: props,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.d.Service.DeleteAccount(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) lifecycle(action string) Endpoint {
	return func(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		a, err := h.d.Service.Lifecycle(r.Context(), c, r.PathValue("id"), action)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, a)
		return nil
	}
}

func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	n, err := h.d.Service.EndAccountSessions(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
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
	a, err := h.d.Service.SetMembership(r.Context(), c, r.PathValue("id"), account.MembershipInput{
		Company: r.PathValue("company"), Role: strings.TrimSpace(b.Role), Sites: b.Sites,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handler) removeMembership(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	a, err := h.d.Service.RemoveMembership(r.Context(), c, r.PathValue("id"), r.PathValue("company"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a)
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
	res, err := h.d.Service.Invite(r.Context(), c, adminsvc.Invitations{Emails: b.Emails, Memberships: memberships(b.Memberships), Language: b.Language})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handler) exportCSV(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	// Rendered into a buffer first, so a failure midway is a clean error
	// and never half a file.
	var buf bytes.Buffer
	if err := h.d.Service.ExportCSV(r.Context(), c, &buf); err != nil {
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
	out, err := h.d.Service.ListCompanies(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"companies": out})
	return nil
}

func (h *Handler) createCompany(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createCompanyBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	co, err := h.d.Service.CreateCompany(r.Context(), c, b.ID, b.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, co)
	return nil
}

func (h *Handler) renameCompany(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b nameBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	co, err := h.d.Service.RenameCompany(r.Context(), c, r.PathValue("id"), b.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, co)
	return nil
}

func (h *Handler) companyMembers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	ms, err := h.d.Service.CompanyMembers(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

type createSiteBody struct {
	Company string `json:"company"`
	Name    string `json:"name"`
}

func (h *Handler) listSites(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ListSites(r.Context(), c, r.URL.Query().Get("company"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"sites": out})
	return nil
}

func (h *Handler) createSite(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b createSiteBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	site, err := h.d.Service.CreateSite(r.Context(), c, strings.TrimSpace(b.Company), b.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, site)
	return nil
}

func (h *Handler) renameSite(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	var b nameBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	site, err := h.d.Service.RenameSite(r.Context(), c, r.PathValue("id"), b.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, site)
	return nil
}

func (h *Handler) siteMembers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	ms, err := h.d.Service.SiteMembers(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
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
		return validation.One("accounts", "required", "list the accounts that may reach the site (an empty list removes them all)")
	}
	ms, err := h.d.Service.SetSiteMembers(r.Context(), c, r.PathValue("id"), b.Accounts)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

// --- providers, audit, tokens ---

func (h *Handler) providers(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if h.d.Service.Integrations != nil {
		return h.providerViews(w, r, c)
	}
	out := []adminsvc.ProviderStatus{}
	if h.d.Service.Providers != nil {
		out = append(out, h.d.Service.Providers()...)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
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
	page, err := h.d.Service.ListAudit(r.Context(), c, adminsvc.AuditFilter{
		Actor: q.Get("actor"), Target: q.Get("target"), Action: q.Get("action"), Category: q.Get("category"),
		Since: since, Until: until, Before: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.d.Service.ListAPITokens(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
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
	t, err := h.d.Service.CreateAPIToken(r.Context(), c, b.Name, exp)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.d.Service.RevokeAPIToken(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
