package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AdminOperations is every admin operation, keyed by the audit action the
// JSON API records for it, with the equivalent request on each surface.
// TestAdminOperationsAgreeOnAPIAndPanel runs each one as every role and
// checks that the JSON API and the HTML panel give the same allow/deny
// answer, and the one the role model promises.
//
// Paths and bodies use placeholders filled per request (see agreeVars):
// {A} is the acting company, {B} the other one, {own} the company the
// actor itself belongs to ({A}, or {B} for the other company's staff), {acct} and {email} a
// personal account in {A}, {shared} a shared-computer account in {A},
// {site} a site of {A}, {key} a text property of {A}, {rule} an access
// rule of {A}, {n} a number unique to the request; a Fresh setup replaces
// some of them with a target made for that one request, so that one
// actor's success never turns another's request into a 404.
//
// Panel-only pages carry an Action of their own, prefixed "panel.".
var AdminOperations = []AdminOperation{
	// ---- accounts
	{Action: "account.list", Scope: scopeAny,
		API:   []agreeCall{{Method: "GET", Path: "accounts"}},
		Panel: []agreeCall{{Method: "GET", Path: "users"}}},
	{Action: "account.create",
		API: []agreeCall{{Method: "POST", Path: "accounts",
			Body: `{"email":"new{n}@example.com","first_name":"New","last_name":"Person","memberships":[{"company":"{A}","role":"{member}"}]}`}},
		Panel: []agreeCall{{Method: "POST", Path: "users/new", Form: url.Values{
			"email": {"new{n}@example.com"}, "first_name": {"New"}, "last_name": {"Person"}, "language": {"en"},
			"date_format": {"MM/DD/YYYY"}, "kind": {store.KindPersonal}, "sign_in": {"password"},
			"company": {"{A}"}, "role": {"{member}"}}}}},
	{Action: "account.export", Scope: scopeAny,
		Note:  "the panel's export page links to the API's accounts.csv",
		API:   []agreeCall{{Method: "GET", Path: "accounts.csv"}},
		Panel: []agreeCall{{Method: "GET", Path: "export"}}},
	{Action: "account.get",
		API:   []agreeCall{{Method: "GET", Path: "accounts/{acct}"}},
		Panel: []agreeCall{{Method: "GET", Path: "users/{acct}"}}},
	{Action: "account.update", Fresh: freshAccount,
		Note: "the API's update also sets property values, checked as property.values.set is",
		API: []agreeCall{
			{Method: "PATCH", Path: "accounts/{acct}", Body: `{"first_name":"Renamed"}`},
			{Method: "PATCH", Path: "accounts/{acct}", Body: `{"properties":{"company":"{own}","values":{"{key}":"red"}}}`},
		},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}", Form: url.Values{
			"email": {"{email}"}, "first_name": {"Renamed"}, "last_name": {"Target"}, "language": {"en"}, "date_format": {"MM/DD/YYYY"}}}}},
	{Action: "account.delete", Fresh: freshAccount,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/delete"}}},
	{Action: "account.block", Fresh: freshAccount,
		API:   []agreeCall{{Method: "POST", Path: "accounts/{acct}/block"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/status", Form: url.Values{"action": {"block"}}}}},
	{Action: "account.unblock", Fresh: freshBlocked,
		API:   []agreeCall{{Method: "POST", Path: "accounts/{acct}/unblock"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/status", Form: url.Values{"action": {"unblock"}}}}},
	{Action: "account.deactivate", Fresh: freshAccount,
		API:   []agreeCall{{Method: "POST", Path: "accounts/{acct}/deactivate"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/status", Form: url.Values{"action": {"deactivate"}}}}},
	{Action: "account.sessions.list",
		Note:  "the panel lists an account's sessions on its user page",
		API:   []agreeCall{{Method: "GET", Path: "accounts/{acct}/sessions"}},
		Panel: []agreeCall{{Method: "GET", Path: "users/{acct}"}}},
	{Action: "account.sessions.end", Fresh: freshSignedIn,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}/sessions"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/sessions"}}},
	{Action: "account.session.end", Fresh: freshSignedIn,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}/sessions/{sid}"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/sessions/{sid}/end"}}},
	{Action: "account.membership.set", Fresh: freshAccount,
		API:   []agreeCall{{Method: "PUT", Path: "accounts/{acct}/memberships/{A}", Body: `{"role":"{member}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/memberships", Form: url.Values{"company": {"{A}"}, "role": {"{member}"}}}}},
	{Action: "account.membership.remove", Fresh: freshAccount,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}/memberships/{A}"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/memberships/{A}/remove"}}},
	{Action: "account.invite",
		API: []agreeCall{{Method: "POST", Path: "invitations",
			Body: `{"emails":"invitee{n}@example.com","memberships":[{"company":"{A}","role":"{member}"}]}`}},
		Panel: []agreeCall{{Method: "POST", Path: "invite", Form: url.Values{
			"emails": {"invitee{n}@example.com"}, "company": {"{A}"}, "role": {"{member}"}, "language": {"en"}}}}},
	{Action: "account.invitation.resend", Fresh: freshInvited,
		API:   []agreeCall{{Method: "POST", Path: "accounts/{acct}/invitation"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/invitation"}}},

	// ---- companies and sites
	{Action: "company.list", Scope: scopeAny,
		API:   []agreeCall{{Method: "GET", Path: "companies"}},
		Panel: []agreeCall{{Method: "GET", Path: "companies"}}},
	{Action: "company.create", Scope: scopeAny, FullAdmin: true,
		Note: "only full administrators create companies, whichever they administer",
		API:  []agreeCall{{Method: "POST", Path: "companies", Body: `{"id":"new-{n}","name":"New {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "companies", Form: url.Values{
			"id": {"new-{n}"}, "name": {"New {n}"}}}}},
	{Action: "company.rename",
		API:   []agreeCall{{Method: "PATCH", Path: "companies/{A}", Body: `{"name":"Alpha {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "companies/{A}", Form: url.Values{"name": {"Alpha {n}"}}}}},
	{Action: "company.members",
		Note:  "the panel's companies page links a company's members to the users list filtered by company",
		API:   []agreeCall{{Method: "GET", Path: "companies/{A}/members"}},
		Panel: []agreeCall{{Method: "GET", Path: "users?company={A}"}}},
	{Action: "site.list",
		API:   []agreeCall{{Method: "GET", Path: "sites?company={A}"}},
		Panel: []agreeCall{{Method: "GET", Path: "sites?company={A}"}}},
	{Action: "site.create",
		API:   []agreeCall{{Method: "POST", Path: "sites", Body: `{"company":"{A}","name":"Site {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "sites", Form: url.Values{"company": {"{A}"}, "name": {"Site {n}"}}}}},
	{Action: "site.rename",
		API:   []agreeCall{{Method: "PATCH", Path: "sites/{site}", Body: `{"name":"Site {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "sites/{site}", Form: url.Values{"name": {"Site {n}"}}}}},
	{Action: "site.members",
		Note:  "the panel's site page lists who reaches the site",
		API:   []agreeCall{{Method: "GET", Path: "sites/{site}/members"}},
		Panel: []agreeCall{{Method: "GET", Path: "sites/{site}"}}},
	{Action: "site.members.set",
		API:   []agreeCall{{Method: "PUT", Path: "sites/{site}/members", Body: `{"accounts":["{acct}"]}`}},
		Panel: []agreeCall{{Method: "POST", Path: "sites/{site}/members", Form: url.Values{"account": {"{acct}"}}}}},

	// ---- providers, audit, API tokens
	{Action: "provider.list", Scope: scopeAny,
		API:   []agreeCall{{Method: "GET", Path: "providers"}},
		Panel: []agreeCall{{Method: "GET", Path: "providers"}}},
	{Action: "provider.get", Scope: scopeAny, Fresh: freshProvider,
		API:   []agreeCall{{Method: "GET", Path: "providers/{prov}"}},
		Panel: []agreeCall{{Method: "GET", Path: "providers/{prov}"}}},
	{Action: "provider.create", Scope: scopeAny, Integrations: true,
		Note: "a provider with no issuer or client id: the service judges it (422) once the caller may",
		API:  []agreeCall{{Method: "POST", Path: "providers", Body: `{"id":"new{n}","type":"oidc","issuer":"","client_id":""}`}},
		Panel: []agreeCall{{Method: "POST", Path: "providers", Form: url.Values{
			"id": {"new{n}"}, "type": {"oidc"}, "issuer": {""}, "client_id": {""}}}}},
	{Action: "provider.update", Scope: scopeAny, Integrations: true, Fresh: freshProvider,
		API: []agreeCall{{Method: "PUT", Path: "providers/{prov}", Body: `{"type":"oidc","issuer":"","client_id":""}`}},
		Panel: []agreeCall{{Method: "POST", Path: "providers/{prov}", Form: url.Values{
			"type": {"oidc"}, "issuer": {""}, "client_id": {""}}}}},
	{Action: "provider.disable", Scope: scopeAny, Integrations: true, Fresh: freshProvider,
		API:   []agreeCall{{Method: "POST", Path: "providers/{prov}/disable"}},
		Panel: []agreeCall{{Method: "POST", Path: "providers/{prov}/disable"}}},
	{Action: "provider.enable", Scope: scopeAny, Integrations: true, Fresh: freshProvider,
		API:   []agreeCall{{Method: "POST", Path: "providers/{prov}/enable"}},
		Panel: []agreeCall{{Method: "POST", Path: "providers/{prov}/enable"}}},
	{Action: "provider.delete", Scope: scopeAny, Integrations: true, Fresh: freshProvider,
		API:   []agreeCall{{Method: "DELETE", Path: "providers/{prov}"}},
		Panel: []agreeCall{{Method: "POST", Path: "providers/{prov}/delete"}}},
	{Action: "provider.test", Scope: scopeAny, Integrations: true, Fresh: freshProvider,
		Note:  "the provider does not answer: the API refuses the request naming the issuer (422), the page comes back with that error (303)",
		API:   []agreeCall{{Method: "POST", Path: "providers/{prov}/test"}},
		Panel: []agreeCall{{Method: "POST", Path: "providers/{prov}/test"}}},
	{Action: "audit.list", Scope: scopeAny,
		API:   []agreeCall{{Method: "GET", Path: "audit"}},
		Panel: []agreeCall{{Method: "GET", Path: "audit"}}},
	{Action: "api_token.list", Scope: scopeAny,
		API:   []agreeCall{{Method: "GET", Path: "api-tokens"}},
		Panel: []agreeCall{{Method: "GET", Path: "tokens"}}},
	{Action: "api_token.create", Scope: scopeAny,
		Note:  "a token acts as its creator, so any administrator may make one for themselves",
		API:   []agreeCall{{Method: "POST", Path: "api-tokens", Body: `{"name":"token {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "tokens", Form: url.Values{"name": {"token {n}"}}}}},
	{Action: "api_token.revoke", Fresh: freshToken,
		Note:  "the token belongs to the administrator of {A}",
		API:   []agreeCall{{Method: "DELETE", Path: "api-tokens/{token}"}},
		Panel: []agreeCall{{Method: "POST", Path: "tokens/{token}/revoke"}}},

	// ---- passkeys and workstations
	{Action: "passkey.list",
		Note:  "the panel lists an account's passkeys on its user page",
		API:   []agreeCall{{Method: "GET", Path: "accounts/{acct}/credentials"}},
		Panel: []agreeCall{{Method: "GET", Path: "users/{acct}"}}},
	{Action: "passkey.revoke", Fresh: freshCredential,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}/credentials/{cred}"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/passkeys/{cred}/revoke"}}},
	{Action: "account.mfa.reset", Fresh: freshSecondFactor,
		API:   []agreeCall{{Method: "DELETE", Path: "accounts/{acct}/mfa"}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{acct}/mfa/reset"}}},
	{Action: "enrolment.create",
		API:   []agreeCall{{Method: "POST", Path: "accounts/{shared}/enrolments", Body: `{"name":"Bench {n}"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{shared}/enrolments", Form: url.Values{"name": {"Bench {n}"}}}}},
	{Action: "account.allowed_networks.get",
		Note:  "the panel shows a workstation's allowed networks on its user page",
		API:   []agreeCall{{Method: "GET", Path: "accounts/{shared}/allowed-networks"}},
		Panel: []agreeCall{{Method: "GET", Path: "users/{shared}"}}},
	{Action: "account.allowed_networks",
		API:   []agreeCall{{Method: "PUT", Path: "accounts/{shared}/allowed-networks", Body: `{"allowed_networks":["10.0.0.0/8"]}`}},
		Panel: []agreeCall{{Method: "POST", Path: "users/{shared}/networks", Form: url.Values{"allowed_networks": {"10.0.0.0/8"}}}}},

	// ---- properties, values, relations, access rules
	{Action: "property.list",
		API:   []agreeCall{{Method: "GET", Path: "properties?company={A}"}},
		Panel: []agreeCall{{Method: "GET", Path: "properties?company={A}"}}},
	{Action: "property.create",
		API: []agreeCall{{Method: "POST", Path: "properties?company={A}", Body: `{"key":"prop{n}","labels":{"en":"Prop {n}"},"type":"text"}`}},
		Panel: []agreeCall{{Method: "POST", Path: "properties", Form: url.Values{
			"company": {"{A}"}, "key": {"prop{n}"}, "type": {"text"}, "label_en": {"Prop {n}"}}}}},
	{Action: "property.get",
		APIOnly: "the panel shows definitions only in the properties list",
		API:     []agreeCall{{Method: "GET", Path: "properties/{key}?company={A}"}}},
	{Action: "property.update",
		API:   []agreeCall{{Method: "PATCH", Path: "properties/{key}?company={A}", Body: `{"labels":{"en":"Team {n}"}}`}},
		Panel: []agreeCall{{Method: "POST", Path: "properties/{key}", Form: url.Values{"company": {"{A}"}, "label_en": {"Team {n}"}}}}},
	{Action: "property.delete", Fresh: freshProperty,
		API:   []agreeCall{{Method: "DELETE", Path: "properties/{key}?company={A}"}},
		Panel: []agreeCall{{Method: "POST", Path: "properties/{key}/delete", Form: url.Values{"company": {"{A}"}}}}},
	{Action: "property.values.set",
		Note: "the account is in {A}; the values are those of {A}, then of the actor's own company",
		API: []agreeCall{
			{Method: "PUT", Path: "properties/{key}/values/{acct}?company={A}", Body: `{"values":"red"}`},
			{Method: "PATCH", Path: "accounts/{acct}/properties?company={A}", Body: `{"{key}":"blue"}`},
			{Method: "PUT", Path: "properties/{key}/values/{acct}?company={own}", Body: `{"values":"red"}`},
			{Method: "PATCH", Path: "accounts/{acct}/properties?company={own}", Body: `{"{key}":"blue"}`},
		},
		Panel: []agreeCall{
			{Method: "POST", Path: "users/{acct}/properties", Form: url.Values{"company": {"{A}"}, "key": {"{key}"}, "p.{key}": {"green"}}},
			{Method: "POST", Path: "users/{acct}/properties", Form: url.Values{"company": {"{own}"}, "key": {"{key}"}, "p.{key}": {"green"}}},
		}},
	{Action: "property.values.import.preview",
		API:   []agreeCall{{Method: "POST", Path: "properties/import?company={A}", ContentType: "text/csv", Body: "{csv}"}},
		Panel: []agreeCall{{Method: "POST", Path: "import", Form: url.Values{"company": {"{A}"}, "csv": {"{csv}"}}}}},
	{Action: "property.values.import",
		Note:  "applied with a stale confirmation token: only the authorization is under test",
		API:   []agreeCall{{Method: "POST", Path: "properties/import?company={A}&confirm=stale", ContentType: "text/csv", Body: "{csv}"}},
		Panel: []agreeCall{{Method: "POST", Path: "import/apply", Form: url.Values{"company": {"{A}"}, "data": {"{csv64}"}, "confirm": {"stale"}}}}},
	{Action: "property.values.get",
		Note: "the panel shows an account's values on its user page; the account is in {A}, asked about in {A} and in the actor's own company",
		API: []agreeCall{
			{Method: "GET", Path: "accounts/{acct}/properties?company={A}"},
			{Method: "GET", Path: "accounts/{acct}/properties?company={own}"},
		},
		Panel: []agreeCall{{Method: "GET", Path: "users/{acct}"}}},
	{Action: "relation.list",
		APIOnly: "the panel has no relations page",
		API: []agreeCall{
			{Method: "GET", Path: "relations?company={A}&account={acct}"},
			{Method: "GET", Path: "relations?company={own}&account={acct}"},
		}},
	{Action: "access_rule.list",
		API:   []agreeCall{{Method: "GET", Path: "access-rules?company={A}"}},
		Panel: []agreeCall{{Method: "GET", Path: "rules?company={A}"}}},
	{Action: "access_rule.create",
		API: []agreeCall{{Method: "POST", Path: "access-rules?company={A}",
			Body: `{"name":"Rule {n}","capability":"edit_objects","tag":"team:{n}","condition":{"property":"{key}","op":"equals","value":"red"}}`}},
		Panel: []agreeCall{{Method: "POST", Path: "rules", Form: url.Values{
			"company": {"{A}"}, "name": {"Rule {n}"}, "capability": {"edit_objects"}, "tag": {"team:{n}"},
			"condition": {`{"property":"{key}","op":"equals","value":"red"}`}, "enabled": {"on"}}}}},
	{Action: "access_rule.explain",
		Note: "the account is in {A}, explained in {A} and in the actor's own company",
		API: []agreeCall{
			{Method: "GET", Path: "access-rules/explain?company={A}&account={acct}"},
			{Method: "GET", Path: "access-rules/explain?company={own}&account={acct}"},
		},
		Panel: []agreeCall{
			{Method: "GET", Path: "explain?company={A}&account={acct}"},
			{Method: "GET", Path: "explain?company={own}&account={acct}"},
		}},
	{Action: "access_rule.get",
		API:   []agreeCall{{Method: "GET", Path: "access-rules/{rule}"}},
		Panel: []agreeCall{{Method: "GET", Path: "rules/{rule}"}}},
	{Action: "access_rule.update",
		Note: "the panel has two forms for it: the rule's edit form and its enable switch",
		API:  []agreeCall{{Method: "PATCH", Path: "access-rules/{rule}", Body: `{"name":"Rule {n}"}`}},
		Panel: []agreeCall{
			{Method: "POST", Path: "rules/{rule}", Form: url.Values{
				"name": {"Rule {n}"}, "capability": {"edit_objects"}, "tag": {"team:red"},
				"condition": {`{"property":"{key}","op":"equals","value":"red"}`}, "enabled": {"on"}}},
			{Method: "POST", Path: "rules/{rule}/enabled", Form: url.Values{"enabled": {"true"}}},
		}},
	{Action: "access_rule.delete", Fresh: freshRule,
		API:   []agreeCall{{Method: "DELETE", Path: "access-rules/{rule}"}},
		Panel: []agreeCall{{Method: "POST", Path: "rules/{rule}/delete"}}},

	// ---- pages only the panel has
	{Action: "panel.home", Scope: scopeAny,
		PanelOnly: "the panel's start page, the dashboard of the caller's companies",
		Panel:     []agreeCall{{Method: "GET", Path: ""}}},
	{Action: "panel.users.new", Scope: scopeAny,
		PanelOnly: "the new-user form (the API takes the account in one POST)",
		Panel:     []agreeCall{{Method: "GET", Path: "users/new"}}},
	{Action: "panel.invite", Scope: scopeAny,
		PanelOnly: "the invitation form (the API takes invitations in one POST)",
		Panel:     []agreeCall{{Method: "GET", Path: "invite"}}},
	{Action: "panel.import",
		PanelOnly: "the CSV import form of a company (the API takes the file in one POST)",
		Panel:     []agreeCall{{Method: "GET", Path: "import?company={A}"}}},
}

// AdminOperation is one row of AdminOperations.
type AdminOperation struct {
	// Action is the audit action the API records ("account.create"); a
	// page only the panel has is "panel.<page>".
	Action string
	// API and Panel are the requests of each surface; several when the
	// surface has several routes for the operation. Each runs against its
	// own target when Fresh is set.
	API, Panel []agreeCall
	// APIOnly or PanelOnly says why the other surface has no equivalent.
	APIOnly, PanelOnly string
	// Scope is scopeCompany (the default) when the operation acts on
	// company {A} or something in it, so that whoever does not administer
	// {A} must be refused; scopeAny when it is not tied to one company
	// (lists filtered to the caller's companies, the caller's own tokens,
	// company creation).
	Scope string
	// FullAdmin: only a full administrator may (creating companies).
	FullAdmin bool
	// Integrations: only a holder of manage_integrations may (changing
	// identity providers).
	Integrations bool
	// Fresh makes a new target for one request and returns the
	// placeholders it replaces.
	Fresh func(t *testing.T, fx *agreeFixture) map[string]string
	// Note says how the two surfaces' requests correspond, where that is
	// not plain from the paths.
	Note string
}

const (
	scopeCompany = ""
	scopeAny     = "any"
)

// agreeCall is one request: Path is relative to the API's or the panel's
// prefix; Body is the API's JSON (or CSV), Form the panel's fields
// (csrf_token is added).
type agreeCall struct {
	Method, Path string
	Body         string
	ContentType  string // default application/json when Body is set
	Form         url.Values
}

// The actors, one browser session each.
const (
	roleAdmin          = "admin"
	roleManager        = "manager"
	roleManagerOther   = "manager-other-company"
	roleViewer         = "viewer"
	roleShared         = "shared-computer"
	roleAdminOther     = "admin-other-company"
	agreeCompanyA      = "alpha"
	agreeCompanyB      = "beta"
	agreePassword      = "correct horse battery staple 42"
	agreeTargetEmail   = "target@example.com"
	agreeSharedEmail   = "bench@example.com"
	agreePropertyKey   = "team"
	agreeDecideAllowed = "allowed"
	agreeDecideDenied  = "denied"
)

// agreeModel is a role model the table runs under, with the role each
// kind of actor holds in it and what it promises them.
type agreeModel struct {
	name string // roles: in the config
	// The roles of a company's administrator (full or not), of a member
	// without admin capabilities, and of a shared workstation.
	admin, member, shared string
	// fullAdmin: admin holds every admin capability, so may create
	// companies.
	fullAdmin bool
	// integrations: admin holds manage_integrations.
	integrations bool
	actors       []agreeActorSpec
}

// agreeActorSpec is an actor: its name in the table, email, company and
// role.
type agreeActorSpec struct{ role, email, own, holds string }

// The role models. In the standard model only admin grants admin_panel
// (and manage_users, exports, integration_logs); manager, viewer and
// shared_computer grant none of them, so they are refused every admin
// operation. In the site-scoped model a manager runs its own company
// (admin_panel, manage_users, exports) but is no full administrator.
var agreeModels = []agreeModel{
	{name: account.ModelStandard, admin: "admin", member: "viewer", shared: "shared_computer", fullAdmin: true, integrations: true,
		actors: []agreeActorSpec{
			{roleAdmin, "admin@example.com", agreeCompanyA, "admin"},
			{roleAdminOther, "admin-b@example.com", agreeCompanyB, "admin"},
			{roleManager, "manager@example.com", agreeCompanyA, "manager"},
			{roleManagerOther, "manager-b@example.com", agreeCompanyB, "manager"},
			{roleViewer, "viewer@example.com", agreeCompanyA, "viewer"},
			{roleShared, "workstation@example.com", agreeCompanyA, "shared_computer"},
		}},
	{name: account.ModelSiteScoped, admin: "manager", member: "user", shared: "operator",
		actors: []agreeActorSpec{
			{roleManager, "manager@example.com", agreeCompanyA, "manager"},
			{roleManagerOther, "manager-b@example.com", agreeCompanyB, "manager"},
			{roleViewer, "user@example.com", agreeCompanyA, "user"},
			{roleShared, "workstation@example.com", agreeCompanyA, "operator"},
		}},
}

// expected is what the model promises an actor for op: a company's
// administrator may do everything in it (creating companies needs a full
// administrator), one of the other company may do what is not tied to {A}
// and nothing in {A}, everyone else nothing.
func (m agreeModel) expected(a agreeActor, op AdminOperation) string {
	if a.holds != m.admin || op.FullAdmin && !m.fullAdmin || op.Integrations && !m.integrations {
		return agreeDecideDenied
	}
	if a.own == agreeCompanyA || op.Scope == scopeAny {
		return agreeDecideAllowed
	}
	return agreeDecideDenied
}

// apiDecision reads an API answer. 401 and 403 refuse; 404 refuses too,
// because every target exists (a 404 can only mean "hidden from you").
// Anything else in 2xx and 4xx means the authorization let the request
// through (400, 409 and 422 are the service judging the input). ok is
// false for an answer that says nothing about authorization (5xx, 405).
func apiDecision(status int) (decision string, ok bool) {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return agreeDecideDenied, true
	case status >= 200 && status < 300, status == http.StatusBadRequest, status == http.StatusConflict,
		status == http.StatusUnprocessableEntity:
		return agreeDecideAllowed, true
	}
	return "unexpected", false
}

// panelDecision reads a panel answer: the 403 page (authz.ErrForbidden,
// through route's capability check or fail) and the 404 page (a target
// hidden from the caller, as ruleFor does) refuse; a page, a 303 after a
// change, or the form shown again with its problems (400, 409, 422) let it
// through. A redirect to the sign-in page would mean the session was not
// seen at all, which is no answer.
func panelDecision(status int, location string) (decision string, ok bool) {
	switch {
	case status == http.StatusForbidden, status == http.StatusNotFound:
		return agreeDecideDenied, true
	case status == http.StatusSeeOther && strings.Contains(location, "error=self_action"):
		// The panel says "not on yourself" on the page the form came from.
		return agreeDecideDenied, true
	case status == http.StatusFound && strings.HasPrefix(location, "/.gatehouse/login"):
		return "unauthenticated", false
	case status == http.StatusOK, status == http.StatusCreated, status == http.StatusSeeOther,
		status == http.StatusBadRequest, status == http.StatusConflict, status == http.StatusUnprocessableEntity:
		return agreeDecideAllowed, true
	}
	return "unexpected", false
}

func TestAdminOperationsAgreeOnAPIAndPanel(t *testing.T) {
	for _, m := range agreeModels {
		t.Run(m.name, func(t *testing.T) { agreeUnder(t, m) })
	}
}

func agreeUnder(t *testing.T, m agreeModel) {
	fx := newAgreeFixture(t, m)
	for _, op := range AdminOperations {
		for _, a := range fx.actors {
			t.Run(op.Action+"/"+a.role, func(t *testing.T) {
				want := m.expected(a, op)
				apiD, apiRes := fx.surface(t, a, op, op.API, true)
				panelD, panelRes := fx.surface(t, a, op, op.Panel, false)
				t.Logf("API %s (%s); panel %s (%s)", apiD, apiRes, panelD, panelRes)
				switch {
				case op.APIOnly != "":
					if apiD != want {
						t.Errorf("API only (%s): %s, want %s: %s", op.APIOnly, apiD, want, apiRes)
					}
				case op.PanelOnly != "":
					if panelD != want {
						t.Errorf("panel only (%s): %s, want %s: %s", op.PanelOnly, panelD, want, panelRes)
					}
				default:
					if apiD != panelD {
						t.Errorf("surfaces disagree: API %s (%s), panel %s (%s)", apiD, apiRes, panelD, panelRes)
					}
					if apiD != want {
						t.Errorf("API: %s, want %s: %s", apiD, want, apiRes)
					}
					if panelD != want {
						t.Errorf("panel: %s, want %s: %s", panelD, want, panelRes)
					}
				}
			})
		}
	}
}

// TestSelfActionsRefusedOnBothSurfaces: what an administrator may do to
// others but not to their own account (their status, their memberships)
// is refused, and recorded, alike.
func TestSelfActionsRefusedOnBothSurfaces(t *testing.T) {
	fx := newAgreeFixture(t, agreeModels[0])
	self := map[string]string{"{acct}": fx.admin.id}
	for _, op := range AdminOperations {
		switch op.Action {
		case "account.block", "account.deactivate", "account.delete", "account.membership.set", "account.membership.remove":
		default:
			continue
		}
		for i, calls := range [][]agreeCall{op.API, op.Panel} {
			api := i == 0
			for _, call := range calls {
				before := fx.refusals(t, fx.admin)
				st, loc := fx.do(t, fx.admin, api, call, self)
				d, ok := panelDecision(st, loc)
				if api {
					d, ok = apiDecision(st)
				}
				if !ok || d != agreeDecideDenied {
					t.Errorf("%s on oneself (API %v): %d %s, want a refusal", op.Action, api, st, loc)
				}
				if fx.refusals(t, fx.admin) == before {
					t.Errorf("%s on oneself (API %v): refused but not recorded", op.Action, api)
				}
			}
		}
	}
}

// TestAdminOperationsTable keeps the table well formed: one row per
// action, each with the requests its surfaces have, and a row for every
// operation of the admin service.
func TestAdminOperationsTable(t *testing.T) {
	seen := map[string]bool{}
	defer func() {
		for _, op := range adminsvc.Ops() {
			if !seen[op.Action] {
				t.Errorf("the admin service's operation %s has no row", op.Action)
			}
		}
	}()
	for _, op := range AdminOperations {
		if seen[op.Action] {
			t.Errorf("%s: two rows", op.Action)
		}
		seen[op.Action] = true
		switch {
		case op.APIOnly != "" && op.PanelOnly != "":
			t.Errorf("%s: both API only and panel only", op.Action)
		case op.APIOnly != "" && (len(op.API) == 0 || len(op.Panel) > 0):
			t.Errorf("%s: API only needs API requests and no panel ones", op.Action)
		case op.PanelOnly != "" && (len(op.Panel) == 0 || len(op.API) > 0):
			t.Errorf("%s: panel only needs panel requests and no API ones", op.Action)
		case op.APIOnly == "" && op.PanelOnly == "" && (len(op.API) == 0 || len(op.Panel) == 0):
			t.Errorf("%s: a request for each surface, or a reason why one has none", op.Action)
		}
		if strings.HasPrefix(op.Action, "panel.") != (op.PanelOnly != "") {
			t.Errorf("%s: panel-only rows, and only they, are named panel.*", op.Action)
		}
	}
}

// ---- the gateway and its actors

type agreeActor struct {
	role  string
	id    string // its account
	own   string // the company it belongs to
	holds string // its role there
	c     *http.Client
	csrf  string
}

type agreeFixture struct {
	g      *servertest.Gateway
	rules  *rules.Service
	admin  agreeActor // the admin of {A}, who also makes fresh API tokens
	actors []agreeActor
	vars   map[string]string
	seq    atomic.Int64
	// The model's roles of a plain member and of a workstation, which the
	// targets hold.
	member, sharedRole string
}

func newAgreeFixture(t *testing.T, m agreeModel) *agreeFixture {
	t.Helper()
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Roles = m.name; c.Secrets.Key = secretsKey(9) }})
	ctx := context.Background()
	rs := g.Server.Rules
	fx := &agreeFixture{g: g, rules: rs}

	mk := func(email, company, role, kind string) store.Account {
		return g.CreateUser(t, account.NewAccount{Email: email, Password: agreePassword, CompanyID: company, Role: role, Kind: kind})
	}
	fx.member, fx.sharedRole = m.member, m.shared
	ids := map[string]string{}
	for _, a := range m.actors {
		kind := store.KindPersonal
		if a.holds == m.shared {
			kind = store.KindSharedComputer
		}
		ids[a.email] = mk(a.email, a.own, a.holds, kind).ID
	}
	target := fx.account(t, agreeTargetEmail, store.KindPersonal, agreeCompanyA, m.member)
	shared := fx.account(t, agreeSharedEmail, store.KindSharedComputer, agreeCompanyA, m.shared)
	fx.account(t, "target-b@example.com", store.KindPersonal, agreeCompanyB, m.member)

	for _, co := range []string{agreeCompanyA, agreeCompanyB} {
		if err := g.Store.CreateSite(ctx, store.Site{ID: "site-" + co, CompanyID: co, Name: "Main " + co, CreatedAt: time.Now()}); err != nil {
			t.Fatalf("site in %s: %v", co, err)
		}
		if _, err := rs.CreateDef(ctx, rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: co, Key: agreePropertyKey,
			Type: store.PropertyText, Labels: map[string]string{"en": "Team"}}); err != nil {
			t.Fatalf("property in %s: %v", co, err)
		}
	}
	ruleA := fx.rule(t, agreeCompanyA)
	fx.rule(t, agreeCompanyB)

	csv := "email," + agreePropertyKey + "\n" + agreeTargetEmail + ",red\n"
	fx.vars = map[string]string{
		"{A}": agreeCompanyA, "{B}": agreeCompanyB, "{acct}": target.ID, "{email}": target.Email,
		"{shared}": shared.ID, "{site}": "site-" + agreeCompanyA, "{key}": agreePropertyKey, "{rule}": ruleA,
		"{csv}": csv, "{csv64}": base64.StdEncoding.EncodeToString([]byte(csv)),
		"{member}": m.member,
	}

	for _, a := range m.actors {
		c := servertest.Client(t)
		g.Login(t, c, a.email, agreePassword)
		actor := agreeActor{role: a.role, id: ids[a.email], own: a.own, holds: a.holds, c: c, csrf: g.CSRFToken(t, c, "/.gatehouse/logout")}
		fx.actors = append(fx.actors, actor)
		if a.holds == m.admin && a.own == agreeCompanyA {
			fx.admin = actor
		}
	}
	return fx
}

// account makes an active account without a password (no hashing, so
// fresh targets stay cheap).
func (fx *agreeFixture) account(t *testing.T, email, kind, company, role string) store.Account {
	t.Helper()
	ctx := context.Background()
	a, err := fx.g.Server.Accounts.Create(ctx, account.NewAccount{Email: email, FirstName: "Tess", LastName: "Target",
		Kind: kind, SignIn: "password", CompanyID: company, Role: role, Actor: "test"})
	if err != nil {
		t.Fatalf("creating %s: %v", email, err)
	}
	if a, err = fx.g.Server.Accounts.Activate(ctx, "test", a.ID); err != nil {
		t.Fatalf("activating %s: %v", email, err)
	}
	return a
}

func (fx *agreeFixture) rule(t *testing.T, company string) string {
	t.Helper()
	name, capability, tag := "Team red editors", account.CapEditObjects, "team:red"
	r, err := fx.rules.CreateRule(context.Background(), rules.Actor{ID: "test"}, company, rules.RuleInput{
		Name: &name, Capability: &capability, Tag: &tag,
		Condition: json.RawMessage(`{"property":"` + agreePropertyKey + `","op":"equals","value":"red"}`),
	})
	if err != nil {
		t.Fatalf("rule in %s: %v", company, err)
	}
	return r.ID
}

// changes reports whether the service's operation action writes.
func changes(action string) bool {
	for _, op := range adminsvc.Ops() {
		if op.Action == action {
			return op.Changes
		}
	}
	return false
}

// refusals counts the changes the audit log records as refused to a.
func (fx *agreeFixture) refusals(t *testing.T, a agreeActor) int {
	t.Helper()
	events, err := fx.g.Store.ListAudit(context.Background(), store.AuditQuery{Actor: a.id, Limit: 1000})
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	n := 0
	for _, e := range events {
		if e.Outcome == "denied" {
			n++
		}
	}
	return n
}

func (fx *agreeFixture) next() string { return strconv.FormatInt(fx.seq.Add(1), 10) }

// ---- fresh targets, one per request

func freshAccount(t *testing.T, fx *agreeFixture) map[string]string {
	a := fx.account(t, "fresh"+fx.next()+"@example.com", store.KindPersonal, agreeCompanyA, fx.member)
	return map[string]string{"{acct}": a.ID, "{email}": a.Email}
}

// freshInvited is an invited password account, yet to set its password.
func freshInvited(t *testing.T, fx *agreeFixture) map[string]string {
	a, err := fx.g.Server.Accounts.Create(context.Background(), account.NewAccount{Email: "invited" + fx.next() + "@example.com",
		FirstName: "Ivy", LastName: "Invited", Kind: store.KindPersonal, SignIn: "password", CompanyID: agreeCompanyA, Role: fx.member, Actor: "test"})
	if err != nil {
		t.Fatalf("creating an invited account: %v", err)
	}
	return map[string]string{"{acct}": a.ID, "{email}": a.Email}
}

// freshProvider is a stored identity provider, {prov}, whose issuer does
// not answer (nothing here signs in through it).
func freshProvider(t *testing.T, fx *agreeFixture) map[string]string {
	id := "prov" + fx.next()
	err := fx.g.Store.CreateProvider(context.Background(), store.ProviderRecord{ID: id, Enabled: true,
		Config: []byte(`{"type":"oidc","issuer":"http://127.0.0.1:1","client_id":"c"}`)})
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	return map[string]string{"{prov}": id}
}

func freshBlocked(t *testing.T, fx *agreeFixture) map[string]string {
	v := freshAccount(t, fx)
	if _, err := fx.g.Server.Accounts.Block(context.Background(), "test", v["{acct}"]); err != nil {
		t.Fatalf("blocking: %v", err)
	}
	return v
}

// freshSignedIn is an account with a live session, {sid}.
func freshSignedIn(t *testing.T, fx *agreeFixture) map[string]string {
	email := "signed-in" + fx.next() + "@example.com"
	a := fx.g.CreateUser(t, account.NewAccount{Email: email, Password: agreePassword, CompanyID: agreeCompanyA, Role: fx.member})
	fx.g.Login(t, servertest.Client(t), email, agreePassword)
	list, err := fx.g.Server.Sessions.List(context.Background(), a.ID)
	if err != nil || len(list) == 0 {
		t.Fatalf("sessions of %s: %v %v", email, list, err)
	}
	return map[string]string{"{acct}": a.ID, "{email}": a.Email, "{sid}": list[0].ID}
}

// freshSecondFactor is an account with a confirmed second factor.
func freshSecondFactor(t *testing.T, fx *agreeFixture) map[string]string {
	v := freshAccount(t, fx)
	ctx := context.Background()
	if err := fx.g.Store.PutPendingTOTP(ctx, store.TOTP{AccountID: v["{acct}"], Secret: []byte("0123456789abcdefghij")}); err != nil {
		t.Fatalf("totp: %v", err)
	}
	if err := fx.g.Store.ConfirmTOTP(ctx, v["{acct}"], 1, [][]byte{[]byte("code")}, time.Now()); err != nil {
		t.Fatalf("totp: %v", err)
	}
	return v
}

// freshCredential is an account with a passkey, {cred} as the API names it.
func freshCredential(t *testing.T, fx *agreeFixture) map[string]string {
	v := freshAccount(t, fx)
	id := []byte("credential-" + fx.next())
	if err := fx.g.Store.CreateCredential(context.Background(), store.Credential{ID: id, AccountID: v["{acct}"],
		Name: "Key", PublicKey: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("credential: %v", err)
	}
	v["{cred}"] = base64.RawURLEncoding.EncodeToString(id)
	return v
}

func freshProperty(t *testing.T, fx *agreeFixture) map[string]string {
	key := "gone" + fx.next()
	if _, err := fx.rules.CreateDef(context.Background(), rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: agreeCompanyA,
		Key: key, Type: store.PropertyText, Labels: map[string]string{"en": "Gone"}}); err != nil {
		t.Fatalf("property: %v", err)
	}
	return map[string]string{"{key}": key}
}

func freshRule(t *testing.T, fx *agreeFixture) map[string]string {
	return map[string]string{"{rule}": fx.rule(t, agreeCompanyA)}
}

// freshToken is an API token of the admin of {A}, made through the API.
func freshToken(t *testing.T, fx *agreeFixture) map[string]string {
	st, body := fx.do(t, fx.admin, true, agreeCall{Method: "POST", Path: "api-tokens", Body: `{"name":"revoke me ` + fx.next() + `"}`}, nil)
	var tok struct {
		ID string `json:"id"`
	}
	if st != http.StatusCreated || json.Unmarshal([]byte(body), &tok) != nil || tok.ID == "" {
		t.Fatalf("making a token: %d %s", st, body)
	}
	return map[string]string{"{token}": tok.ID}
}

// ---- running a row

// surface runs the requests of one surface as actor a and returns the
// decision (or "mixed" when its requests disagree among themselves) and
// the statuses, for the failure message.
func (fx *agreeFixture) surface(t *testing.T, a agreeActor, op AdminOperation, calls []agreeCall, api bool) (string, string) {
	t.Helper()
	if len(calls) == 0 {
		return "", "none"
	}
	var decision string
	var got []string
	for _, call := range calls {
		vars := map[string]string{"{n}": fx.next(), "{own}": a.own}
		if op.Fresh != nil {
			for k, v := range op.Fresh(t, fx) {
				vars[k] = v
			}
		}
		refusals := fx.refusals(t, a)
		st, loc := fx.do(t, a, api, call, vars)
		var d string
		var ok bool
		if api {
			d, ok = apiDecision(st)
		} else {
			d, ok = panelDecision(st, loc)
		}
		// Whichever surface refused a change, the audit log says so.
		if d == agreeDecideDenied && changes(op.Action) && fx.refusals(t, a) == refusals {
			t.Errorf("%s %s was refused but the audit log does not record it", call.Method, fx.fill(call.Path, vars))
		}
		if !ok {
			t.Errorf("%s %s: status %d (%s) says nothing about authorization", call.Method, fx.fill(call.Path, vars), st, loc)
		}
		got = append(got, fmt.Sprintf("%s %s: %d", call.Method, call.Path, st))
		switch decision {
		case "":
			decision = d
		case d:
		default:
			decision = "mixed"
		}
	}
	return decision, strings.Join(got, "; ")
}

// fill replaces the placeholders of s, vars first.
func (fx *agreeFixture) fill(s string, vars map[string]string) string {
	pairs := make([]string, 0, 2*(len(vars)+len(fx.vars)))
	for k, v := range vars {
		pairs = append(pairs, k, v)
	}
	for k, v := range fx.vars {
		if _, over := vars[k]; !over {
			pairs = append(pairs, k, v)
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// do sends one request as a: to the API with the session cookie and, for
// a change, the X-CSRF-Token header, as the panel's scripts do; to the
// panel as its forms do. It returns the status and, for the panel, the
// Location (for the API, the body).
func (fx *agreeFixture) do(t *testing.T, a agreeActor, api bool, call agreeCall, vars map[string]string) (int, string) {
	t.Helper()
	prefix := "/.gatehouse/admin/"
	if api {
		prefix = "/.gatehouse/api/v1/"
	}
	target := fx.g.URL + prefix + fx.fill(call.Path, vars)
	var body io.Reader
	contentType := ""
	switch {
	case api && call.Body != "":
		body = strings.NewReader(fx.fill(call.Body, vars))
		contentType = call.ContentType
		if contentType == "" {
			contentType = "application/json"
		}
	case !api && call.Method != http.MethodGet:
		form := url.Values{"csrf_token": {a.csrf}}
		for k, vs := range call.Form {
			for _, v := range vs {
				form.Add(fx.fill(k, vars), fx.fill(v, vars))
			}
		}
		body = strings.NewReader(form.Encode())
		contentType = "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(call.Method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if api {
		req.Header.Set("Accept", "application/json")
		if call.Method != http.MethodGet {
			req.Header.Set("X-CSRF-Token", a.csrf)
		}
	} else {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", call.Method, target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if api {
		return resp.StatusCode, string(bytes.TrimSpace(raw))
	}
	return resp.StatusCode, resp.Header.Get("Location")
}
