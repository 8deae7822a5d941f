package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// auditWorld is two companies and their traffic: acme (its admin, alice,
// and root, who administers acme and beta), beta (its admin) and an
// account both share; sign-ins, a failed one for alice and one for an
// unknown address, a change by each admin; a signed-in client per admin.
type auditWorld struct {
	g                        *servertest.Gateway
	acmeAdmin, alice, shared store.Account
	acme, beta, root         *http.Client
}

func newAuditWorld(t *testing.T) auditWorld {
	t.Helper()
	g := gatewayWith(t, newUpstream(t), nil)
	ctx := context.Background()
	w := auditWorld{g: g}
	w.acmeAdmin = g.CreateUser(t, account.NewAccount{Email: "boss@acme.test", Password: pw, CompanyID: "acme", Role: "admin"})
	w.alice = g.CreateUser(t, account.NewAccount{Email: "alice@acme.test", Password: pw, CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "boss@beta.test", Password: pw, CompanyID: "beta", Role: "admin"})
	w.shared = g.CreateUser(t, account.NewAccount{Email: "shared@example.test", Password: pw, CompanyID: "acme", Role: "viewer"})
	root := g.CreateUser(t, account.NewAccount{Email: "root@example.test", Password: pw, CompanyID: "acme", Role: "admin"})
	if err := g.Server.Accounts.SetMembership(ctx, "test", w.shared.ID, account.MembershipInput{Company: "beta", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.Accounts.SetMembership(ctx, "test", root.ID, account.MembershipInput{Company: "beta", Role: "admin"}); err != nil {
		t.Fatal(err)
	}

	// acme's own traffic.
	g.Login(t, servertest.Client(t), "alice@acme.test", pw)
	failLogin(t, g, "alice@acme.test")
	failLogin(t, g, "nobody@nowhere.test") // concerns no company
	w.acme = servertest.Client(t)
	g.Login(t, w.acme, "boss@acme.test", pw)
	csrf := g.CSRFToken(t, w.acme, "/.gatehouse/logout")
	st, body := apiCall(t, g, w.acme, csrf, "PATCH", "/.gatehouse/api/v1/accounts/"+w.alice.ID, "application/json", `{"first_name":"Alicia"}`)
	mustStatus(t, "acme's admin renames alice", st, http.StatusOK, body)
	// Account-wide events of the shared account: its sign-in, and a change
	// acme's admin makes (or is refused: either way it is recorded).
	g.Login(t, servertest.Client(t), "shared@example.test", pw)
	apiCall(t, g, w.acme, csrf, "PATCH", "/.gatehouse/api/v1/accounts/"+w.shared.ID, "application/json", `{"first_name":"Shared"}`)
	// beta's own.
	w.beta = servertest.Client(t)
	g.Login(t, w.beta, "boss@beta.test", pw)
	csrf = g.CSRFToken(t, w.beta, "/.gatehouse/logout")
	st, body = apiCall(t, g, w.beta, csrf, "POST", "/.gatehouse/api/v1/sites", "application/json", `{"company":"beta","name":"Lyon"}`)
	mustStatus(t, "beta's admin creates a site", st, http.StatusCreated, body)
	w.root = servertest.Client(t)
	g.Login(t, w.root, "root@example.test", pw)
	return w
}

// failLogin makes one failed password sign-in for email.
func failLogin(t *testing.T, g *servertest.Gateway, email string) {
	t.Helper()
	c := servertest.Client(t)
	token := g.CSRFToken(t, c, "/.gatehouse/login")
	_, resp := g.PostForm(t, c, "/.gatehouse/login", url.Values{
		"email": {email}, "password": {"wrong password"}, "csrf_token": {token}, "rd": {"/"},
	})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password for %s: %d", email, resp.StatusCode)
	}
}

// listAuditAPI reads the first page of the audit log through the API, as
// "action target" keys and the events themselves.
func listAuditAPI(t *testing.T, g *servertest.Gateway, c *http.Client) ([]string, []map[string]any) {
	t.Helper()
	st, body := apiCall(t, g, c, "", "GET", "/.gatehouse/api/v1/audit?limit=200", "", "")
	mustStatus(t, "list the audit log", st, http.StatusOK, body)
	var keys []string
	var events []map[string]any
	for _, v := range body["events"].([]any) {
		e := v.(map[string]any)
		keys = append(keys, fmt.Sprintf("%s %s", e["action"], e["target"]))
		events = append(events, e)
	}
	return keys, events
}

// TestAuditLogPerCompany: through the API and the panel, beta's admin
// reads none of acme's events, acme's admin reads acme's and the
// account-wide events of an account both companies share, and neither
// reads an event that concerns no company. An account outside the
// reader's companies is shown by its id, never its email.
func TestAuditLogPerCompany(t *testing.T) {
	w := newAuditWorld(t)
	g, alice, shared := w.g, w.alice, w.shared
	acmeOnly := []string{
		"login.success " + alice.ID, "login.failure alice@acme.test", "account.update " + alice.ID,
		"account.create " + alice.ID, "login.success " + w.acmeAdmin.ID,
	}
	betaOnly := []string{"site.create"}
	bothShared := []string{"login.success " + shared.ID, "account.update " + shared.ID}
	nobody := []string{"login.failure nobody@nowhere.test"}
	has := func(keys []string, want string) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, want) })
	}
	check := func(who string, keys []string, sees, seesNot []string) {
		t.Helper()
		for _, k := range sees {
			if !has(keys, k) {
				t.Errorf("%s does not read %q", who, k)
			}
		}
		for _, k := range seesNot {
			if has(keys, k) {
				t.Errorf("%s reads %q", who, k)
			}
		}
	}
	betaKeys, betaEvents := listAuditAPI(t, g, w.beta)
	check("beta's admin", betaKeys, slices.Concat(betaOnly, bothShared), slices.Concat(acmeOnly, nobody))
	acmeKeys, _ := listAuditAPI(t, g, w.acme)
	check("acme's admin", acmeKeys, slices.Concat(acmeOnly, bothShared), slices.Concat(betaOnly, nobody))
	rootKeys, _ := listAuditAPI(t, g, w.root)
	check("the admin of every company", rootKeys, slices.Concat(acmeOnly, betaOnly, bothShared, nobody), nil)
	// An event of the shared account names only the reader's companies.
	for _, e := range betaEvents {
		cos, _ := e["companies"].([]any)
		for _, co := range cos {
			if co != "beta" {
				t.Errorf("beta's admin is told event %v concerns %v", e["id"], co)
			}
		}
	}

	// The panel: beta's page names nobody of acme's, not even acme's
	// admin acting on the shared account (an id there, not an email).
	page, resp := g.Get(t, w.beta, "/.gatehouse/admin/audit", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("beta's audit page: %d", resp.StatusCode)
	}
	for _, leak := range []string{"alice@acme.test", alice.ID, "boss@acme.test", "nobody@nowhere.test"} {
		if strings.Contains(page, leak) {
			t.Errorf("beta's audit page shows %q", leak)
		}
	}
	for _, want := range []string{"shared@example.test", w.acmeAdmin.ID, "site.create"} {
		if !strings.Contains(page, want) {
			t.Errorf("beta's audit page does not show %q", want)
		}
	}
	page, _ = g.Get(t, w.acme, "/.gatehouse/admin/audit", "text/html")
	for _, want := range []string{"alice@acme.test", "shared@example.test", "boss@acme.test"} {
		if !strings.Contains(page, want) {
			t.Errorf("acme's audit page does not show %q", want)
		}
	}
	for _, leak := range []string{"boss@beta.test", "site.create", "nobody@nowhere.test"} {
		if strings.Contains(page, leak) {
			t.Errorf("acme's audit page shows %q", leak)
		}
	}
	// Searching by another company's address finds nothing either.
	page, _ = g.Get(t, w.beta, "/.gatehouse/admin/audit?target="+url.QueryEscape("alice@acme.test"), "text/html")
	if strings.Contains(page, alice.ID) || strings.Contains(page, "login.") {
		t.Errorf("beta's search for alice shows her events")
	}
}
