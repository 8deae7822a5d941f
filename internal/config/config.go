// Package config loads Gatehouse's YAML configuration, applies defaults and
// GATEHOUSE_* environment overrides, and validates it, reporting every
// problem with its key path.
package config

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/providers"
)

// Config is the whole configuration file. Each part of the gateway is given
// only the section it uses.
type Config struct {
	PublicURL      string     `yaml:"public_url"`
	Listen         string     `yaml:"listen"`
	OpsListen      string     `yaml:"ops_listen"`
	TrustedProxies []string   `yaml:"trusted_proxies"` // CIDRs whose X-Forwarded-* headers are believed
	Store          Store      `yaml:"store"`
	Roles          string     `yaml:"roles"` // "standard" or a path to a role model file
	Session        Session    `yaml:"session"`
	Password       Password   `yaml:"password"`
	Mail           Mail       `yaml:"mail"`
	Providers      []Provider `yaml:"providers"`
	Routes         []Route    `yaml:"routes"`
	Keys           Keys       `yaml:"keys"`
	Log            Log        `yaml:"log"`
	Limits         Limits     `yaml:"limits"`
	Terms          Terms      `yaml:"terms"`
	Audit          Audit      `yaml:"audit"`
	Passkeys       Passkeys   `yaml:"passkeys"`
	Secrets        Secrets    `yaml:"secrets"`
	SSO            SSO        `yaml:"sso"`
}

// Passkeys holds passkey settings.
type Passkeys struct {
	WorkstationAttestation WorkstationAttestation `yaml:"workstation_attestation"`
}

// WorkstationAttestation, when it lists models, admits to workstation
// enrolment only authenticators of those models (AAGUIDs) whose
// attestation certificate chains to one of the roots (PEM files of the
// vendors' attestation roots, as the FIDO metadata service publishes
// them). Empty: any device-bound authenticator, on its own word.
type WorkstationAttestation struct {
	AAGUIDs []string `yaml:"aaguids"`
	Roots   []string `yaml:"roots"`
}

// Enabled reports whether enrolment requires attestation.
func (w WorkstationAttestation) Enabled() bool { return len(w.AAGUIDs) > 0 }

// LoadRoots reads the root certificates, every file's problem reported
// under its key path.
func (w WorkstationAttestation) LoadRoots() (*x509.CertPool, []Problem) {
	pool := x509.NewCertPool()
	var problems []Problem
	for i, path := range w.Roots {
		key := fmt.Sprintf("passkeys.workstation_attestation.roots[%d]", i)
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, Problem{Path: key, Message: "cannot be read: " + err.Error()})
			continue
		}
		if !pool.AppendCertsFromPEM(data) {
			problems = append(problems, Problem{Path: key, Message: "holds no PEM certificate"})
		}
	}
	return pool, problems
}

// Secrets holds the key that seals the secrets Gatehouse stores itself
// (the client secrets of identity providers added from the admin panel).
// Without a key those providers are off; the configuration file's are not
// affected.
type Secrets struct {
	// Key is 32 random bytes in base64 or hex (`openssl rand -base64 32`),
	// best given as env:NAME or file:PATH.
	Key Secret `yaml:"key"`
	// PreviousKeys still open what they sealed, after Key was replaced and
	// until `gatehouse secrets rotate` has sealed everything again.
	PreviousKeys []Secret `yaml:"previous_keys"`
}

// SSO settings of the providers added from the admin panel.
type SSO struct {
	// OnDisable decides what happens to the running sessions of a provider
	// an administrator disables or removes: "end" (default) ends them at
	// once, "keep" lets them run to their timeouts.
	OnDisable string `yaml:"on_disable"`
}

// SSO.OnDisable values.
const (
	OnDisableEnd  = "end"
	OnDisableKeep = "keep"
)

// Store selects the database.
type Store struct {
	Driver string `yaml:"driver"` // sqlite | postgres
	DSN    Secret `yaml:"dsn"`
}

