package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

// runMainEnv makes the test binary behave as the gatehouse command, so a
// test can start real gateway processes without a separate go build.
const runMainEnv = "GATEHOUSE_TEST_RUN_MAIN"

// TestMain checks runMainEnv before m.Run, because m.Run would parse the
// child's arguments ("serve --config ...") as test flags.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits with the command's status
	}
	os.Exit(m.Run())
}

// TestSessionEndReachesAnotherProcess runs two `gatehouse serve` OS
// processes on one PostgreSQL database and proves that a logout, a "sign
// out everywhere else", a passkey revocation, a block or a provider's
// back-channel logout on one stops the session on the other within a
// second, although the other had the session in its cache (trusted for up
// to 5s without a store read). Only PostgreSQL LISTEN/NOTIFY links the two
// processes.
func TestSessionEndReachesAnotherProcess(t *testing.T) {
	up := newUpstream(t)
	idp := providertest.New(providertest.Options{})
	t.Cleanup(idp.Close)
	ports := loopbackPorts(t, 4)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	// Both processes read one file with one public_url, as two replicas
	// behind a load balancer would; only their listeners differ.
	body := fmt.Sprintf(`public_url: http://localhost:%d
store: {driver: postgres, dsn: %q}
password:
  argon2: {memory_kib: 19456, iterations: 1, parallelism: 1}
mail: {from: gatehouse@example.com, outbox_dir: %q}
providers:
  - {id: corp, type: oidc, issuer: %q, client_id: %q, client_secret: %q}
routes:
  - {path_prefix: /, upstream: %q, audience: app, company: acme}
log: {level: warn, access: false}
`, ports[0], storetest.PostgresDSN(t), filepath.Join(dir, "outbox"), idp.Issuer, idp.ClientID(), idp.ClientSecret(), up.URL)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	// The accounts and the token come first, so the schema is migrated
	// once before any gateway starts.
	const password = "a strong passphrase 1"
	if r := gatehouse(t, password+"\n", "user", "create", "--config", cfg, "--create-company", "--email", "admin@example.com",
		"--first-name", "Grace", "--last-name", "Hopper", "--role", "admin", "--company", "acme"); r.code != 0 {
		t.Fatalf("create admin: %+v", r)
	}
	r := gatehouse(t, password+"\n", "user", "create", "--config", cfg, "--email", "ada@example.com",
		"--first-name", "Ada", "--last-name", "Lovelace", "--role", "viewer", "--company", "acme")
	if r.code != 0 {
		t.Fatalf("create viewer: %+v", r)
	}
	accountID := strings.Fields(r.stdout)[1] // "created ID (active)"
	ada := accountID
	if r := gatehouse(t, "", "user", "create", "--config", cfg, "--email", "linus@example.com", "--first-name", "Linus",
		"--last-name", "Torvalds", "--role", "viewer", "--company", "acme", "--sign-in", "sso:corp"); r.code != 0 {
		t.Fatalf("create SSO viewer: %+v", r)
	}
	idp.SetUser(providertest.User{Subject: "linus-1", Email: "linus@example.com", EmailVerified: true, GivenName: "Linus", FamilyName: "Torvalds"})
	r = gatehouse(t, "", "token", "create", "--config", cfg, "--email", "admin@example.com", "--name", "test")
	_, apiToken, ok := strings.Cut(strings.TrimSpace(r.stdout), ": ")
	if r.code != 0 || !ok {
		t.Fatalf("token create: %+v", r)
	}

	// One after the other, so the two never race to create the first
	// signing key.
	g1 := startGateway(t, cfg, ports[0], ports[1])
	g2 := startGateway(t, cfg, ports[2], ports[3])

	t.Run("logout", func(t *testing.T) {
		d := g1.SessionEndReaches(t, g2, "ada@example.com", password, "/app", time.Second, func(c *http.Client) {
			g1.Logout(t, c)
		})
		t.Logf("logout in one process reached the other in %s", d)
	})

	t.Run("passkey revoked", func(t *testing.T) {
		// A session signed in with a passkey, started on the shared store
		// the way a passkey sign-in starts one; revoking the passkey
		// through the API of one process ends it on the other.
		var credID string
		d := g1.SignedInEndReaches(t, g2, func(c *http.Client) { credID = passkeySignIn(t, cfg, g1, ada, c) }, "/app", time.Second, func(*http.Client) {
			if st := apiCall(t, g1, apiToken, http.MethodDelete, "accounts/"+ada+"/credentials/"+credID); st != http.StatusOK && st != http.StatusNoContent {
				t.Fatalf("revoke the passkey through the API: %d", st)
			}
		})
		t.Logf("passkey revocation in one process reached the other in %s", d)
	})

	t.Run("everywhere else", func(t *testing.T) {
		var kept *http.Client
		d := g1.SessionEndReaches(t, g2, "ada@example.com", password, "/app", time.Second, func(*http.Client) {
			kept = g1.SignOutEverywhereElse(t, "ada@example.com", password)
		})
		t.Logf("\"sign out everywhere else\" in one process reached the other in %s", d)
		for _, g := range []*servertest.Gateway{g1, g2} {
			if _, resp := g.Get(t, kept, "/app", "application/json"); resp.StatusCode != http.StatusOK {
				t.Fatalf("the session that signed out everywhere else, on %s: %d", g.URL, resp.StatusCode)
			}
		}
		g1.Logout(t, kept)
	})

	t.Run("block", func(t *testing.T) {
		d := g1.SessionEndReaches(t, g2, "ada@example.com", password, "/app", time.Second, func(*http.Client) {
			if st := apiCall(t, g1, apiToken, http.MethodPost, "accounts/"+accountID+"/block"); st != http.StatusOK {
				t.Fatalf("block through the API: %d", st)
			}
		})
		t.Logf("block in one process reached the other in %s", d)
	})

	// The provider posts its logout token to one replica (as a load
	// balancer would pick one); the session must stop on the other too.
	backChannel := func(t *testing.T, l func() providertest.Logout) {
		t.Helper()
		var posted time.Time
		var answered time.Duration
		d := g1.SignedInEndReaches(t, g2, func(c *http.Client) { g1.SignInSSO(t, c, "corp") }, "/app", time.Second, func(*http.Client) {
			tok, err := idp.LogoutToken(l(), providertest.NoFault)
			if err != nil {
				t.Fatal(err)
			}
			posted = time.Now()
			st, body, err := idp.PostLogout(g1.URL+"/.gatehouse/sso/corp/backchannel-logout", tok)
			answered = time.Since(posted)
			if err != nil || st != http.StatusOK {
				t.Fatalf("back-channel logout on %s: %d %s %v", g1.URL, st, body, err)
			}
		})
		t.Logf("back-channel logout posted to one process: answered 200 in %s, the other refused the session %s after that (%s after the post)",
			answered, d, answered+d)
	}
	t.Run("backchannel logout by sid", func(t *testing.T) {
		backChannel(t, func() providertest.Logout { return providertest.Logout{SID: idp.LastSID()} })
	})
	t.Run("backchannel logout by sub", func(t *testing.T) {
		backChannel(t, func() providertest.Logout { return providertest.Logout{Subject: "linus-1"} })
	})
}

