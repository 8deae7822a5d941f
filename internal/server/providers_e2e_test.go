package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

func secretsKey(b byte) config.Secret {
	return config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)))
}

// gatewayLike starts another gateway on g's config (and store) on
// addresses of its own, logging to logs.
func gatewayLike(t *testing.T, g *servertest.Gateway, logs *lockedBuffer, edit func(*config.Config)) *servertest.Gateway {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.Config
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", pub.Addr().(*net.TCPAddr).Port)
	cfg.Listen, cfg.OpsListen = pub.Addr().String(), ops.Addr().String()
	if edit != nil {
		edit(&cfg)
	}
	return servertest.StartWith(t, cfg, pub, ops, servertest.Options{LogTo: logs})
}

// providerAdmin signs an admin in on g and returns a JSON API caller that
// keeps every answer it got.
type providerAdmin struct {
	g       *servertest.Gateway
	c       *http.Client
	csrf    string
	answers bytes.Buffer
}

func newProviderAdmin(t *testing.T, g *servertest.Gateway) *providerAdmin {
	g.CreateUser(t, account.NewAccount{Email: "it@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	a := &providerAdmin{g: g, c: servertest.Client(t)}
	g.Login(t, a.c, "it@example.com", pw)
	a.csrf = g.CSRFToken(t, a.c, "/.gatehouse/logout")
	return a
}

func (a *providerAdmin) call(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	st, out := apiCall(t, a.g, a.c, a.csrf, method, "/.gatehouse/api/v1/"+path, "application/json", body)
	raw, _ := json.Marshal(out)
	a.answers.Write(raw)
	mustStatus(t, method+" "+path, st, want, out)
	return out
}

func providerJSON(id, issuer, clientID, secret string, extra string) string {
	return `{"id":"` + id + `","type":"oidc","display_name":"Corp SSO","issuer":"` + issuer + `","client_id":"` + clientID +
		`","client_secret":"` + secret + `"` + extra + `}`
}

// fieldsOf returns the fields an API refusal names.
func fieldsOf(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	e, _ := out["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	if f == nil {
		t.Fatalf("no fields in %v", out)
	}
	return f
}

func hasButton(t *testing.T, g *servertest.Gateway, id string) bool {
	body, _ := g.Get(t, servertest.Client(t), "/.gatehouse/login", "text/html")
	return strings.Contains(body, "/.gatehouse/sso/"+id+"/start")
}

// TestProvidersAddedFromTheAPI: with two gateways on one PostgreSQL, a
// provider created through the API on the first signs people in on the
// second within a second; disabled, its button and routes go on both
// and its sessions end; a bad issuer, a key set that does not answer and a
// multi-tenant issuer without tenants are each refused naming the field,
// storing nothing; and the client secret is in no API answer, log line
// or audit event.
func TestProvidersAddedFromTheAPI(t *testing.T) {
	idp := providertest.New(providertest.Options{ClientSecret: "client-secret-that-must-not-leak-7f3a"})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	logs1, logs2 := &lockedBuffer{}, &lockedBuffer{}
	g1 := servertest.Start(t, servertest.Options{Postgres: true, LogTo: logs1, Configure: func(c *config.Config) {
		c.Secrets.Key = secretsKey(1)
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	g2 := gatewayLike(t, g1, logs2, nil)
	admin := newProviderAdmin(t, g1)
	g1.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	idp.SetUser(providertest.User{Subject: "ada-1", Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "L"})
	secret := idp.ClientSecret()

	if hasButton(t, g2, "corp") {
		t.Fatal("a button before the provider exists")
	}
	created := time.Now()
	out := admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), secret, ""), http.StatusCreated)
	if out["client_secret"] != "set" || out["source"] != "admin" || out["status"] != "ready" ||
		out["redirect_uri"] != g1.URL+"/.gatehouse/sso/corp/callback" || out["backchannel_logout_uri"] != g1.URL+"/.gatehouse/sso/corp/backchannel-logout" {
		t.Fatalf("created provider = %v", out)
	}
	if !hasButton(t, g1, "corp") {
		t.Fatal("no button on the gateway that made the change, right after it")
	}
	took := waitFor(t, time.Second, "the provider's button on the second gateway", func() bool { return hasButton(t, g2, "corp") })
	t.Logf("provider live on the second gateway %v after the API call (%v after it answered)", time.Since(created), took)
	ada := servertest.Client(t)
	g2.SignInSSO(t, ada, "corp")
	if st := status(t, ada, g2.URL+"/reports"); st != http.StatusOK {
		t.Fatalf("signed in through the new provider on the second gateway: %d", st)
	}

	// The second gateway's metrics show the provider answering and the sign-in.
	waitFor(t, 5*time.Second, "the provider's health in the second gateway's metrics", func() bool {
		m := metricsText(t, g2)
		return strings.Contains(m, `gatehouse_provider_up{provider="corp"} 1`) &&
			strings.Contains(m, `gatehouse_provider_signins_total{provider="corp",result="success"} 1`)
	})

	// Refused, each naming its field, and nothing stored.
	bad := admin.call(t, "POST", "providers", providerJSON("wrong", idp.Issuer+"/", idp.ClientID(), secret, ""), http.StatusUnprocessableEntity)
	if _, ok := fieldsOf(t, bad)["issuer"]; !ok {
		t.Errorf("bad issuer: %v", bad)
	}
	idp.SetJWKSDown(true)
	bad = admin.call(t, "POST", "providers", providerJSON("nokeys", idp.Issuer, idp.ClientID(), secret, ""), http.StatusUnprocessableEntity)
	idp.SetJWKSDown(false)
	if _, ok := fieldsOf(t, bad)["jwks_uri"]; !ok {
		t.Errorf("JWKS down: %v", bad)
	}
	entra := providertest.New(providertest.Options{MultiTenant: true})
	t.Cleanup(entra.Close)
	bad = admin.call(t, "POST", "providers", `{"id":"entra","type":"microsoft","issuer":"`+entra.Issuer+`","client_id":"x","client_secret":"`+secret+`"}`, http.StatusUnprocessableEntity)
	if _, ok := fieldsOf(t, bad)["allowed_tenants"]; !ok {
		t.Errorf("no tenant list: %v", bad)
	}
	// Several problems are all reported at once.
	bad = admin.call(t, "POST", "providers", `{"id":"Bad Id","type":"okta","issuer":"","client_id":""}`, http.StatusUnprocessableEntity)
	if f := fieldsOf(t, bad); len(f) < 3 {
		t.Errorf("several problems, reported: %v", f)
	}
	list := admin.call(t, "GET", "providers", "", http.StatusOK)
	if ps, _ := list["providers"].([]any); len(ps) != 1 {
		t.Fatalf("after refusals, providers = %v", list)
	}
	// The id is taken.
	admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), secret, ""), http.StatusUnprocessableEntity)

	// An update that keeps the secret still signs in.
	admin.call(t, "PUT", "providers/corp", `{"type":"oidc","display_name":"Corp Login","issuer":"`+idp.Issuer+`","client_id":"`+idp.ClientID()+`"}`, http.StatusOK)
	waitFor(t, time.Second, "the new name on the second gateway", func() bool {
		body, _ := g2.Get(t, servertest.Client(t), "/.gatehouse/login", "text/html")
		return strings.Contains(body, "Corp Login")
	})
	g2.SignInSSO(t, servertest.Client(t), "corp")

	// Disabled: no button, no route, and its sessions end, on both.
	admin.call(t, "POST", "providers/corp/disable", "", http.StatusOK)
	if hasButton(t, g1, "corp") {
		t.Fatal("button still on the first gateway after disabling")
	}
	waitFor(t, time.Second, "the button gone on the second gateway", func() bool { return !hasButton(t, g2, "corp") })
	if _, resp := g2.Get(t, servertest.Client(t), "/.gatehouse/sso/corp/start", "text/html"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("start route of a disabled provider: %d", resp.StatusCode)
	}
	waitFor(t, time.Second, "the disabled provider's session ended on the second gateway", func() bool {
		return status(t, ada, g2.URL+"/reports") == http.StatusUnauthorized
	})
	admin.call(t, "POST", "providers/corp/enable", "", http.StatusOK)
	waitFor(t, time.Second, "the button back on the second gateway", func() bool { return hasButton(t, g2, "corp") })
	admin.call(t, "DELETE", "providers/corp", "", http.StatusNoContent)
	waitFor(t, time.Second, "the button gone after removal", func() bool { return !hasButton(t, g2, "corp") })

	// The secret is nowhere to be read.
	events, err := g1.Store.ListAudit(context.Background(), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := json.Marshal(events)
	var sawCreate bool
	for _, e := range events {
		sawCreate = sawCreate || (e.Action == "provider.create" && e.Outcome == "ok")
	}
	if !sawCreate {
		t.Error("no provider.create event in the audit log")
	}
	for what, text := range map[string]string{"API answers": admin.answers.String(), "audit log": string(audit),
		"first gateway's log": logs1.String(), "second gateway's log": logs2.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("the client secret appears in the %s", what)
		}
		if len(text) == 0 {
			t.Errorf("nothing in the %s to look through", what)
		}
	}
	recs, _ := g1.Store.ListProviders(context.Background())
	for _, r := range recs {
		if strings.Contains(r.Secret, secret) {
			t.Error("the client secret is stored in the clear")
		}
	}
}

