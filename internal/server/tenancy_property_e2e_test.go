package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The property test of docs/authorization.md: random worlds of companies
// and accounts, every admin operation (the rows of AdminOperations) sent
// through the JSON API and the panel, each answer checked against
// refAllows, a copy of the written rules that knows nothing of the
// service's own checks. A refusal must change nothing and be audited as
// denied. The worlds that once found a bug are kept in
// testdata/tenancy_worlds.txt and always run; -tenancy.worlds adds random
// ones (their seeds are printed when they fail).

var tenancyWorlds = flag.Int("tenancy.worlds", 1, "random worlds per role model on top of the seed corpus")

// The role models under test: the two built in, and a custom one with a
// partial administrator (hr) and a service desk holding the one
// capability that is not about a company.
const customRoles = `name: custom
roles:
  - name: admin
    all_sites: true
    capabilities: [view, download, comment, be_assigned_tasks, sign_documents, edit_objects, manage_workflows,
      be_responsible, receive_notifications, admin_panel, manage_users, exports, integration_logs]
  - name: hr
    capabilities: [admin_panel, manage_users]
  - name: desk
    capabilities: [admin_panel, manage_users, manage_unaffiliated_accounts]
  - name: staff
    all_sites: true
    capabilities: [view, download, comment, be_assigned_tasks, sign_documents, receive_notifications]
  - name: kiosk
    shared_computer: true
    capabilities: [view, download, comment]
`

// tenancyModel is a role model with the roles a person and a
// workstation may hold in it.
type tenancyModel struct {
	name         string
	roles        func(t *testing.T) string // the config's roles: value
	personal     []string
	shared       string
	capabilities map[string][]string // role -> what it grants, read from the model's definition
}

func tenancyModels(t *testing.T) []tenancyModel {
	custom := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "custom.yaml")
		if err := os.WriteFile(p, []byte(customRoles), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out []tenancyModel
	for _, m := range []struct {
		name  string
		roles func(t *testing.T) string
		data  func() (*account.Model, error)
	}{
		{account.ModelStandard, func(*testing.T) string { return account.ModelStandard }, func() (*account.Model, error) { return account.Standard(), nil }},
		{account.ModelSiteScoped, func(*testing.T) string { return "../../config/roles/site-scoped.yaml" }, func() (*account.Model, error) {
			return account.LoadModel("../../config/roles/site-scoped.yaml")
		}},
		{"custom", custom, func() (*account.Model, error) { return account.ParseModel([]byte(customRoles), "custom") }},
	} {
		rm, err := m.data()
		if err != nil {
			t.Fatal(err)
		}
		tm := tenancyModel{name: m.name, roles: m.roles, capabilities: map[string][]string{}}
		for _, r := range rm.Roles {
			tm.capabilities[r.Name] = r.Capabilities
			if r.SharedComputer {
				tm.shared = r.Name
			} else {
				tm.personal = append(tm.personal, r.Name)
			}
		}
		out = append(out, tm)
	}
	return out
}

// ---- the reference model, from docs/authorization.md

// refWorld is what a decision depends on: the caller's role per company,
// the target account's, the company the request concerns and the role it
// gives.
type refWorld struct {
	caps   map[string][]string
	caller map[string]string // company -> role
	target map[string]string
	x      string // the company the request concerns
	role   string // the role the request gives, if any
}

func (w refWorld) holdsIn(company, capability string) bool {
	role, ok := w.caller[company]
	return ok && slices.Contains(w.caps[role], capability)
}

func (w refWorld) holdsSomewhere(capability string) bool {
	for co := range w.caller {
		if w.holdsIn(co, capability) {
			return true
		}
	}
	return false
}

// administers: admin_panel and manage_users in that company.
func (w refWorld) administers(company string) bool {
	return w.holdsIn(company, account.CapAdminPanel) && w.holdsIn(company, account.CapManageUsers)
}

