package gate

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// policyRoutes share audiences and companies on purpose: the identity
// cache is keyed by both, and every route's own policy must still decide.
var policyRoutes = []config.Route{
	{PathPrefix: "/admin-only/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "acme", Allow: config.Allow{Roles: []string{"admin"}}},
	{PathPrefix: "/edit/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "acme", Allow: config.Allow{Capabilities: []string{"edit"}}},
	{PathPrefix: "/public/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "acme", Public: true},
	{PathPrefix: "/globex/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "globex"},
	{PathPrefix: "/other-app/", Upstream: "http://127.0.0.1:9", Audience: "other", Company: "acme", Allow: config.Allow{Roles: []string{"manager", "admin"}}},
	{PathPrefix: "/", Upstream: "http://127.0.0.1:9", Audience: "app", Company: "acme"},
}

// policyPath is a path that the route policyRoutes[i] matches.
func policyPath(i int) string {
	if p := policyRoutes[i].PathPrefix; p != "/" {
		return p + "x"
	}
	return "/x"
}

// member is one test account: its status and its role in each company.
type member struct {
	status string
	roles  map[string]string // company -> role
}

// members is an account store for the policy tests: each session is its
// own account, named after it.
type members map[string]member

func (m members) Identity(_ context.Context, accountID, company string) (account.Identity, error) {
	a, ok := m[accountID]
	if !ok {
		return account.Identity{}, store.ErrNotFound
	}
	id := account.Identity{
		Account: store.Account{ID: accountID, Email: accountID + "@example.com", Status: a.status, Kind: store.KindPersonal},
		Company: company, Sites: []string{},
	}
	if role := a.roles[company]; role != "" {
		id.Role = role
		id.Capabilities = capabilitiesOf[role]
	}
	return id, nil
}

var capabilitiesOf = map[string][]string{
	"viewer":  {"view"},
	"manager": {"view", "edit"},
	"admin":   {"view", "edit", "admin_panel"},
}

// cookieSessions finds the session named by the "sid" cookie; each
// session belongs to the account of the same name.
type cookieSessions struct{}

func (cookieSessions) Lookup(_ context.Context, r *http.Request) (store.Session, error) {
	c, err := r.Cookie("sid")
	if err != nil {
		return store.Session{}, session.ErrNoSession
	}
	return store.Session{ID: c.Value, AccountID: c.Value, AMR: []string{"pwd"}, IDP: "local"}, nil
}

func newPolicyGate(tb testing.TB, ids Identities) *Gate {
	tb.Helper()
	router, err := proxy.NewRouter(policyRoutes, proxy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return New(router, cookieSessions{}, ids, &countingSigner{}, 1000, time.Now, slog.New(slog.DiscardHandler))
}

// visit decides one request of session sid (none when empty) to path.
func visit(g *Gate, sid, path string) Decision {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if sid != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	}
	return g.Decide(r.Context(), r, "localhost", path)
}

// verdict is what a decision tells the app and the browser, without the
// assertion itself (its text differs between signatures).
type verdict struct {
	Outcome Outcome
	User    string
	Role    string
}

func verdictOf(d Decision) verdict {
	v := verdict{Outcome: d.Outcome}
	if d.Identity != nil {
		v.User, v.Role = d.Identity.User, d.Identity.Role
	}
	return v
}

// uncached is the decision of a gate that has never seen the session.
func uncached(ids Identities, sid, path string, tb testing.TB) verdict {
	return verdictOf(visit(newPolicyGate(tb, ids), sid, path))
}

var policyMembers = members{
	"viewer":      {status: store.StatusActive, roles: map[string]string{"acme": "viewer"}},
	"manager":     {status: store.StatusActive, roles: map[string]string{"acme": "manager"}},
	"admin":       {status: store.StatusActive, roles: map[string]string{"acme": "admin", "globex": "viewer"}},
	"globex-only": {status: store.StatusActive, roles: map[string]string{"globex": "admin"}},
	"blocked":     {status: store.StatusBlocked, roles: map[string]string{"acme": "admin"}},
}

// TestPolicyOfEachRouteWhateverWasVisitedFirst: a cached identity never
// carries one route's answer to another. Every pair of routes is visited
// in both orders by every account, and each visit must get the answer of
// a gate that has seen nothing.
func TestPolicyOfEachRouteWhateverWasVisitedFirst(t *testing.T) {
	want := map[string]map[string]Outcome{ // account -> route prefix -> outcome
		"viewer":      {"/admin-only/": Deny, "/edit/": Deny, "/public/": Allow, "/globex/": Deny, "/other-app/": Deny, "/": Allow},
		"manager":     {"/admin-only/": Deny, "/edit/": Allow, "/public/": Allow, "/globex/": Deny, "/other-app/": Allow, "/": Allow},
		"admin":       {"/admin-only/": Allow, "/edit/": Allow, "/public/": Allow, "/globex/": Allow, "/other-app/": Allow, "/": Allow},
		"globex-only": {"/admin-only/": Deny, "/edit/": Deny, "/public/": Allow, "/globex/": Allow, "/other-app/": Deny, "/": Deny},
		"blocked":     {"/admin-only/": Deny, "/edit/": Deny, "/public/": Allow, "/globex/": Deny, "/other-app/": Deny, "/": Deny},
		"":            {"/admin-only/": SignIn, "/edit/": SignIn, "/public/": Allow, "/globex/": SignIn, "/other-app/": SignIn, "/": SignIn},
	}
	for sid, outcomes := range want {
		for i := range policyRoutes {
			for j := range policyRoutes {
				if i == j {
					continue
				}
				first, second := policyRoutes[i].PathPrefix, policyRoutes[j].PathPrefix
				t.Run(fmt.Sprintf("%s/%s_then_%s", sid, first, second), func(t *testing.T) {
					g := newPolicyGate(t, policyMembers)
					for _, k := range []int{i, j, i} {
						prefix := policyRoutes[k].PathPrefix
						d := visit(g, sid, policyPath(k))
						if d.Outcome != outcomes[prefix] {
							t.Fatalf("%s on %s: %v, want %v", sid, prefix, d.Outcome, outcomes[prefix])
						}
						if got, want := verdictOf(d), uncached(policyMembers, sid, policyPath(k), t); got != want {
							t.Fatalf("%s on %s: %+v, the uncached gate says %+v", sid, prefix, got, want)
						}
						// An identity reaches the app only for an active account.
						if (d.Identity != nil) != (d.Outcome == Allow && sid != "" && sid != "blocked") {
							t.Fatalf("%s on %s: identity %v with outcome %v", sid, prefix, d.Identity, d.Outcome)
						}
						if d.Identity != nil && d.Identity.Role != policyMembers[sid].roles[policyRoutes[k].Company] {
							t.Fatalf("%s on %s: role %q sent, want the role in %s", sid, prefix, d.Identity.Role, policyRoutes[k].Company)
						}
					}
				})
			}
		}
	}
}

// TestCachedDecisionEqualsUncached runs random sequences of visits by
// random accounts to random routes, with role changes in between (each
// followed by ForgetAll, as the account service does), and compares every
// answer with a gate that has no cache.
func TestCachedDecisionEqualsUncached(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		steps := make([]byte, 64)
		for i := range steps {
			steps[i] = byte(rng.UintN(256))
		}
		checkSequence(t, steps)
	}
}

// FuzzCachedDecisionEqualsUncached is the same property over sequences
// the fuzzer chooses.
func FuzzCachedDecisionEqualsUncached(f *testing.F) {
	f.Add([]byte{0, 0, 5, 0, 0, 0})           // viewer: / then /admin-only/
	f.Add([]byte{2, 0, 0, 0, 5, 0})           // public then private
	f.Add([]byte{1, 1, 4, 1, 3, 1, 0, 1})     // capability, other audience, other company
	f.Add([]byte{0, 0, 5, 255, 1, 0, 0, 0})   // a role change between visits
	f.Add([]byte{3, 2, 5, 2, 4, 2, 255, 200}) // another company first
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 512 {
			steps = steps[:512]
		}
		checkSequence(t, steps)
	})
}

// checkSequence reads steps two bytes at a time: a route and an account,
// or, when the first byte is 255, a role change (the second byte picks
// the account, company and new role).
func checkSequence(t *testing.T, steps []byte) {
	accounts := []string{"a0", "a1", "a2", ""}
	roles := []string{"", "viewer", "manager", "admin"}
	companies := []string{"acme", "globex"}
	ms := members{}
	for i, a := range accounts[:3] {
		ms[a] = member{status: store.StatusActive, roles: map[string]string{"acme": roles[(i+1)%len(roles)]}}
	}
	g := newPolicyGate(t, ms)
	for i := 0; i+1 < len(steps); i += 2 {
		if steps[i] == 255 {
			b := steps[i+1]
			a := accounts[int(b)%3]
			m := ms[a]
			rs := make(map[string]string, len(m.roles)+1)
			for k, v := range m.roles {
				rs[k] = v
			}
			rs[companies[int(b>>2)%2]] = roles[int(b>>3)%len(roles)]
			m.roles = rs
			if b&0x80 != 0 {
				m.status = store.StatusBlocked
			} else {
				m.status = store.StatusActive
			}
			ms[a] = m
			g.ForgetAll()
			continue
		}
		route := int(steps[i]) % len(policyRoutes)
		sid := accounts[int(steps[i+1])%len(accounts)]
		got := verdictOf(visit(g, sid, policyPath(route)))
		if want := uncached(ms, sid, policyPath(route), t); got != want {
			t.Fatalf("step %d: %q on %s: cached gate %+v, uncached %+v (steps %v)",
				i/2, sid, policyRoutes[route].PathPrefix, got, want, steps[:i+2])
		}
	}
}
