package server_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestTenancyTakeoverChainFails plays the attack on a group of companies:
// dual is admin of acme and viewer of gamma; gamma's admin tries every
// step that would give them dual's acme powers or leave acme without an
// admin, and each one is refused and changes nothing. What gamma's admin
// may do, removing dual from gamma, works, and then dual is out of sight.
func TestTenancyTakeoverChainFails(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	mk := func(email, company, role string) store.Account {
		return g.CreateUser(t, account.NewAccount{Email: email, Password: agreePassword, CompanyID: company, Role: role})
	}
	mk("gadmin@gamma.test", "gamma", "admin")
	dual := mk("dual@acme.test", "acme", "admin")
	if err := g.Store.SetMembership(ctx, store.Membership{AccountID: dual.ID, CompanyID: "gamma", Role: "viewer", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	token := func(email string) string {
		secret, err := adminsvc.CreateToken(ctx, g.Store, g.Store, g.Server.Accounts.Roles(), email, "t", time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	gamma, dualToken := token("gadmin@gamma.test"), token("dual@acme.test")
	dualTokens, err := g.Store.ListAPITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dualTokenID string
	for _, tk := range dualTokens {
		if tk.AccountID == dual.ID {
			dualTokenID = tk.ID
		}
	}
	if err := g.Store.CreateCredential(ctx, store.Credential{ID: []byte("dual-key"), AccountID: dual.ID, Name: "Key", PublicKey: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	api := "/.gatehouse/api/v1/"
	acct := api + "accounts/" + dual.ID

	for _, step := range []struct {
		name, method, path, body string
	}{
		{"take the email", "PATCH", acct, `{"email":"attacker@evil.test"}`},
		{"rename", "PATCH", acct, `{"first_name":"Mallory"}`},
		{"block", "POST", acct + "/block", ""},
		{"deactivate", "POST", acct + "/deactivate", ""},
		{"delete", "DELETE", acct, ""},
		{"end sessions", "DELETE", acct + "/sessions", ""},
		{"revoke the passkey", "DELETE", acct + "/credentials/ZHVhbC1rZXk", ""},
		{"enrol a workstation", "POST", acct + "/enrolments", `{"name":"x"}`},
		{"revoke the API token", "DELETE", api + "api-tokens/" + dualTokenID, ""},
		{"demote in acme", "PUT", acct + "/memberships/acme", `{"role":"viewer"}`},
		{"remove from acme", "DELETE", acct + "/memberships/acme", ""},
		{"list acme", "GET", api + "accounts?company=acme", ""},
		{"rename acme", "PATCH", api + "companies/acme", `{"name":"Pwned"}`},
	} {
		before := takeoverState(t, g, dual.ID)
		st, body := bearerCall(t, g, gamma, step.method, step.path, step.body)
		if st != http.StatusForbidden && st != http.StatusNotFound {
			t.Errorf("%s: %d %v, want a refusal", step.name, st, body)
		}
		if after := takeoverState(t, g, dual.ID); after != before {
			t.Errorf("%s: refused but changed\n%s\nto\n%s", step.name, before, after)
		}
	}
	if _, err := g.Store.GetAccountByEmail(ctx, "attacker@evil.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the attacker's address owns an account: %v", err)
	}
	// gamma's token list does not show dual's token.
	if st, body := bearerCall(t, g, gamma, "GET", api+"api-tokens", ""); st != http.StatusOK || strings.Contains(tokenIDs(body), dualTokenID) {
		t.Fatalf("gamma's admin lists dual's token: %d %v", st, body)
	}
	// Dual still runs acme.
	if st, _ := bearerCall(t, g, dualToken, "GET", api+"accounts?company=acme", ""); st != http.StatusOK {
		t.Fatalf("dual lost acme: %d", st)
	}
	// What gamma's admin may do: take dual out of gamma. Then dual is
	// none of gamma's business, and answers as an unknown account.
	if st, body := bearerCall(t, g, gamma, "DELETE", acct+"/memberships/gamma", ""); st != http.StatusOK {
		t.Fatalf("removing dual from gamma: %d %v", st, body)
	}
	stGone, _ := bearerCall(t, g, gamma, "GET", acct, "")
	stNone, _ := bearerCall(t, g, gamma, "GET", api+"accounts/acc_doesnotexist", "")
	if stGone != http.StatusNotFound || stNone != http.StatusNotFound {
		t.Fatalf("another company's account %d, a missing one %d: want 404 alike", stGone, stNone)
	}
}

func tokenIDs(body map[string]any) string {
	var b strings.Builder
	list, _ := body["tokens"].([]any)
	for _, tk := range list {
		if m, ok := tk.(map[string]any); ok {
			b.WriteString(m["id"].(string) + " ")
		}
	}
	return b.String()
}

// takeoverState is what the attack must not change about dual.
func takeoverState(t *testing.T, g *servertest.Gateway, id string) string {
	t.Helper()
	ctx := context.Background()
	a, err := g.Store.GetAccount(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := g.Store.ListMemberships(ctx, id)
	creds, _ := g.Store.ListCredentials(ctx, id)
	toks, _ := g.Store.ListAPITokens(ctx)
	revoked := 0
	for _, tk := range toks {
		if !tk.RevokedAt.IsZero() {
			revoked++
		}
	}
	co, _ := g.Store.GetCompany(ctx, "acme")
	var roles []string
	for _, m := range ms {
		roles = append(roles, m.CompanyID+"="+m.Role)
	}
	return strings.Join([]string{a.Email, a.FirstName, a.Status, strings.Join(roles, ","), co.Name,
		string(rune('0' + len(creds))), string(rune('0' + revoked))}, " | ")
}

// TestTenancyNoticesAndAdoption: an email change made by an administrator
// of every company of the account mails the old address and is audited
// with both; inviting or creating the address of another company's
// account adds it to the caller's company, mails its holder, and answers
// exactly as a new address does.
func TestTenancyNoticesAndAdoption(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	mk := func(email, company, role string) store.Account {
		return g.CreateUser(t, account.NewAccount{Email: email, Password: agreePassword, CompanyID: company, Role: role})
	}
	mk("admin@acme.test", "acme", "admin")
	mk("admin@gamma.test", "gamma", "admin")
	worker := mk("worker@acme.test", "acme", "viewer")
	token := func(email string) string {
		secret, err := adminsvc.CreateToken(ctx, g.Store, g.Store, g.Server.Accounts.Roles(), email, "t", time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	acme, gamma := token("admin@acme.test"), token("admin@gamma.test")
	api := "/.gatehouse/api/v1/"

	if st, body := bearerCall(t, g, acme, "PATCH", api+"accounts/"+worker.ID, `{"email":"worker2@acme.test"}`); st != http.StatusOK {
		t.Fatalf("email change: %d %v", st, body)
	}
	if n, err := g.Store.CountRecentMail(ctx, "email_changed", "worker@acme.test", since); err != nil || n != 1 {
		t.Fatalf("notices to the old address: %d %v", n, err)
	}
	events, err := g.Store.ListAudit(ctx, store.AuditQuery{Action: "account.update", Target: worker.ID})
	if err != nil || len(events) != 1 || !strings.Contains(fmt.Sprint(events[0].Details), "worker@acme.test") || !strings.Contains(fmt.Sprint(events[0].Details), "worker2@acme.test") {
		t.Fatalf("audit of the change: %+v %v", events, err)
	}

	// gamma invites acme's worker and a new address: both answers alike.
	st, body := bearerCall(t, g, gamma, "POST", api+"invitations", `{"emails":"worker2@acme.test; fresh@gamma.test","memberships":[{"company":"gamma","role":"viewer"}]}`)
	if st != http.StatusOK || len(body["invited"].([]any)) != 2 || len(body["existing"].([]any)) != 0 || body["mailed"] != float64(2) {
		t.Fatalf("invitations: %d %v", st, body)
	}
	if n, err := g.Store.CountRecentMail(ctx, "company_added", "worker2@acme.test", since); err != nil || n != 1 {
		t.Fatalf("the added account was not told: %d %v", n, err)
	}
	ms, err := g.Store.ListMemberships(ctx, worker.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("memberships after the invitation: %+v %v", ms, err)
	}
	// Creating another company's address answers 201 as a new one would.
	mk("someone@beta.test", "beta", "viewer")
	for _, email := range []string{"someone@beta.test", "nobody@gamma.test"} {
		st, body := bearerCall(t, g, gamma, "POST", api+"accounts", `{"email":"`+email+`","first_name":"A","last_name":"B","memberships":[{"company":"gamma","role":"viewer"}]}`)
		if st != http.StatusCreated || body["invitation_sent"] != true {
			t.Fatalf("creating %s: %d %v", email, st, body)
		}
	}
	// gamma's admin sees the account now, but cannot change it as a whole.
	if st, _ := bearerCall(t, g, gamma, "PATCH", api+"accounts/"+worker.ID, `{"email":"mine@evil.test"}`); st != http.StatusForbidden {
		t.Fatalf("gamma changing a shared account's email: %d", st)
	}
}