// unaffiliated: rule 7, the one capability not about a company.
func (w refWorld) unaffiliated() bool {
	return w.holdsSomewhere("manage_unaffiliated_accounts") && w.holdsSomewhere(account.CapAdminPanel) && w.holdsSomewhere(account.CapManageUsers)
}

// sees: rule 3.
func (w refWorld) sees() bool {
	if len(w.target) == 0 {
		return w.unaffiliated()
	}
	for co := range w.target {
		if w.administers(co) {
			return true
		}
	}
	return false
}

// wholly: rule 4, every company of the account.
func (w refWorld) wholly() bool {
	if len(w.target) == 0 {
		return w.unaffiliated()
	}
	for co := range w.target {
		if !w.administers(co) {
			return false
		}
	}
	return true
}

// grants: rule 5, a role within the caller's own in X.
func (w refWorld) grants() bool {
	if !w.administers(w.x) {
		return false
	}
	for _, c := range w.caps[w.role] {
		if !w.holdsIn(w.x, c) {
			return false
		}
	}
	return true
}

func (w refWorld) fullAdmin() bool {
	for co := range w.caller {
		if w.holdsIn(co, account.CapAdminPanel) && w.holdsIn(co, account.CapManageUsers) &&
			w.holdsIn(co, account.CapExports) && w.holdsIn(co, account.CapIntegrationLogs) {
			return true
		}
	}
	return false
}

// refAllows says whether the rules let the caller make one request of the
// operation named action; profile tells an account update's profile
// request from its values one, and panelPage the panel's user page (which
// shows what reading the account shows).
func refAllows(w refWorld, action string, profile, panelPage bool) bool {
	users := w.holdsSomewhere(account.CapAdminPanel) && w.holdsSomewhere(account.CapManageUsers)
	if panelPage {
		return users && w.sees()
	}
	switch action {
	case "panel.home", "provider.list", "provider.get", "audit.list":
		return w.holdsSomewhere(account.CapAdminPanel)
	case "provider.create", "provider.update", "provider.disable", "provider.enable", "provider.delete", "provider.test":
		// Providers are the gateway's, not a company's (rule 13; these
		// have no jit company).
		return w.holdsSomewhere(account.CapAdminPanel) && w.holdsSomewhere(account.CapManageIntegrations)
	case "account.export":
		return w.holdsSomewhere(account.CapAdminPanel) && w.holdsSomewhere(account.CapExports)
	case "account.list", "company.list", "api_token.list", "api_token.create", "panel.users.new", "panel.invite":
		return users
	case "company.create":
		return w.fullAdmin()
	case "account.create", "account.invite":
		return w.grants()
	case "account.get", "account.sessions.list", "passkey.list", "account.allowed_networks.get":
		return users && w.sees()
	case "account.update":
		if profile {
			return users && w.wholly()
		}
		return w.administers(w.x) && w.sees()
	case "account.delete", "account.block", "account.unblock", "account.deactivate", "account.sessions.end",
		"account.session.end", "passkey.revoke", "enrolment.create", "account.allowed_networks", "api_token.revoke",
		"account.invitation.resend", "account.mfa.reset":
		return users && w.wholly()
	case "account.membership.set":
		return w.sees() && w.grants()
	case "account.membership.remove":
		// Leaving a company the account is not in is not found for anyone.
		_, member := w.target[w.x]
		return w.sees() && w.administers(w.x) && member
	case "property.values.set", "property.values.get", "relation.list", "access_rule.explain":
		return w.administers(w.x) && w.sees()
	case "property.list", "property.get", "property.create", "property.update", "property.delete",
		"access_rule.list", "access_rule.get", "access_rule.create", "access_rule.update", "access_rule.delete":
		return w.holdsIn(w.x, account.CapAdminPanel)
	}
	// Everything else is about company X: renaming it, its members, its
	// sites and who reaches them, imports of its values.
	return w.administers(w.x)
}

// ---- worlds