// TestProvidersWithoutSecretsKey: with no secrets.key the configuration's
// providers are listed read-only and nothing can be added; the answer
// says how to turn it on.
func TestProvidersWithoutSecretsKey(t *testing.T) {
	idp := providertest.New(providertest.Options{ClientSecret: "yaml-secret-4d1e"})
	t.Cleanup(idp.Close)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Providers = []config.Provider{{ID: "yaml", Type: "oidc", DisplayName: "From YAML", Issuer: idp.Issuer,
			ClientID: idp.ClientID(), ClientSecret: config.Secret(idp.ClientSecret()), Scopes: []string{"openid", "email"}}}
	}})
	admin := newProviderAdmin(t, g)
	list := admin.call(t, "GET", "providers", "", http.StatusOK)
	off, _ := list["runtime_providers_off"].(string)
	if !strings.Contains(off, "secrets.key") {
		t.Errorf("runtime_providers_off = %q", off)
	}
	ps, _ := list["providers"].([]any)
	if len(ps) != 1 {
		t.Fatalf("providers = %v", list)
	}
	p := ps[0].(map[string]any)
	if p["source"] != "config" || p["read_only"] != true || p["client_secret"] != "set" || p["status"] != "ready" {
		t.Errorf("the configuration's provider = %v", p)
	}
	out := admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), "s", ""), http.StatusServiceUnavailable)
	if e, _ := out["error"].(map[string]any); !strings.Contains(fmt.Sprint(e["message"]), "secrets.key") {
		t.Errorf("refusal without a key: %v", out)
	}
	admin.call(t, "POST", "providers/yaml/disable", "", http.StatusForbidden)
	admin.call(t, "DELETE", "providers/yaml", "", http.StatusForbidden)
	if strings.Contains(admin.answers.String(), idp.ClientSecret()) {
		t.Error("the configuration's client secret appears in an API answer")
	}
}