// Session holds session lifetimes.
type Session struct {
	IdleTimeout       Duration `yaml:"idle_timeout"`        // default 30m
	AbsoluteTimeout   Duration `yaml:"absolute_timeout"`    // default 12h
	SharedIdleTimeout Duration `yaml:"shared_idle_timeout"` // shared-computer sessions; default 10m
	CacheSize         int      `yaml:"cache_size"`          // sessions cached in memory; default 100000
	CacheTTL          Duration `yaml:"cache_ttl"`           // how long a cached session is trusted without the store; default 5s, at most 5s
}

// Password holds hashing parameters and reset settings.
type Password struct {
	ResetTokenTTL       Duration `yaml:"reset_token_ttl"`  // default 30m
	InviteTokenTTL      Duration `yaml:"invite_token_ttl"` // default 72h
	Argon2              Argon2   `yaml:"argon2"`
	MaxConcurrentHashes int      `yaml:"max_concurrent_hashes"` // default: number of CPUs
	// HashCPUPercent caps the share of the machine's CPU that password
	// hashing may take (1-100; 100: no cap), so a flood of sign-ins cannot
	// starve proxying. Default 20.
	HashCPUPercent int     `yaml:"hash_cpu_percent"`
	Lockout        Lockout `yaml:"lockout"`
}

// Argon2 parameters (RFC 9106). Defaults: 64 MiB, 1 pass, 2 lanes.
type Argon2 struct {
	MemoryKiB   uint32 `yaml:"memory_kib"`
	Iterations  uint32 `yaml:"iterations"`
	Parallelism uint8  `yaml:"parallelism"`
}

// Lockout throttles password guessing.
type Lockout struct {
	MaxFailures int      `yaml:"max_failures"` // per account and class of clients, default 5, at most 100
	Window      Duration `yaml:"window"`       // default 15m; the first lock of a run lasts as long
	// MaxLock caps the lock durations, which double with each lock of a
	// run of consecutive failures (default 24h).
	MaxLock Duration `yaml:"max_lock"`
	// HardLockAfter consecutive failures lock their class of clients until
	// a successful sign-in (default and at most 100, NIST SP 800-63B).
	HardLockAfter int `yaml:"hard_lock_after"`
	// DeviceTTL is how long a device cookie spares its browser from the
	// lockout of other clients (default 2160h, 90 days).
	DeviceTTL Duration `yaml:"device_ttl"`
	IPLimit   int      `yaml:"ip_limit"`  // login/forgot requests per IP per IPWindow, default 30
	IPWindow  Duration `yaml:"ip_window"` // default 1m
}

// Mail configures outgoing mail.
type Mail struct {
	From      string `yaml:"from"`
	SMTP      SMTP   `yaml:"smtp"`
	OutboxDir string `yaml:"outbox_dir"`
}

// SMTP server settings.
type SMTP struct {
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	Username    string `yaml:"username"`
	Password    Secret `yaml:"password"`
	StartTLS    bool   `yaml:"starttls"`
	ImplicitTLS bool   `yaml:"implicit_tls"`
}

// Provider is one entry of providers. Package providers defines it, with
// the defaults and rules that depend on the provider's type.
type Provider = providers.Config

// JIT creates accounts on first SSO login.
type JIT = providers.JIT

// Route sends matching requests to an upstream.
type Route struct {
	Host         string   `yaml:"host"`        // empty: any host
	PathPrefix   string   `yaml:"path_prefix"` // default "/"
	Upstream     string   `yaml:"upstream"`
	Audience     string   `yaml:"audience"`
	Company      string   `yaml:"company"`
	Allow        Allow    `yaml:"allow"`
	Public       bool     `yaml:"public"`
	Timeout      Duration `yaml:"timeout"`        // upstream response header timeout, default 30s
	MaxIdleConns int      `yaml:"max_idle_conns"` // idle keep-alive connections per upstream host, default 256
	// CaseSensitive: path_prefix matches only in its own letter case. By
	// default it matches in any case, as IIS, Windows and Express read
	// paths; set it only for an app known to be case-sensitive.
	CaseSensitive bool `yaml:"case_sensitive"`
}