// tenancyWorld is one random world: companies, a caller signed in on
// both surfaces, and the memberships every target of the world has.
type tenancyWorld struct {
	seed      uint64
	companies []string
	caller    map[string]string
	target    map[string]string
	own       string // the company the caller names as theirs
}

func drawWorld(seed uint64, m tenancyModel) tenancyWorld {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := tenancyWorld{seed: seed, caller: map[string]string{}, target: map[string]string{}}
	for i := range 3 + r.IntN(2) {
		w.companies = append(w.companies, fmt.Sprintf("w%d-c%d", seed, i))
	}
	// Half the roles drawn administer something, or most worlds would
	// only test refusals.
	var admins []string
	for _, role := range m.personal {
		if caps := m.capabilities[role]; slices.Contains(caps, account.CapAdminPanel) && slices.Contains(caps, account.CapManageUsers) {
			admins = append(admins, role)
		}
	}
	draw := func(into map[string]string, min int) {
		n := min + r.IntN(4-min)
		for _, i := range r.Perm(len(w.companies))[:n] {
			role := m.personal[r.IntN(len(m.personal))]
			if r.IntN(2) == 0 {
				role = admins[r.IntN(len(admins))]
			}
			into[w.companies[i]] = role
		}
	}
	draw(w.caller, 1)
	draw(w.target, 0)
	w.own = w.companies[0]
	for _, co := range w.companies {
		if _, ok := w.caller[co]; ok {
			w.own = co
			break
		}
	}
	return w
}

// loadWorlds reads the seed corpus: "model seed" a line, # starts a
// comment.
func loadWorlds(t *testing.T) map[string][]uint64 {
	f, err := os.Open("testdata/tenancy_worlds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seeds := map[string][]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		model, seed, _ := strings.Cut(line, " ")
		n, err := strconv.ParseUint(strings.TrimSpace(seed), 10, 64)
		if err != nil {
			t.Fatalf("tenancy_worlds.txt: %q: %v", line, err)
		}
		seeds[model] = append(seeds[model], n)
	}
	return seeds
}

func TestTenancyProperty(t *testing.T) {
	corpus := loadWorlds(t)
	for _, m := range tenancyModels(t) {
		t.Run(m.name, func(t *testing.T) {
			g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Roles = m.roles(t); c.Secrets.Key = secretsKey(8) }})
			seeds := slices.Clone(corpus[m.name])
			for range *tenancyWorlds {
				seeds = append(seeds, rand.Uint64()%1_000_000)
			}
			for _, seed := range seeds {
				w := drawWorld(seed, m)
				t.Run(fmt.Sprintf("world-%d", seed), func(t *testing.T) {
					if n := runWorld(t, g, m, w); n > 0 {
						t.Errorf("%s world %d (caller %v, target %v): %d mismatches; once fixed, add %q to testdata/tenancy_worlds.txt",
							m.name, seed, w.caller, w.target, n, fmt.Sprintf("%s %d", m.name, seed))
					}
				})
			}
		})
	}
}