// TestSecretsKeyRotation: a provider stored under one key keeps working
// once the key is replaced (the old one as a previous key), once `secrets
// rotate` has sealed it again, and once the old key is gone.
func TestSecretsKeyRotation(t *testing.T) {
	idp := providertest.New(providertest.Options{ClientSecret: "rotating-secret-91c2"})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g1 := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Secrets.Key = secretsKey(1)
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	admin := newProviderAdmin(t, g1)
	g1.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), idp.ClientSecret(), ""), http.StatusCreated)
	g1.SignInSSO(t, servertest.Client(t), "corp")
	g1.Stop()

	restart := func(key config.Secret, previous ...config.Secret) *servertest.Gateway {
		return gatewayLike(t, g1, &lockedBuffer{}, func(c *config.Config) {
			c.Secrets = config.Secrets{Key: key, PreviousKeys: previous}
		})
	}
	g2 := restart(secretsKey(2), secretsKey(1))
	g2.SignInSSO(t, servertest.Client(t), "corp")
	keys, err := server.SecretsKeyring(g2.Config.Secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := server.RotateSecrets(context.Background(), g2.Store, keys)
	if err != nil || n != 1 {
		t.Fatalf("RotateSecrets = %d, %v", n, err)
	}
	g2.Stop()

	g3 := restart(secretsKey(2))
	g3.SignInSSO(t, servertest.Client(t), "corp")
	g3.Stop()

	// Without the rotation, dropping the old key would have stopped it:
	// the provider shows why instead of signing in.
	g4 := restart(secretsKey(3))
	admin4 := &providerAdmin{g: g4, c: servertest.Client(t)}
	g4.Login(t, admin4.c, "it@example.com", pw)
	out := admin4.call(t, "GET", "providers/corp", "", http.StatusOK)
	if out["status"] != "off" || !strings.Contains(fmt.Sprint(out["problem"]), "does not open") {
		t.Errorf("a provider sealed under an unknown key = %v", out)
	}
}

