package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// validBase is a configuration with one of everything, valid as is, that
// each case below breaks in one way.
func validBase() Config {
	c := Default()
	c.Mail.From = "gatehouse@example.com"
	c.Mail.SMTP.Host = "smtp.example.com"
	c.Providers = []Provider{
		{ID: "google", Type: "google", Issuer: "https://accounts.google.com", ClientID: "c", Scopes: []string{"openid"}},
		{ID: "entra", Type: "microsoft", Issuer: "https://login.microsoftonline.com/organizations/v2.0", ClientID: "c", AllowedTenants: []string{"t1"}},
	}
	c.Routes = []Route{
		{PathPrefix: "/", Upstream: "http://127.0.0.1:3000", Audience: "app", Company: "acme"},
		{Host: "docs.example.com", PathPrefix: "/", Upstream: "https://docs.internal", Audience: "docs", Public: true},
	}
	c.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"}
	c.Terms = Terms{Version: "2024-01", URL: "https://example.com/terms"}
	return c
}

func TestValidBaseIsValid(t *testing.T) {
	if ps := validBase().Validate(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   []string // problem paths
	}{
		{"public_url relative", func(c *Config) { c.PublicURL = "localhost:8080/x" }, []string{"public_url"}},
		{"public_url ftp", func(c *Config) { c.PublicURL = "ftp://gate.example.com" }, []string{"public_url"}},
		{"public_url with path", func(c *Config) { c.PublicURL = "https://example.com/gate" }, []string{"public_url"}},
		{"public_url with query", func(c *Config) { c.PublicURL = "https://example.com/?a=b" }, []string{"public_url"}},
		{"public_url with fragment", func(c *Config) { c.PublicURL = "https://example.com#x" }, []string{"public_url"}},
		{"public_url bad host", func(c *Config) { c.PublicURL = "http://gate_way.example.com" }, []string{"public_url"}},
		{"public_url IPv6 without brackets", func(c *Config) { c.PublicURL = "http://fd00::1:8080" }, []string{"public_url"}},
		{"public_url bad port", func(c *Config) { c.PublicURL = "http://localhost:99999" }, []string{"public_url"}},
		{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, []string{"listen"}},
		{"listen bad port", func(c *Config) { c.Listen = "127.0.0.1:http" }, []string{"listen"}},
		{"ops_listen empty", func(c *Config) { c.OpsListen = "" }, []string{"ops_listen"}},
		{"ops_listen same as listen", func(c *Config) { c.OpsListen = c.Listen }, []string{"ops_listen"}},
		{"trusted proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, []string{"trusted_proxies[1]"}},
		{"store driver", func(c *Config) { c.Store.Driver = "mysql" }, []string{"store.driver"}},
		{"store dsn", func(c *Config) { c.Store.DSN = "" }, []string{"store.dsn"}},
		{"roles", func(c *Config) { c.Roles = "" }, []string{"roles"}},
		{"idle zero", func(c *Config) { c.Session.IdleTimeout = 0 }, []string{"session.idle_timeout"}},
		{"absolute negative", func(c *Config) { c.Session.AbsoluteTimeout = Duration(-time.Hour) }, []string{"session.absolute_timeout"}},
		{"idle over absolute", func(c *Config) { c.Session.IdleTimeout = Duration(13 * time.Hour) }, []string{"session.idle_timeout"}},
		{"shared idle over absolute", func(c *Config) { c.Session.SharedIdleTimeout = Duration(13 * time.Hour) }, []string{"session.shared_idle_timeout"}},
		{"cache ttl over 5s", func(c *Config) { c.Session.CacheTTL = Duration(6 * time.Second) }, []string{"session.cache_ttl"}},
		{"cache size negative", func(c *Config) { c.Session.CacheSize = -1 }, []string{"session.cache_size"}},
		{"reset ttl", func(c *Config) { c.Password.ResetTokenTTL = 0 }, []string{"password.reset_token_ttl"}},
		{"argon2 weak", func(c *Config) { c.Password.Argon2 = Argon2{MemoryKiB: 19455} }, []string{
			"password.argon2.memory_kib", "password.argon2.iterations", "password.argon2.parallelism"}},
		{"argon2 huge", func(c *Config) { c.Password.Argon2.MemoryKiB = 1 << 30 }, []string{"password.argon2.memory_kib"}},
		{"lockout zero", func(c *Config) { c.Password.Lockout.MaxFailures = 0 }, []string{"password.lockout.max_failures"}},
		{"lockout 101", func(c *Config) { c.Password.Lockout.MaxFailures = 101 }, []string{"password.lockout.max_failures"}},
		{"lockout window", func(c *Config) { c.Password.Lockout.Window = 0 }, []string{"password.lockout.window"}},
		{"max lock under window", func(c *Config) { c.Password.Lockout.MaxLock = Duration(time.Minute) }, []string{"password.lockout.max_lock"}},
		{"hard lock 101", func(c *Config) { c.Password.Lockout.HardLockAfter = 101 }, []string{"password.lockout.hard_lock_after"}},
		{"hard lock under max failures", func(c *Config) { c.Password.Lockout.HardLockAfter = 4 }, []string{"password.lockout.hard_lock_after"}},
		{"device ttl", func(c *Config) { c.Password.Lockout.DeviceTTL = 0 }, []string{"password.lockout.device_ttl"}},
		{"ip limit", func(c *Config) { c.Password.Lockout.IPLimit = 0 }, []string{"password.lockout.ip_limit"}},
		{"mail from missing with smtp", func(c *Config) { c.Mail.From = "" }, []string{"mail.from"}},
		{"mail from missing with outbox", func(c *Config) { c.Mail.From = ""; c.Mail.SMTP.Host = ""; c.Mail.OutboxDir = "/tmp/out" }, []string{"mail.from"}},
		{"mail from not an address", func(c *Config) { c.Mail.From = "gatehouse" }, []string{"mail.from"}},
		{"mail port", func(c *Config) { c.Mail.SMTP.Port = 0 }, []string{"mail.smtp.port"}},
		{"mail port high", func(c *Config) { c.Mail.SMTP.Port = 70000 }, []string{"mail.smtp.port"}},
		{"mail host with port", func(c *Config) { c.Mail.SMTP.Host = "smtp.example.com:25" }, []string{"mail.smtp.host"}},
		{"mail both tls", func(c *Config) { c.Mail.SMTP.StartTLS = true; c.Mail.SMTP.ImplicitTLS = true }, []string{"mail.smtp.implicit_tls"}},
		{"provider id", func(c *Config) { c.Providers[0].ID = "Google!" }, []string{"providers[0].id"}},
		{"provider id too long", func(c *Config) { c.Providers[0].ID = strings.Repeat("a", 33) }, []string{"providers[0].id"}},
		{"provider id duplicate", func(c *Config) { c.Providers[1].ID = "google" }, []string{"providers[1].id"}},
		{"provider type", func(c *Config) { c.Providers[0].Type = "okta" }, []string{"providers[0].type"}},
		{"issuer http", func(c *Config) { c.Providers[0].Issuer = "http://accounts.google.com" }, []string{"providers[0].issuer"}},
		{"issuer not a URL", func(c *Config) { c.Providers[0].Issuer = "accounts.google.com" }, []string{"providers[0].issuer"}},
		{"client id", func(c *Config) { c.Providers[0].ClientID = "" }, []string{"providers[0].client_id"}},
		{"scopes without openid", func(c *Config) { c.Providers[0].Scopes = []string{"email"} }, []string{"providers[0].scopes"}},
		{"allowed domain", func(c *Config) { c.Providers[0].AllowedDomains = []string{"@example.com"} }, []string{"providers[0].allowed_domains[0]"}},
		{"microsoft common without tenants", func(c *Config) {
			c.Providers[1].Issuer = "https://login.microsoftonline.com/common/v2.0"
			c.Providers[1].AllowedTenants = nil
		}, []string{"providers[1].allowed_tenants"}},
		{"role map", func(c *Config) { c.Providers[0].RoleMap = map[string]string{"x": ""} }, []string{"providers[0].role_map"}},
		{"jit without company and role", func(c *Config) { c.Providers[0].JIT = JIT{Enabled: true} }, []string{
			"providers[0].jit.company", "providers[0].jit.role"}},
		{"route upstream", func(c *Config) { c.Routes[0].Upstream = "127.0.0.1:3000" }, []string{"routes[0].upstream"}},
		{"route upstream scheme", func(c *Config) { c.Routes[0].Upstream = "unix:///run/app.sock" }, []string{"routes[0].upstream"}},
		{"route upstream credentials", func(c *Config) { c.Routes[0].Upstream = "http://u:p@app" }, []string{"routes[0].upstream"}},
		{"route path prefix", func(c *Config) { c.Routes[0].PathPrefix = "app/" }, []string{"routes[0].path_prefix"}},
		{"route path prefix dots", func(c *Config) { c.Routes[0].PathPrefix = "/a/../b" }, []string{"routes[0].path_prefix"}},
		{"route path prefix encoded", func(c *Config) { c.Routes[0].PathPrefix = "/a%2Fb" }, []string{"routes[0].path_prefix"}},
		{"route path prefix params", func(c *Config) { c.Routes[0].PathPrefix = "/a;b/" }, []string{"routes[0].path_prefix"}},
		{"route path prefix trailing dot", func(c *Config) { c.Routes[0].PathPrefix = "/a./" }, []string{"routes[0].path_prefix"}},
		{"route path prefix trailing space", func(c *Config) { c.Routes[0].PathPrefix = "/a /" }, []string{"routes[0].path_prefix"}},
		{"case_sensitive without letters", func(c *Config) { c.Routes[0].PathPrefix = "/"; c.Routes[0].CaseSensitive = true }, []string{"routes[0].case_sensitive"}},
		{"route duplicate in another case", func(c *Config) {
			c.Routes[1].PathPrefix = "/docs/"
			c.Routes = append(c.Routes, c.Routes[1])
			c.Routes[2].PathPrefix = "/Docs"
			c.Routes[2].Host = "Docs.Example.com.:443"
		}, []string{"routes[2].path_prefix"}},
		{"route audience", func(c *Config) { c.Routes[0].Audience = "" }, []string{"routes[0].audience"}},
		{"route company", func(c *Config) { c.Routes[0].Company = "" }, []string{"routes[0].company"}},
		{"route duplicate", func(c *Config) { c.Routes[1].Host = ""; c.Routes[1].Public = false; c.Routes[1].Company = "acme" }, []string{"routes[1].path_prefix"}},
		{"route duplicate host case", func(c *Config) { c.Routes = append(c.Routes, c.Routes[1]); c.Routes[2].Host = "DOCS.example.com" }, []string{"routes[2].path_prefix"}},
		{"route host", func(c *Config) { c.Routes[1].Host = "https://docs.example.com" }, []string{"routes[1].host"}},
		{"route timeout", func(c *Config) { c.Routes[0].Timeout = Duration(-time.Second) }, []string{"routes[0].timeout"}},
		{"public route with allow", func(c *Config) { c.Routes[1].Allow.Roles = []string{"admin"} }, []string{"routes[1].allow"}},
		{"allow empty role", func(c *Config) { c.Routes[0].Allow.Roles = []string{""} }, []string{"routes[0].allow.roles[0]"}},
		{"public route with step-up", func(c *Config) { c.Routes[1].Allow.MFA = true }, []string{"routes[1].allow"}},
		{"max_age negative", func(c *Config) { c.Routes[0].Allow.MaxAge = Duration(-time.Minute) }, []string{"routes[0].allow.max_age"}},
		{"max_age too short", func(c *Config) { c.Routes[0].Allow.MaxAge = Duration(5 * time.Second) }, []string{"routes[0].allow.max_age"}},
		{"amr unknown", func(c *Config) { c.Routes[0].Allow.AMR = []string{"hwk", "sms", ""} }, []string{
			"routes[0].allow.amr[1]", "routes[0].allow.amr[2]"}},
		{"provider mfa", func(c *Config) { c.Providers[0].MFA = "always" }, []string{"providers[0].mfa"}},
		{"attestation without roots", func(c *Config) {
			c.Passkeys.WorkstationAttestation.AAGUIDs = []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "yubikey"}
		}, []string{"passkeys.workstation_attestation.roots", "passkeys.workstation_attestation.aaguids[1]"}},
		{"attestation roots unreadable", func(c *Config) {
			c.Passkeys.WorkstationAttestation = WorkstationAttestation{AAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"},
				Roots: []string{"/nonexistent/root.pem", "config_test.go"}}
		}, []string{"passkeys.workstation_attestation.roots[0]", "passkeys.workstation_attestation.roots[1]"}},
		{"attestation roots without models", func(c *Config) { c.Passkeys.WorkstationAttestation.Roots = []string{"config_test.go"} },
			[]string{"passkeys.workstation_attestation.aaguids", "passkeys.workstation_attestation.roots[0]"}},
		{"rotate negative", func(c *Config) { c.Keys.RotateEvery = -1 }, []string{"keys.rotate_every"}},
		{"audit retention 0", func(c *Config) { c.Audit.Retention = 0 }, []string{"audit.retention"}},
		{"audit retention under a day", func(c *Config) { c.Audit.Retention = Duration(23 * time.Hour) }, []string{"audit.retention"}},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, []string{"log.level"}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"limits", func(c *Config) { c.Limits = Limits{} }, []string{"limits.max_header_bytes", "limits.max_form_bytes",
			"limits.unauthenticated_per_minute", "limits.unauthenticated_burst", "limits.gateway_read_timeout",
			"limits.upload_min_rate", "limits.upload_rate_window", "limits.invitations_per_admin",
			"limits.invitations_per_company", "limits.import_max_bytes", "limits.import_max_columns",
			"limits.import_max_rows", "limits.import_max_errors"}},
		{"terms url", func(c *Config) { c.Terms.URL = "/terms" }, []string{"terms.url"}},
		{"terms version", func(c *Config) { c.Terms.Version = "" }, []string{"terms.version"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validBase()
			tc.mutate(&c)
			var got []string
			for _, p := range c.Validate() {
				got = append(got, p.Path)
				if p.Message == "" {
					t.Errorf("%s: empty message", p.Path)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("problem paths %v, want %v (%v)", got, tc.want, c.Validate())
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"https public_url with trailing slash", func(c *Config) { c.PublicURL = "https://gate.example.com/" }},
		{"public_url with port", func(c *Config) { c.PublicURL = "https://gate.example.com:8443" }},
		{"listen any interface", func(c *Config) { c.Listen = ":8080" }},
		{"listen port 0 twice", func(c *Config) { c.Listen = "127.0.0.1:0"; c.OpsListen = "127.0.0.1:0" }},
		{"postgres", func(c *Config) { c.Store = Store{Driver: "postgres", DSN: "env:DATABASE_URL"} }},
		{"role model path", func(c *Config) { c.Roles = "config/roles/site-scoped.yaml" }},
		{"loopback http issuer", func(c *Config) { c.Providers[0].Issuer = "http://127.0.0.1:5556/dex" }},
		{"localhost http issuer", func(c *Config) { c.Providers[0].Issuer = "http://localhost:5556" }},
		{"microsoft single tenant", func(c *Config) {
			c.Providers[1].Issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
			c.Providers[1].AllowedTenants = nil
		}},
		{"no mail at all", func(c *Config) { c.Mail = Mail{SMTP: SMTP{Port: 25}} }},
		{"outbox only", func(c *Config) { c.Mail.SMTP.Host = ""; c.Mail.OutboxDir = "./outbox" }},
		{"route timeout 0", func(c *Config) { c.Routes[0].Timeout = 0 }},
		{"same prefix on other host", func(c *Config) { c.Routes[1].Host = "other.example.com:8443" }},
		{"jit", func(c *Config) { c.Providers[0].JIT = JIT{Enabled: true, Company: "acme", Role: "viewer"} }},
		{"step-up", func(c *Config) {
			c.Routes[0].Allow = Allow{MFA: true, MaxAge: Duration(10 * time.Minute), AMR: []string{"hwk", "otp"}}
		}},
		{"provider enforces mfa", func(c *Config) { c.Providers[0].MFA = "enforced" }},
		{"no routes, no providers", func(c *Config) { c.Routes = nil; c.Providers = nil }},
		{"audit retention of a day", func(c *Config) { c.Audit.Retention = Duration(24 * time.Hour) }},
		{"audit retention of ten years", func(c *Config) { c.Audit.Retention = Duration(3650 * 24 * time.Hour) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validBase()
			tc.mutate(&c)
			if ps := c.Validate(); len(ps) != 0 {
				t.Fatalf("problems: %v", ps)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	if got := (Problem{Path: "routes[1].upstream", Message: "not an absolute URL"}).String(); got != "routes[1].upstream: not an absolute URL" {
		t.Errorf("String = %q", got)
	}
	if got := (Problem{Message: "only one YAML document is allowed"}).String(); got != "only one YAML document is allowed" {
		t.Errorf("String without path = %q", got)
	}
	err := Problems{{Path: "a", Message: "x"}, {Path: "b", Message: "y"}}
	if got := err.Error(); got != "config: a: x; b: y" {
		t.Errorf("Error = %q", got)
	}
}

// An IP address in public_url is valid: the gateway starts with passkeys
// off, and that is one warning, not a problem. A host name warns of nothing.
func TestPublicURLOnIPAddress(t *testing.T) {
	const warning = "public_url: warning: the host is an IP address, so passkeys are off (WebAuthn needs a host name)"
	cases := []struct {
		url  string
		want []string // warnings
	}{
		{"http://10.0.0.5:8080", []string{warning}},
		{"http://127.0.0.1:8080", []string{warning}},
		{"http://[fd00::1]:8080", []string{warning}},
		{"https://[::1]", []string{warning}},
		{"http://gate.example.com:8080", nil},
		{"http://localhost:8080", nil},
		{"https://10-0-0-5.example.com", nil},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			c := validBase()
			c.PublicURL = tc.url
			if ps := c.Validate(); len(ps) != 0 {
				t.Fatalf("problems: %v", ps)
			}
			var got []string
			for _, w := range c.Warnings() {
				got = append(got, w.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("warnings %q, want %q", got, tc.want)
			}
			if off := PasskeysOff(tc.url); off != (tc.want != nil) {
				t.Fatalf("PasskeysOff = %v", off)
			}
		})
	}
}

func TestPublicURLOnIPAddressThroughLoad(t *testing.T) {
	cfg, err := LoadBytes([]byte("public_url: http://[fd00::1]:8080/\n"), []string{"GATEHOUSE_LISTEN=0.0.0.0:8080"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.PublicURL != "http://[fd00::1]:8080" {
		t.Fatalf("public_url = %q", cfg.PublicURL)
	}
	if ws := cfg.Warnings(); len(ws) != 1 || ws[0].Path != "public_url" {
		t.Fatalf("warnings = %v", ws)
	}
	cfg, err = LoadBytes(nil, []string{"GATEHOUSE_PUBLIC_URL=http://10.0.0.5:8080"})
	if err != nil || len(cfg.Warnings()) != 1 {
		t.Fatalf("env override to an IP: err %v, warnings %v", err, cfg.Warnings())
	}
}

// The rules that depend on a provider's type come from package providers;
// they are reported at the entry's key path with the same words as the
// config's own.
func TestProviderTypeProblems(t *testing.T) {
	c := validBase()
	c.Providers[0].Type = "okta"
	c.Providers[1].Issuer = "https://login.microsoftonline.com/common/v2.0"
	c.Providers[1].AllowedTenants = nil
	var got []string
	for _, p := range c.Validate() {
		got = append(got, p.String())
	}
	want := []string{
		"providers[0].type: must be one of google, microsoft, auth0, oidc",
		"providers[1].allowed_tenants: required with the common or organizations issuer: otherwise any Microsoft tenant could sign in",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems\n%q\nwant\n%q", got, want)
	}
}
