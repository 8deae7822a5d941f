package server_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// TestBackChannelLogoutThroughTheGateway: the provider posts logout tokens
// to the real gateway; a valid one ends exactly the sessions it names at
// once (no cache keeps them alive), and every broken one gets 400 and
// leaves every session working.
func TestBackChannelLogoutThroughTheGateway(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := ssoGateway(t, up, idp)
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	g.CreateUser(t, account.NewAccount{Email: "bob@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	endpoint := g.URL + "/.gatehouse/sso/corp/backchannel-logout"

	signIn := func(subject, email string) (*http.Client, string) {
		t.Helper()
		idp.SetUser(providertest.User{Subject: subject, Email: email, EmailVerified: true, GivenName: "G", FamilyName: "F"})
		c := servertest.Client(t)
		g.SignInSSO(t, c, "corp")
		return c, idp.LastSID()
	}
	ada1, sid1 := signIn("ada-sub", "ada@example.com")
	ada2, _ := signIn("ada-sub", "ada@example.com") // another browser, another provider session
	bob, _ := signIn("bob-sub", "bob@example.com")
	want := func(when string, states map[*http.Client]int) {
		t.Helper()
		names := map[*http.Client]string{ada1: "ada's first browser", ada2: "ada's second browser", bob: "bob"}
		for c, st := range states {
			if got := status(t, c, g.URL+"/app"); got != st {
				t.Fatalf("%s: %s got %d, want %d", when, names[c], got, st)
			}
		}
	}
	want("signed in", map[*http.Client]int{ada1: 200, ada2: 200, bob: 200})

	post := func(tok string) (int, string) {
		t.Helper()
		st, body, err := idp.PostLogout(endpoint, tok)
		if err != nil {
			t.Fatal(err)
		}
		return st, body
	}
	mint := func(l providertest.Logout, f providertest.Fault) string {
		t.Helper()
		tok, err := idp.LogoutToken(l, f)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	faults := map[string]providertest.Fault{
		"bad signature":        providertest.BadSignature,
		"wrong iss":            providertest.WrongIssuer,
		"wrong aud":            providertest.ForeignAudience,
		"no events":            providertest.LogoutNoEvents,
		"foreign event":        providertest.LogoutForeignEvent,
		"event not an object":  providertest.LogoutEventNotObject,
		"events not an object": providertest.LogoutEventsNotObject,
		"nonce present":        providertest.LogoutWithNonce,
		"neither sid nor sub":  providertest.LogoutNoSIDNoSub,
		"missing jti":          providertest.LogoutNoJTI,
		"iat in the future":    providertest.IssuedInFuture,
		"no iat":               providertest.LogoutNoIAT,
		"expired":              providertest.Expired,
		"stale, no exp":        providertest.LogoutStaleWithoutExp,
		"alg none":             providertest.AlgNone,
		"HMAC":                 providertest.HS256PublicKey,
		"unknown kid":          providertest.UnknownKid,
	}
	for name, f := range faults {
		if st, body := post(mint(providertest.Logout{SID: sid1, Subject: "ada-sub"}, f)); st != http.StatusBadRequest {
			t.Fatalf("%s: %d %s, want 400", name, st, body)
		}
		want(name, map[*http.Client]int{ada1: 200, ada2: 200, bob: 200})
	}

	// A sid ends that provider session only.
	valid := mint(providertest.Logout{SID: sid1, Subject: "ada-sub"}, providertest.NoFault)
	if st, body := post(valid); st != http.StatusOK {
		t.Fatalf("valid sid token: %d %s", st, body)
	}
	want("after the sid logout", map[*http.Client]int{ada1: 401, ada2: 200, bob: 200})

	// The same token again is a replay.
	if st, _ := post(valid); st != http.StatusBadRequest {
		t.Fatalf("replayed token: %d, want 400", st)
	}
	want("after the replay", map[*http.Client]int{ada2: 200, bob: 200})

	// A sub alone ends every session of that identity from this provider.
	if st, body := post(mint(providertest.Logout{Subject: "ada-sub"}, providertest.NoFault)); st != http.StatusOK {
		t.Fatalf("valid sub token: %d %s", st, body)
	}
	want("after the sub logout", map[*http.Client]int{ada2: 401, bob: 200})

	evs, err := g.Store.ListAudit(t.Context(), store.AuditQuery{Action: "sso.backchannel_logout", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, ev := range evs {
		outcomes[ev.Outcome]++
	}
	if outcomes["ok"] != 2 || outcomes["denied"] != len(faults)+1 {
		t.Fatalf("audit outcomes %v, want 2 ok and %d denied", outcomes, len(faults)+1)
	}
}
