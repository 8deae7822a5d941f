package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../../config/gatehouse.example.yaml"

// problemsOf returns the Problems inside err, failing the test when err is
// something else.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T (%v), want Problems", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if ps := cfg.Validate(); len(ps) != 0 {
		t.Fatalf("example config has problems: %v", ps)
	}
	if got := len(cfg.Providers); got != 3 {
		t.Errorf("providers = %d, want 3", got)
	}
	if got := len(cfg.Routes); got != 2 {
		t.Errorf("routes = %d, want 2", got)
	}
	if cfg.Providers[0].ClientSecret != "env:GOOGLE_CLIENT_SECRET" {
		t.Errorf("client secret reference changed: %q", string(cfg.Providers[0].ClientSecret))
	}
	if cfg.Routes[1].Host != "reports.example.com" || cfg.Routes[1].PathPrefix != "/admin/" {
		t.Errorf("route 1 = %+v", cfg.Routes[1])
	}
}

// The example documents every key: decoding it must leave no key of Config
// unmentioned, so a new config field without an example fails here.
func TestExampleConfigMentionsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var collect func(n *yaml.Node, path string)
	collect = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			collect(n.Content[0], path)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				present[p] = true
				if !strings.HasSuffix(p, "role_map") {
					collect(n.Content[i+1], p)
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				collect(c, path+"[]")
			}
		}
	}
	collect(&doc, "")
	var want []string
	var keys func(t reflect.Type, path string)
	keys = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			f := t.Field(i)
			p := join(path, yamlName(f))
			want = append(want, p)
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				keys(ft.Elem(), p+"[]")
			} else if ft.Kind() == reflect.Struct && ft != durationType {
				keys(ft, p)
			}
		}
	}
	keys(reflect.TypeFor[Config](), "")
	for _, k := range want {
		if !present[k] {
			t.Errorf("example config does not show %s", k)
		}
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(\"\") = %+v\nwant Default() = %+v", cfg, Default())
	}
	if ps := Default().Validate(); len(ps) != 0 {
		t.Errorf("defaults have problems: %v", ps)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"public_url", cfg.PublicURL, "http://localhost:8080"},
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"ops_listen", cfg.OpsListen, "127.0.0.1:9091"},
		{"store.driver", cfg.Store.Driver, "sqlite"},
		{"store.dsn", string(cfg.Store.DSN), "./gatehouse-data/gatehouse.db"},
		{"roles", cfg.Roles, "standard"},
		{"session.idle_timeout", cfg.Session.IdleTimeout.D(), 30 * time.Minute},
		{"session.absolute_timeout", cfg.Session.AbsoluteTimeout.D(), 12 * time.Hour},
		{"session.cache_ttl", cfg.Session.CacheTTL.D(), 5 * time.Second},
		{"password.reset_token_ttl", cfg.Password.ResetTokenTTL.D(), 30 * time.Minute},
		{"password.argon2", cfg.Password.Argon2, Argon2{MemoryKiB: 65536, Iterations: 1, Parallelism: 2}},
		{"password.max_concurrent_hashes", cfg.Password.MaxConcurrentHashes, runtime.NumCPU()},
		{"password.lockout.max_failures", cfg.Password.Lockout.MaxFailures, 5},
		{"password.lockout.window", cfg.Password.Lockout.Window.D(), 15 * time.Minute},
		{"limits", cfg.Limits, Limits{MaxHeaderBytes: 65536, MaxFormBytes: 65536, GCHeapFloorBytes: 14 << 20,
			UnauthPerMinute: 300, UnauthBurst: 100, GatewayReadTimeout: Duration(30 * time.Second),
			UploadMinRate: 4096, UploadRateWindow: Duration(10 * time.Second),
			InvitationsPerAdmin: 200, InvitationsPerCompany: 500,
			ImportMaxBytes: 5 << 20, ImportMaxColumns: 200, ImportMaxRows: 10000, ImportMaxErrors: 100}},
		{"log", cfg.Log, Log{Level: "info", Format: "json", Access: true}},
		{"routes", len(cfg.Routes), 0},
		{"providers", len(cfg.Providers), 0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEmptyAndCommentOnlyFilesAreDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "~\n", "---\n"} {
		cfg, err := LoadBytes([]byte(in), nil)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("%q: not the defaults", in)
		}
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	in := `
store:
  dirver: postgres
session:
  idle_timeout: soon
routes:
  - upstream: "not a url"
    audience: app
    company: acme
`
	_, err := LoadBytes([]byte(in), nil)
	got := problemsOf(t, err)
	want := []string{
		"store.dirver: unknown key",
		"session.idle_timeout: not a duration",
		"routes[0].upstream: not an absolute URL",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeProblems(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"unknown top-level key", "publik_url: x\n", []string{"publik_url: unknown key"}},
		{"unknown nested key", "mail:\n  smtp:\n    hots: x\n", []string{"mail.smtp.hots: unknown key"}},
		{"unknown key in a list entry", "providers:\n  - id: g\n    type: google\n    issuer: https://accounts.google.com\n    client_id: x\n    secret: y\n",
			[]string{"providers[0].secret: unknown key"}},
		{"unknown key in an inline mapping", "routes:\n  - {upstream: 'http://a', audience: a, company: c, allow: {groups: [x]}}\n",
			[]string{"routes[0].allow.groups: unknown key"}},
		{"integer", "mail:\n  smtp:\n    port: abc\n", []string{"mail.smtp.port: not an integer"}},
		{"float for an integer", "password:\n  argon2:\n    iterations: 1.5\n", []string{"password.argon2.iterations: not a whole number from 0 to 4294967295"}},
		{"uint8 overflow", "password:\n  argon2:\n    parallelism: 300\n", []string{"password.argon2.parallelism: not a whole number from 0 to 255"}},
		{"negative uint", "password:\n  argon2:\n    memory_kib: -1\n", []string{"password.argon2.memory_kib: not a whole number from 0 to 4294967295"}},
		{"bool", "log:\n  access: yes\n", []string{"log.access: not true or false"}},
		{"duration without unit", "session:\n  absolute_timeout: 12\n", []string{"session.absolute_timeout: not a duration"}},
		{"duration as a list", "session:\n  absolute_timeout: [1h]\n", []string{"session.absolute_timeout: expected a single value, got a list"}},
		{"mapping for a string", "listen: {a: b}\n", []string{"listen: expected a single value, got a mapping"}},
		{"list for a section", "store: [sqlite]\n", []string{"store: expected a mapping, got a list"}},
		{"mapping for a list", "providers: {id: x}\n", []string{"providers: expected a list, got a mapping"}},
		{"empty list entry", "routes:\n  -\n", []string{"routes[0]: empty entry"}},
		{"duplicate key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", []string{"listen: duplicate key"}},
		{"root is a list", "- a\n", []string{"(root): expected a mapping, got a list"}},
		{"two documents", "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", []string{"only one YAML document is allowed"}},
		{"syntax error", "listen: [\n", nil},
		{"bad role_map value", "providers:\n  - id: a\n    type: oidc\n    issuer: https://a\n    client_id: c\n    role_map: {x: [y]}\n",
			[]string{"providers[0].role_map.x: expected a single value, got a list"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(c.in), nil)
			got := problemsOf(t, err)
			if len(got) == 0 {
				t.Fatal("no problem reported")
			}
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	in := `
routes:
  - &base {upstream: "http://127.0.0.1:3000", audience: app, company: acme}
  - <<: *base
    path_prefix: /two/
`
	cfg, err := LoadBytes([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Routes[1].Upstream != "http://127.0.0.1:3000" || cfg.Routes[1].PathPrefix != "/two/" {
		t.Fatalf("merged route = %+v", cfg.Routes[1])
	}

	_, err = LoadBytes([]byte("base: &a {bogus: 1}\nstore:\n  <<: *a\n"), nil)
	if got := problemsOf(t, err); !slices.Contains(got, "base: unknown key") || !slices.Contains(got, "store.bogus: unknown key") {
		t.Fatalf("problems %v", got)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("trusted_proxies: *a8\n")
	start := time.Now()
	_, err := LoadBytes([]byte(b.String()), nil)
	if len(problemsOf(t, err)) == 0 {
		t.Fatal("no problem reported")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestListEntryDefaults(t *testing.T) {
	in := `
providers:
  - {id: corp, type: oidc, issuer: "https://idp.example.com", client_id: c}
  - {id: ms, type: microsoft, issuer: "https://login.microsoftonline.com/t/v2.0", client_id: c, scopes: [openid]}
routes:
  - {upstream: "http://127.0.0.1:3000", audience: app, company: acme}
  - {host: App.Example.com, path_prefix: /x/, upstream: "http://127.0.0.1:3000", audience: app, company: acme, timeout: 0, max_idle_conns: 0}
`
	cfg, err := LoadBytes([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Routes[0]; r.PathPrefix != "/" || r.Timeout.D() != 30*time.Second || r.MaxIdleConns != 256 {
		t.Errorf("route defaults = %+v", r)
	}
	if r := cfg.Routes[1]; r.Timeout != 0 || r.MaxIdleConns != 0 || r.Host != "app.example.com" {
		t.Errorf("explicit zeros or host = %+v", r)
	}
	if p := cfg.Providers[0]; !slices.Equal(p.Scopes, []string{"openid", "email", "profile"}) || p.DisplayName != "corp" {
		t.Errorf("provider defaults = %+v", p)
	}
	if p := cfg.Providers[1]; !slices.Equal(p.Scopes, []string{"openid"}) || p.DisplayName != "Microsoft" {
		t.Errorf("provider = %+v", p)
	}
}

func TestPublicURLTrailingSlashIsTrimmed(t *testing.T) {
	cfg, err := LoadBytes([]byte("public_url: https://gate.example.com/\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL != "https://gate.example.com" {
		t.Fatalf("public_url = %q", cfg.PublicURL)
	}
}

func TestEnvOverrides(t *testing.T) {
	file := "session:\n  idle_timeout: 20m\nmail:\n  from: a@example.com\n"
	env := []string{
		"PATH=/usr/bin",
		"GATEHOUSE_PUBLIC_URL=https://gate.example.com",
		"GATEHOUSE_LISTEN=0.0.0.0:8443",
		"GATEHOUSE_OPS_LISTEN=127.0.0.1:9999",
		"GATEHOUSE_STORE_DRIVER=postgres",
		"GATEHOUSE_STORE_DSN=env:PG_DSN",
		"GATEHOUSE_ROLES=config/roles/site-scoped.yaml",
		"GATEHOUSE_SESSION_IDLE_TIMEOUT=45m",
		"GATEHOUSE_MAIL_SMTP_HOST=smtp.example.com",
		"GATEHOUSE_MAIL_SMTP_PORT=587",
		"GATEHOUSE_MAIL_SMTP_STARTTLS=true",
		"GATEHOUSE_PASSWORD_ARGON2_PARALLELISM=4",
		"GATEHOUSE_LIMITS_MAX_FORM_BYTES=1024",
		"GATEHOUSE_LOG_ACCESS=false",
		"GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.1",
		"GATEHOUSE_SOMETHING_ELSE=ignored",
	}
	cfg, err := LoadBytes([]byte(file), env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"public_url", cfg.PublicURL, "https://gate.example.com"},
		{"listen", cfg.Listen, "0.0.0.0:8443"},
		{"ops_listen", cfg.OpsListen, "127.0.0.1:9999"},
		{"store.driver", cfg.Store.Driver, "postgres"},
		{"store.dsn", string(cfg.Store.DSN), "env:PG_DSN"},
		{"roles", cfg.Roles, "config/roles/site-scoped.yaml"},
		{"session.idle_timeout", cfg.Session.IdleTimeout.D(), 45 * time.Minute},
		{"mail.from (file, not overridden)", cfg.Mail.From, "a@example.com"},
		{"mail.smtp.host", cfg.Mail.SMTP.Host, "smtp.example.com"},
		{"mail.smtp.port", cfg.Mail.SMTP.Port, 587},
		{"mail.smtp.starttls", cfg.Mail.SMTP.StartTLS, true},
		{"password.argon2.parallelism", cfg.Password.Argon2.Parallelism, uint8(4)},
		{"limits.max_form_bytes", cfg.Limits.MaxFormBytes, int64(1024)},
		{"log.access", cfg.Log.Access, false},
		{"trusted_proxies", cfg.TrustedProxies, []string{"10.0.0.0/8", "192.168.1.1"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestBadEnvOverrideNamesTheVariable(t *testing.T) {
	env := []string{
		"GATEHOUSE_SESSION_IDLE_TIMEOUT=soon",
		"GATEHOUSE_MAIL_SMTP_PORT=smtp",
		"GATEHOUSE_LOG_ACCESS=maybe",
		"GATEHOUSE_PASSWORD_ARGON2_PARALLELISM=256",
		"GATEHOUSE_PUBLIC_URL=ftp://10.0.0.1",
	}
	cfg, err := LoadBytes(nil, env)
	got := problemsOf(t, err)
	want := []string{
		"GATEHOUSE_SESSION_IDLE_TIMEOUT: not a duration (overrides session.idle_timeout)",
		"GATEHOUSE_PASSWORD_ARGON2_PARALLELISM: not a whole number from 0 to 255 (overrides password.argon2.parallelism)",
		"GATEHOUSE_MAIL_SMTP_PORT: not an integer (overrides mail.smtp.port)",
		"GATEHOUSE_LOG_ACCESS: not true or false (overrides log.access)",
		"public_url: must be an http or https URL (set by GATEHOUSE_PUBLIC_URL)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.Session.IdleTimeout.D() != 30*time.Minute {
		t.Errorf("a bad override changed the value to %v", cfg.Session.IdleTimeout)
	}
}

func TestEnvVarNames(t *testing.T) {
	vars := EnvVars()
	seen := map[string]string{}
	for _, v := range vars {
		if other, dup := seen[v.Name]; dup {
			t.Errorf("%s names both %s and %s", v.Name, other, v.Path)
		}
		seen[v.Name] = v.Path
		want := "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(v.Path, ".", "_"))
		if v.Name != want {
			t.Errorf("%s: name %s, want %s", v.Path, v.Name, want)
		}
	}
	for _, name := range []string{"GATEHOUSE_PUBLIC_URL", "GATEHOUSE_LISTEN", "GATEHOUSE_OPS_LISTEN", "GATEHOUSE_STORE_DRIVER",
		"GATEHOUSE_STORE_DSN", "GATEHOUSE_ROLES", "GATEHOUSE_SESSION_IDLE_TIMEOUT", "GATEHOUSE_MAIL_SMTP_HOST"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	// The documentation lists every variable, in the doc comment and in
	// docs/configuration.md.
	src, err := os.ReadFile("env.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if !bytes.Contains(src, []byte("//\t"+v.Name+" ")) {
			t.Errorf("env.go doc comment does not list %s", v.Name)
		}
		if !bytes.Contains(doc, []byte("`"+v.Name+"`")) {
			t.Errorf("docs/configuration.md does not list %s", v.Name)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	for in, want := range map[string]time.Duration{"30m": 30 * time.Minute, "12h": 12 * time.Hour, "1h30m": 90 * time.Minute, "0": 0, "250ms": 250 * time.Millisecond,
		"400d": 400 * 24 * time.Hour, "1d": 24 * time.Hour} {
		if err := yaml.Unmarshal([]byte("d: "+in), &v); err != nil || v.D.D() != want {
			t.Errorf("%s: got %v, %v; want %v", in, v.D, err, want)
		}
	}
	for _, in := range []string{"30", "soon", "[1h]", "{a: b}", "d", "-1d", "+1d", "1.5d", "01d", "1d12h", "100001d"} {
		if err := yaml.Unmarshal([]byte("d: "+in), &v); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(90 * time.Second)})
	if err != nil || string(out) != "d: 1m30s\n" {
		t.Errorf("marshal = %q, %v", out, err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := Default()
	cfg.Store.DSN = "postgres://gate:hunter2@db/gate"
	cfg.Mail.SMTP.Password = "hunter2"
	cfg.Providers = []Provider{{ID: "g", ClientSecret: "hunter2"}}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "dsn", cfg.Store.DSN, "smtp", cfg.Mail.SMTP)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"%s":   fmt.Sprintf("%s", cfg.Store.DSN),
		"slog": logged.String(),
		"yaml": string(y),
		"json": string(j),
	}
	for name, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s reveals the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not mark the secret: %s", name, out)
		}
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print as empty")
	}
}
