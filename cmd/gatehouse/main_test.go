package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

type result struct {
	code           int
	stdout, stderr string
}

func gatehouse(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, os.Environ())
	return result{code, out.String(), errOut.String()}
}

// writeConfig writes a config for the given store and returns its path.
func writeConfig(t *testing.T, driver, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.yaml")
	body := fmt.Sprintf("store:\n  driver: %s\n  dsn: %q\npassword:\n  argon2: {memory_kib: 19456, iterations: 1, parallelism: 1}\nmail:\n  from: gatehouse@example.com\n  outbox_dir: %q\n",
		driver, dsn, filepath.Join(dir, "outbox"))
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(context.Background(), cfg.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type snapshot struct{ accounts, companies, audit int }

func snap(t *testing.T, path string) snapshot {
	st := openStore(t, path)
	ctx := context.Background()
	n, err := st.CountAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := st.ListCompanies(ctx)
	ev, _ := st.ListAudit(ctx, store.AuditQuery{Limit: 1000})
	st.Close()
	return snapshot{n, len(cs), len(ev)}
}

func TestUserCreateOnBothBackends(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return writeConfig(t, "sqlite", filepath.Join(t.TempDir(), "g.db")) },
		"postgres": func(t *testing.T) string { return writeConfig(t, "postgres", storetest.PostgresDSN(t)) },
	}
	for name, newConfig := range backends {
		t.Run(name, func(t *testing.T) {
			cfg := newConfig(t)
			// First account on an empty store creates its company.
			r := gatehouse(t, "a strong passphrase 1\n", "user create", "--config", cfg)
			if r.code != 2 {
				t.Fatalf("'user create' as one word must be a usage error, got %d", r.code)
			}
			r = gatehouse(t, "a strong passphrase 1\n", "user", "create", "--config", cfg,
				"--email", "Ada@Example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--role", "admin", "--company", "acme")
			if r.code != 0 || !strings.Contains(r.stdout, "(active)") {
				t.Fatalf("create admin: %+v", r)
			}
			if strings.Contains(r.stdout, "password") {
				t.Fatalf("a password given on stdin must not be printed: %q", r.stdout)
			}
			// Without stdin a password is generated and printed once.
			r = gatehouse(t, "", "user", "create", "--config", cfg,
				"--email", "bob@example.com", "--first-name", "Bob", "--last-name", "B", "--role", "viewer", "--company", "acme")
			if r.code != 0 || !strings.Contains(r.stdout, "one-time password: ") {
				t.Fatalf("create with a generated password: %+v", r)
			}
			// Invitation mail through the outbox.
			r = gatehouse(t, "", "user", "create", "--config", cfg, "--invite",
				"--email", "inv@example.com", "--first-name", "In", "--last-name", "Vited", "--role", "viewer", "--company", "acme")
			if r.code != 0 || !strings.Contains(r.stdout, "(invited)") {
				t.Fatalf("invite: %+v", r)
			}
			entries, _ := os.ReadDir(filepath.Join(filepath.Dir(cfg), "outbox"))
			if len(entries) != 1 {
				t.Fatalf("invitation mails in the outbox: %d, want 1", len(entries))
			}
			// A shared-computer account with its allowed role.
			r = gatehouse(t, "", "user", "create", "--config", cfg, "--shared",
				"--email", "ws1@example.com", "--first-name", "Line", "--last-name", "One", "--role", "shared_computer", "--company", "acme")
			if r.code != 0 {
				t.Fatalf("shared: %+v", r)
			}

			before := snap(t, cfg)
			for _, bad := range []struct {
				name string
				args []string
				want string
			}{
				{"duplicate email", []string{"--email", "ADA@example.com", "--first-name", "A", "--last-name", "L", "--role", "viewer", "--company", "acme"}, "already exists"},
				{"unknown role", []string{"--email", "x@example.com", "--first-name", "A", "--last-name", "L", "--role", "overlord", "--company", "acme"}, "role"},
				{"shared admin", []string{"--shared", "--email", "ws2@example.com", "--first-name", "A", "--last-name", "L", "--role", "admin", "--company", "acme"}, "role"},
				{"unknown company", []string{"--email", "y@example.com", "--first-name", "A", "--last-name", "L", "--role", "viewer", "--company", "globex"}, "company"},
				{"missing names", []string{"--email", "z@example.com", "--role", "viewer"}, "--first-name"},
				{"bad email", []string{"--email", "not-an-email", "--first-name", "A", "--last-name", "L", "--role", "viewer", "--company", "acme"}, "email"},
			} {
				args := append([]string{"user", "create", "--config", cfg}, bad.args...)
				r := gatehouse(t, "a strong passphrase 2\n", args...)
				if r.code != 2 || !strings.Contains(strings.ToLower(r.stderr), bad.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("%s: code %d stderr %q, want exit 2 and one line mentioning %q", bad.name, r.code, r.stderr, bad.want)
				}
			}
			if after := snap(t, cfg); after != before {
				t.Errorf("failed commands changed the store: %+v -> %+v", before, after)
			}
			// --create-company makes the second company.
			r = gatehouse(t, "a strong passphrase 3\n", "user", "create", "--config", cfg, "--create-company",
				"--email", "g@example.com", "--first-name", "G", "--last-name", "X", "--role", "viewer", "--company", "globex")
			if r.code != 0 {
				t.Fatalf("--create-company: %+v", r)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	r := gatehouse(t, "", "config", "check", "--config", "../../config/gatehouse.example.yaml")
	if r.code != 0 {
		t.Fatalf("example config: %+v", r)
	}
	r = gatehouse(t, "", "config", "check", "../../config/gatehouse.example.yaml")
	if r.code != 0 {
		t.Fatalf("example config as an argument: %+v", r)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("public_url: not a url\nsesion: {}\nsession:\n  idle_timeout: soon\nroutes:\n  - upstream: ftp//x\n    audience: a\n    company: c\n"), 0o600)
	r = gatehouse(t, "", "config", "check", "--config", bad)
	if r.code != 1 {
		t.Fatalf("bad config: exit %d, want 1", r.code)
	}
	for _, want := range []string{"public_url:", "sesion: unknown key", "session.idle_timeout: not a duration", "routes[0].upstream:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config check output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A public_url on an IP address is a warning, printed in the dotted-path
// form, that leaves the exit status 0; with a real problem beside it the
// status is 1 and both lines are printed. A host name prints no warning.
func TestConfigCheckWarnsOfIPPublicURL(t *testing.T) {
	const warning = "public_url: warning: the host is an IP address, so passkeys are off (WebAuthn needs a host name)"
	write := func(body string) string {
		path := filepath.Join(t.TempDir(), "gatehouse.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, u := range []string{"http://10.0.0.5:8080", "http://[fd00::1]:8080", "http://127.0.0.1:8080"} {
		r := gatehouse(t, "", "config", "check", "--config", write("public_url: "+u+"\n"))
		if r.code != 0 || r.stdout != warning+"\nconfig ok\n" {
			t.Errorf("%s: exit %d, stdout %q; want 0 and the warning then config ok", u, r.code, r.stdout)
		}
	}
	r := gatehouse(t, "", "config", "check", "--config", write("public_url: http://10.0.0.5:8080\nsession:\n  idle_timeout: soon\n"))
	if r.code != 1 || r.stdout != warning+"\nsession.idle_timeout: not a duration\n" {
		t.Errorf("warning and problem: exit %d, stdout %q; want 1 and both lines", r.code, r.stdout)
	}
	r = gatehouse(t, "", "config", "check", "--config", write("public_url: https://gate.example.com\n"))
	if r.code != 0 || r.stdout != "config ok\n" {
		t.Errorf("host name: exit %d, stdout %q; want 0 and only config ok", r.code, r.stdout)
	}
}

// health is what a container's health check runs: 0 on 200, 1 on any
// other answer or none, 2 on a bad URL.
func TestHealth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if r := gatehouse(t, "", "health", "--url", srv.URL+"/readyz"); r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("healthy: %+v", r)
	}
	if r := gatehouse(t, "", "health", "--url", srv.URL+"/healthz"); r.code != 1 || !strings.Contains(r.stderr, "503") {
		t.Errorf("503: %+v, want exit 1 naming the status", r)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if r := gatehouse(t, "", "health", "--url", closed.URL+"/readyz"); r.code != 1 {
		t.Errorf("nothing listening: %+v, want exit 1", r)
	}
	for _, bad := range []string{"not a url", "ftp://x/readyz", "/readyz"} {
		if r := gatehouse(t, "", "health", "--url", bad); r.code != 2 {
			t.Errorf("--url %q: %+v, want exit 2", bad, r)
		}
	}
}

func TestCommandsRefuseBadInput(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"serve", "--nope"}, {"serve", "--config", "/does/not/exist.yaml"}, {"keys", "spin"}} {
		r := gatehouse(t, "", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
	}
	if r := gatehouse(t, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse ") {
		t.Errorf("version: %+v", r)
	}
}

func TestMigrateAndKeysRotate(t *testing.T) {
	cfg := writeConfig(t, "sqlite", filepath.Join(t.TempDir(), "g.db"))
	if r := gatehouse(t, "", "migrate", "--config", cfg); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	if r := gatehouse(t, "", "migrate", "--config", cfg); r.code != 0 {
		t.Fatalf("migrate twice: %+v", r)
	}
	if r := gatehouse(t, "", "keys", "rotate", "--config", cfg); r.code != 0 {
		t.Fatalf("keys rotate: %+v", r)
	}
	keys, err := openStore(t, cfg).ListSigningKeys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("after rotate: %d keys, %v; want the first and the new one", len(keys), err)
	}
}

func TestTokenCreate(t *testing.T) {
	cfg := writeConfig(t, "sqlite", filepath.Join(t.TempDir(), "g.db"))
	gatehouse(t, "a strong passphrase 1\n", "user", "create", "--config", cfg,
		"--email", "root@example.com", "--first-name", "R", "--last-name", "T", "--role", "admin", "--company", "acme")
	gatehouse(t, "a strong passphrase 1\n", "user", "create", "--config", cfg,
		"--email", "v@example.com", "--first-name", "V", "--last-name", "T", "--role", "viewer", "--company", "acme")
	r := gatehouse(t, "", "token", "create", "--config", cfg, "--email", "root@example.com", "--name", "ci")
	if r.code != 0 || !strings.Contains(r.stdout, "API token (shown once): ") {
		t.Fatalf("token create: %+v", r)
	}
	for _, args := range [][]string{
		{"--email", "v@example.com", "--name", "x"},
		{"--email", "nobody@example.com", "--name", "x"},
		{"--email", "root@example.com"},
	} {
		r := gatehouse(t, "", append([]string{"token", "create", "--config", cfg}, args...)...)
		if r.code != 2 {
			t.Errorf("token create %v: exit %d (%q), want 2", args, r.code, r.stderr)
		}
	}
}