// runWorld builds w in g and checks every operation; it returns the
// number of answers that differ from the rules.
func runWorld(t *testing.T, g *servertest.Gateway, m tenancyModel, w tenancyWorld) int {
	ctx := context.Background()
	fx := &agreeFixture{g: g, rules: g.Server.Rules, member: m.personal[0], sharedRole: m.shared}
	for _, co := range w.companies {
		if err := g.Store.CreateCompany(ctx, store.Company{ID: co, Name: co, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := g.Store.CreateSite(ctx, store.Site{ID: "site-" + co, CompanyID: co, Name: "Main " + co, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.rules.CreateDef(ctx, rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: co, Key: agreePropertyKey,
			Type: store.PropertyText, Labels: map[string]string{"en": "Team"}}); err != nil {
			t.Fatal(err)
		}
	}
	callerEmail := fmt.Sprintf("caller-%d@example.com", w.seed)
	caller := placed(t, fx, callerEmail, store.KindPersonal, w.caller, agreePassword)
	c := servertest.Client(t)
	g.Login(t, c, callerEmail, agreePassword)
	actor := agreeActor{role: "caller", id: caller.ID, c: c, csrf: g.CSRFToken(t, c, "/.gatehouse/logout")}

	seq := 0
	fresh := func(kind string, ms map[string]string) store.Account {
		seq++
		return placed(t, fx, fmt.Sprintf("t%d-%d@example.com", w.seed, seq), kind, ms, "")
	}
	sharedMs := map[string]string{}
	for co := range w.target {
		sharedMs[co] = m.shared
	}
	target := fresh(store.KindPersonal, w.target)
	shared := fresh(store.KindSharedComputer, sharedMs)
	rng := rand.New(rand.NewPCG(w.seed, 7))

	mismatches, allowed, denied := 0, 0, 0
	defer func() {
		t.Logf("world %d: %d requests allowed, %d refused, %d mismatches", w.seed, allowed, denied, mismatches)
	}()
	for _, op := range AdminOperations {
		// The company the row concerns: one of the target's or the
		// caller's most of the time, so that allowed answers are common.
		x := w.companies[rng.IntN(len(w.companies))]
		if pick := rng.IntN(3); pick == 0 && len(w.target) > 0 {
			x = sortedKeys(w.target)[rng.IntN(len(w.target))]
		} else if pick == 1 {
			x = sortedKeys(w.caller)[rng.IntN(len(w.caller))]
		}
		role := m.personal[rng.IntN(len(m.personal))]
		csv := "email," + agreePropertyKey + "\n" + target.Email + ",red\n"
		for _, api := range []bool{true, false} {
			calls := op.Panel
			if api {
				calls = op.API
			}
			for _, call := range calls {
				seq++
				vars := map[string]string{
					"{A}": x, "{B}": x, "{own}": w.own, "{n}": fmt.Sprintf("%d-%d", w.seed, seq), "{member}": role,
					"{acct}": target.ID, "{email}": target.Email, "{shared}": shared.ID, "{site}": "site-" + x,
					"{key}": agreePropertyKey, "{csv}": csv, "{csv64}": base64.StdEncoding.EncodeToString([]byte(csv)),
				}
				acct := target
				switch op.Action {
				case "account.update", "account.delete", "account.block", "account.deactivate", "account.membership.set",
					"account.membership.remove", "account.sessions.end", "account.session.end", "passkey.revoke", "api_token.revoke":
					acct = fresh(store.KindPersonal, w.target)
				case "account.invitation.resend":
					seq++
					acct = placedAs(t, fx, fmt.Sprintf("t%d-%d@example.com", w.seed, seq), store.KindPersonal, w.target, "", false)
				case "account.mfa.reset":
					// Only a second factor that exists can be reset.
					acct = fresh(store.KindPersonal, w.target)
					if err := g.Store.PutPendingTOTP(ctx, store.TOTP{AccountID: acct.ID, Secret: []byte("0123456789abcdefghij")}); err != nil {
						t.Fatal(err)
					}
					if err := g.Store.ConfirmTOTP(ctx, acct.ID, 1, [][]byte{[]byte("code")}, time.Now()); err != nil {
						t.Fatal(err)
					}
				case "account.unblock":
					acct = fresh(store.KindPersonal, w.target)
					if _, err := g.Server.Accounts.Block(ctx, "test", acct.ID); err != nil {
						t.Fatal(err)
					}
				case "property.delete":
					key := fmt.Sprintf("gone%d", seq)
					if _, err := fx.rules.CreateDef(ctx, rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: x, Key: key,
						Type: store.PropertyText, Labels: map[string]string{"en": "Gone"}}); err != nil {
						t.Fatal(err)
					}
					vars["{key}"] = key
				}
				vars["{acct}"], vars["{email}"] = acct.ID, acct.Email
				if strings.Contains(call.Path, "{prov}") {
					vars["{prov}"] = fmt.Sprintf("prov-%d-%d", w.seed, seq)
					if err := g.Store.CreateProvider(ctx, store.ProviderRecord{ID: vars["{prov}"], Enabled: true,
						Config: []byte(`{"type":"oidc","issuer":"http://127.0.0.1:1","client_id":"c"}`)}); err != nil {
						t.Fatal(err)
					}
				}
				if strings.Contains(call.Path, "{rule}") {
					vars["{rule}"] = fx.rule(t, x)
				}
				if strings.Contains(call.Path, "{sid}") || strings.Contains(call.Path, "{cred}") || strings.Contains(call.Path, "{token}") {
					vars["{sid}"], vars["{cred}"], vars["{token}"] = belongings(t, g, acct.ID, seq)
				}

				company := x
				if strings.Contains(call.Path+call.Body+fmt.Sprint(call.Form), "{own}") {
					company = w.own
				}
				rw := refWorld{caps: m.capabilities, caller: w.caller, target: w.target, x: company, role: role}
				profile := op.Action == "account.update" && !strings.Contains(call.Body, "properties")
				panelPage := !api && call.Method == "GET" && call.Path == "users/{acct}"
				want := agreeDecideDenied
				if refAllows(rw, op.Action, profile, panelPage) {
					want = agreeDecideAllowed
				}

				var before map[string]any
				if call.Method != "GET" {
					before = worldState(t, g, acct.ID, x)
				}
				last := lastEvent(t, g, actor.id)
				st, loc := fx.do(t, actor, api, call, vars)
				got, ok := panelDecision(st, loc)
				if api {
					got, ok = apiDecision(st)
				}
				if got == agreeDecideAllowed {
					allowed++
				} else {
					denied++
				}
				where := fmt.Sprintf("%s API=%v %s %s (x=%s role=%s)", op.Action, api, call.Method, fx.fill(call.Path, vars), company, role)
				switch {
				case !ok:
					t.Errorf("%s: status %d (%s) says nothing about authorization", where, st, trim(loc))
					mismatches++
				case got != want:
					t.Errorf("%s: %s, the rules say %s: %d %s", where, got, want, st, trim(loc))
					mismatches++
				case got == agreeDecideDenied:
					if call.Method == "GET" {
						break
					}
					if after := worldState(t, g, acct.ID, x); !reflect.DeepEqual(before, after) {
						t.Errorf("%s: refused but changed something:\n before %v\n after  %v", where, before, after)
						mismatches++
					}
					// Leaving a company the account is not in is "not found"
					// for anyone: an error, not a refusal.
					_, member := w.target[company]
					absent := op.Action == "account.membership.remove" && !member
					if e := lastEvent(t, g, actor.id); changes(op.Action) && !absent && (e.ID == last.ID || e.Outcome != "denied") {
						t.Errorf("%s: refused but not audited as denied", where)
						mismatches++
					}
				}
			}
		}
	}
	return mismatches
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// placed makes an active account with exactly memberships ms (none is
// allowed); with a password it can sign in.
func placed(t *testing.T, fx *agreeFixture, email, kind string, ms map[string]string, password string) store.Account {
	t.Helper()
	return placedAs(t, fx, email, kind, ms, password, password == "")
}

// placedAs is placed with the choice of leaving the account invited
// (activate false): an invitation can be sent again only to such an account.
func placedAs(t *testing.T, fx *agreeFixture, email, kind string, ms map[string]string, password string, activate bool) store.Account {
	t.Helper()
	ctx := context.Background()
	companies := sortedKeys(ms)
	home := "placeholder"
	if len(companies) > 0 {
		home = companies[0]
	}
	role := ms[home]
	if role == "" {
		role = fx.member
		if kind == store.KindSharedComputer {
			role = fx.sharedRole
		}
	}
	in := account.NewAccount{Email: email, FirstName: "Tess", LastName: "Target", Kind: kind, SignIn: "password",
		CompanyID: home, Role: role, Actor: "test", Password: password, CreateCompany: true}
	a, err := fx.g.Server.Accounts.Create(ctx, in)
	if err != nil {
		t.Fatalf("creating %s: %v", email, err)
	}
	if activate {
		if a, err = fx.g.Server.Accounts.Activate(ctx, "test", a.ID); err != nil {
			t.Fatalf("activating %s: %v", email, err)
		}
	}
	if len(companies) == 0 {
		if err := fx.g.Store.RemoveMembership(ctx, a.ID, home); err != nil {
			t.Fatal(err)
		}
	}
	for _, co := range companies[min(1, len(companies)):] {
		if err := fx.g.Store.SetMembership(ctx, store.Membership{AccountID: a.ID, CompanyID: co, Role: ms[co], CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// belongings gives an account a session, a passkey and an API token, and
// returns their ids as the routes name them.
func belongings(t *testing.T, g *servertest.Gateway, accountID string, n int) (sid, cred, token string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	sid = fmt.Sprintf("sess-%s-%d", accountID, n)
	if err := g.Store.CreateSession(ctx, store.Session{ID: sid, TokenHash: []byte(sid), AccountID: accountID, AMR: []string{"pwd"},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	id := []byte(fmt.Sprintf("cred-%s-%d", accountID, n))
	if err := g.Store.CreateCredential(ctx, store.Credential{ID: id, AccountID: accountID, Name: "Key", PublicKey: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	token = fmt.Sprintf("tok_%s_%d", accountID, n)
	if err := g.Store.CreateAPIToken(ctx, store.APIToken{ID: token, Hash: []byte(token), Name: "t", AccountID: accountID, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return sid, base64.RawURLEncoding.EncodeToString(id), token
}

// lastEvent is the caller's newest audit event: a refused change adds
// one, marked denied.
func lastEvent(t *testing.T, g *servertest.Gateway, actor string) store.AuditEvent {
	t.Helper()
	events, err := g.Store.ListAudit(context.Background(), store.AuditQuery{Actor: actor, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		return store.AuditEvent{}
	}
	return events[0]
}

// worldState is what a refused request must leave as it was: the target
// account and its memberships, site access, sessions, passkeys, tokens
// and values in x; company x, its sites, properties and rules.
func worldState(t *testing.T, g *servertest.Gateway, accountID, x string) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	must := func(name string, v any, err error) {
		if err != nil && err != store.ErrNotFound {
			t.Fatalf("reading %s: %v", name, err)
		}
		out[name] = fmt.Sprintf("%+v %v", v, err)
	}
	acc, err := g.Store.GetAccount(ctx, accountID)
	acc.UpdatedAt = time.Time{}
	must("account", acc, err)
	ms, err := g.Store.ListMemberships(ctx, accountID)
	for i := range ms {
		ms[i].CreatedAt = time.Time{}
	}
	must("memberships", ms, err)
	sites, err := g.Store.ListSiteAccess(ctx, accountID)
	must("site access", sites, err)
	sess, err := g.Store.ListAccountSessions(ctx, accountID)
	must("sessions", len(sess), err)
	creds, err := g.Store.ListCredentials(ctx, accountID)
	must("passkeys", len(creds), err)
	toks, err := g.Store.ListAPITokens(ctx)
	live := 0
	for _, tk := range toks {
		if tk.AccountID == accountID && tk.RevokedAt.IsZero() {
			live++
		}
	}
	must("tokens", live, err)
	vals, err := g.Store.ListPropertyValues(ctx, accountID, x)
	must("values", vals, err)
	co, err := g.Store.GetCompany(ctx, x)
	must("company", co, err)
	xs, err := g.Store.ListSites(ctx, x)
	must("sites", xs, err)
	members, err := g.Store.ListSiteMembers(ctx, "site-"+x)
	must("site members", members, err)
	defs, err := g.Store.ListPropertyDefs(ctx, x)
	must("properties", len(defs), err)
	rl, err := g.Store.ListAccessRules(ctx, x)
	must("rules", rl, err)
	all, err := g.Store.ListCompanies(ctx)
	must("companies", len(all), err)
	return out
}