// apiCall makes an admin API call with no body on g and returns its status.
func apiCall(t *testing.T, g *servertest.Gateway, token, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+"/.gatehouse/api/v1/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// passkeySignIn registers a passkey for the account in the store the
// gateways share and starts a session signed in with it, as the passkey
// sign-in does; it gives c that session's cookie for g and returns the
// passkey's id as the API names it.
func passkeySignIn(t *testing.T, cfgPath string, g *servertest.Gateway, accountID string, c *http.Client) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(ctx, cfg.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := make([]byte, 16)
	rand.Read(id)
	if err := st.CreateCredential(ctx, store.Credential{ID: id, AccountID: accountID, Name: "test key",
		PublicKey: []byte{0xa0}, AttestationType: "none", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// A second gateway on the same store starts a session the running one
	// accepts, as a passkey sign-in on another replica would. It listens
	// for changes until the helper returns, before the store closes.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := server.New(sctx, cfg, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sessions := srv.Sessions
	rec := httptest.NewRecorder()
	if _, err := sessions.Start(ctx, rec, nil, session.StartParams{AccountID: accountID, AMR: []string{"hwk"}, IDP: "local", CredentialID: id}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(u, rec.Result().Cookies())
	return base64.RawURLEncoding.EncodeToString(id)
}

// startGateway runs `gatehouse serve` as a child process on the given
// loopback ports, waits until it is ready and stops it at cleanup. The
// Gateway it returns carries only URLs, all servertest's HTTP helpers use.
func startGateway(t *testing.T, cfg string, port, opsPort int) *servertest.Gateway {
	t.Helper()
	g := &servertest.Gateway{
		URL:    fmt.Sprintf("http://localhost:%d", port),
		Addr:   fmt.Sprintf("127.0.0.1:%d", port),
		OpsURL: fmt.Sprintf("http://127.0.0.1:%d", opsPort),
	}
	cmd := exec.Command(os.Args[0], "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), runMainEnv+"=1",
		"GATEHOUSE_LISTEN="+g.Addr, fmt.Sprintf("GATEHOUSE_OPS_LISTEN=127.0.0.1:%d", opsPort))
	// Read only after the process has exited, when exec has finished
	// copying into it.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			// A failed exit includes a data race found in the child.
			if exitErr != nil {
				t.Errorf("gatehouse serve on %s: %v", g.URL, exitErr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("gatehouse serve on %s did not stop within 10s of SIGTERM", g.URL)
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("stderr of gatehouse serve on %s:\n%s", g.URL, stderr.String())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get(g.OpsURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve on %s not ready after 15s", g.URL)
		}
		select {
		case <-done:
			t.Fatalf("gatehouse serve on %s exited before it was ready: %v", g.URL, exitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// loopbackPorts returns n distinct free ports. All are held until all are
// found, so none is handed out twice; a child process then binds them.
func loopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// newUpstream is an application behind the gateway that answers 200.
func newUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	t.Cleanup(up.Close)
	return up
}

// TestServeRunsOnTheEmbeddedDefaults: `gatehouse serve` with no config
// file starts (SQLite under ./gatehouse-data/, no mail configured), answers
// ready and serves the login page.
func TestServeRunsOnTheEmbeddedDefaults(t *testing.T) {
	ports := loopbackPorts(t, 2)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runMainEnv+"=1",
		fmt.Sprintf("GATEHOUSE_LISTEN=127.0.0.1:%d", ports[0]), fmt.Sprintf("GATEHOUSE_OPS_LISTEN=127.0.0.1:%d", ports[1]))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1]))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("gatehouse serve on the embedded defaults not ready after 15s")
		}
		select {
		case <-done:
			t.Fatalf("gatehouse serve on the embedded defaults exited: %v", exitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/.gatehouse/login", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page on the embedded defaults: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "gatehouse.db")); err != nil {
		t.Fatalf("the embedded default store: %v", err)
	}
}