func metricsText(t *testing.T, g *servertest.Gateway) string {
	t.Helper()
	resp, err := http.Get(g.OpsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestProviderHealthOnThePage: after a failed and a successful sign-in,
// the providers API (what the page shows) reports both, and that the
// discovery document and key set answer.
func TestProviderHealthOnThePage(t *testing.T) {
	idp := providertest.New(providertest.Options{ClientSecret: "health-secret-0b7e"})
	t.Cleanup(idp.Close)
	up := newUpstream(t)
	g := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Secrets.Key = secretsKey(5)
		c.Routes = []config.Route{{PathPrefix: "/", Upstream: up.URL, Audience: "app", Company: "acme",
			Timeout: config.Duration(5 * time.Second), MaxIdleConns: 16}}
	}})
	admin := newProviderAdmin(t, g)
	g.CreateUser(t, account.NewAccount{Email: "ada@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer"})
	admin.call(t, "POST", "providers", providerJSON("corp", idp.Issuer, idp.ClientID(), idp.ClientSecret(), ""), http.StatusCreated)

	idp.SetUser(providertest.User{Subject: "stranger", Email: "stranger@example.com", EmailVerified: true})
	if resp, _ := follow(t, servertest.Client(t), g.URL+"/.gatehouse/sso/corp/start"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unknown identity: %d", resp.StatusCode)
	}
	idp.SetUser(providertest.User{Subject: "ada-1", Email: "ada@example.com", EmailVerified: true})
	g.SignInSSO(t, servertest.Client(t), "corp")

	var health map[string]any
	waitFor(t, 5*time.Second, "the provider's health", func() bool {
		out := admin.call(t, "GET", "providers/corp", "", http.StatusOK)
		health, _ = out["health"].(map[string]any)
		return health["discovery_ok"] == true && health["jwks_ok"] == true
	})
	if health["last_success"] == nil || health["last_failure"] == nil || !strings.Contains(fmt.Sprint(health["failure_reason"]), "no account") {
		t.Errorf("health = %v", health)
	}
	body, _ := g.Get(t, admin.c, "/.gatehouse/admin/providers", "text/html")
	for _, want := range []string{g.URL + "/.gatehouse/sso/corp/callback", g.URL + "/.gatehouse/sso/corp/backchannel-logout",
		`data-copy="redirect-corp"`, "/.gatehouse/admin/providers/guides/oidc"} {
		if !strings.Contains(body, want) {
			t.Errorf("the providers page lacks %q", want)
		}
	}
	guide, resp := g.Get(t, admin.c, "/.gatehouse/admin/providers/guides/oidc", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(guide, "secrets.key") {
		t.Errorf("the oidc guide: %d", resp.StatusCode)
	}
}
