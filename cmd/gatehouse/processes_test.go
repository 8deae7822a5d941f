package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
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
// out everywhere else" or a block on one stops the session on the other
// within a second, although the other had the session in its cache
// (trusted for up to 5s without a store read). Only PostgreSQL LISTEN/NOTIFY links the two processes.
func TestSessionEndReachesAnotherProcess(t *testing.T) {
	up := newUpstream(t)
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
routes:
  - {path_prefix: /, upstream: %q, audience: app, company: acme}
log: {level: warn, access: false}
`, ports[0], storetest.PostgresDSN(t), filepath.Join(dir, "outbox"), up.URL)
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
			req, err := http.NewRequest(http.MethodPost, g1.URL+"/.gatehouse/api/v1/accounts/"+accountID+"/block", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+apiToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("block through the API: %d", resp.StatusCode)
			}
		})
		t.Logf("block in one process reached the other in %s", d)
	})
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