// Allow restricts a route to roles or capabilities in the route's company.
// Both empty: any signed-in active account. MFA, MaxAge and AMR ask how
// strongly and how recently the session authenticated (step-up): a
// session that meets the rest but not these is asked to sign in again.
type Allow struct {
	Roles        []string `yaml:"roles"`
	Capabilities []string `yaml:"capabilities"`
	// MFA: the session used more than one factor.
	MFA bool `yaml:"mfa"`
	// MaxAge: the session's last authentication is at most this old.
	MaxAge Duration `yaml:"max_age"`
	// AMR: the session signed in with at least one of these RFC 8176
	// methods (for example [hwk]: a device-bound passkey).
	AMR []string `yaml:"amr"`
}

// StepUp reports whether the route asks anything of how the session
// authenticated.
func (a Allow) StepUp() bool { return a.MFA || a.MaxAge > 0 || len(a.AMR) > 0 }

// AMRValues are the authentication methods a route may require, as the
// assertion's amr claim names them (RFC 8176).
func AMRValues() []string { return []string{"pwd", "otp", "hwk", "swk", "fed", "mfa"} }

// Keys controls assertion signing keys.
type Keys struct {
	RotateEvery Duration `yaml:"rotate_every"` // automatic rotation; 0 disables (default 0: rotate with `gatehouse keys rotate`)
}

// Log controls logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // json | text; default json
	Access bool   `yaml:"access"` // one line per proxied request; default true
}

// Limits bounds requests and tunes the process.
type Limits struct {
	MaxHeaderBytes int   `yaml:"max_header_bytes"` // default 65536
	MaxFormBytes   int64 `yaml:"max_form_bytes"`   // default 65536
	// GCHeapFloorBytes: the garbage collector lets the heap grow to at
	// least this before collecting (see cmd/gatehouse/internal/gcfloor); 0 keeps Go's
	// default pacing. Default 14 MiB.
	GCHeapFloorBytes int64 `yaml:"gc_heap_floor_bytes"`

	// Unauthenticated endpoints (sign-in starts and callbacks, passkey
	// sign-in, forgotten password, enrolment, back-channel logout) take
	// per client address a burst of UnauthBurst requests, refilled at
	// UnauthPerMinute; beyond it they answer 429 before touching the store.
	UnauthPerMinute int `yaml:"unauthenticated_per_minute"` // default 300
	UnauthBurst     int `yaml:"unauthenticated_burst"`      // default 100
	// GatewayReadTimeout bounds reading a request body on the gateway's own
	// pages and API.
	GatewayReadTimeout Duration `yaml:"gateway_read_timeout"` // default 30s
	// A body forwarded upstream must arrive at UploadMinRate bytes a second
	// or more, measured over each UploadRateWindow (the first one is grace).
	UploadMinRate    int      `yaml:"upload_min_rate"`    // default 4096
	UploadRateWindow Duration `yaml:"upload_rate_window"` // default 10s
	// Invitation mails an admin, and all the admins of a company, may
	// trigger in an hour.
	InvitationsPerAdmin   int `yaml:"invitations_per_admin"`   // default 200
	InvitationsPerCompany int `yaml:"invitations_per_company"` // default 500
	// CSV imports of property values.
	ImportMaxBytes   int64 `yaml:"import_max_bytes"`   // default 5 MiB
	ImportMaxColumns int   `yaml:"import_max_columns"` // default 200
	ImportMaxRows    int   `yaml:"import_max_rows"`    // default 10000
	ImportMaxErrors  int   `yaml:"import_max_errors"`  // default 100
}

// Terms of use that accounts must accept.
type Terms struct {
	Version string `yaml:"version"`
	URL     string `yaml:"url"`
}

// Audit controls the audit log.
type Audit struct {
	// Retention is how long events are kept; older ones are purged.
	// Default 400 days, at least one day.
	Retention Duration `yaml:"retention"`
}

// Duration is a time.Duration written as "30m" in YAML.
type Duration time.Duration
