package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/providers"
)

// Problem is one thing wrong with a configuration, at a dotted key path
// such as routes[1].upstream, or at an environment variable's name.
type Problem struct {
	Path    string
	Message string
}

// String gives the form `gatehouse config check` prints: "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem found in one load; as an error it lets Load
// return decode and validation problems together. Recover it with
// errors.As(err, &problems).
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return "config: " + strings.Join(lines, "; ")
}

// providerIDPattern keeps provider ids safe to put in URL paths and in the
// sign-in method "sso:ID".
var providerIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// maxCacheTTL is how long a cached session may be trusted without the store;
// the contract promises 503 within 5 seconds of the store going away.
const maxCacheTTL = 5 * time.Second

// minArgon2MemoryKiB is the RFC 9106 / OWASP floor (19 MiB).
const minArgon2MemoryKiB = 19 * 1024

// maxArgon2MemoryKiB stops a typo from asking for more memory than a
// gateway host has (4 GiB per hash).
const maxArgon2MemoryKiB = 4 << 20

// Validate checks the configuration and returns every problem found, in
// file order; none means the gateway can start with it. It never resolves
// secrets, so it needs neither the environment nor the files they name.
func (c Config) Validate() []Problem {
	v := &validator{}
	v.publicURL(c.PublicURL)
	v.listen("listen", c.Listen)
	v.listen("ops_listen", c.OpsListen)
	if c.Listen != "" && c.Listen == c.OpsListen && !strings.HasSuffix(c.Listen, ":0") {
		v.add("ops_listen", "must differ from listen")
	}
	for i, tp := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(tp); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(tp); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "not an IP address or CIDR")
		}
	}
	v.store(c.Store)
	if strings.TrimSpace(c.Roles) == "" {
		v.add("roles", `must be "standard" or the path of a role model file`)
	}
	v.session(c.Session)
	v.password(c.Password)
	v.mail(c.Mail)
	v.providers(c.Providers)
	v.secrets(c.Secrets)
	v.oneOf("sso.on_disable", c.SSO.OnDisable, OnDisableEnd, OnDisableKeep)
	v.routes(c.Routes)
	v.workstationAttestation(c.Passkeys.WorkstationAttestation)
	if c.Keys.RotateEvery < 0 {
		v.add("keys.rotate_every", "must not be negative (0 disables automatic rotation)")
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "text")
	if c.Limits.MaxHeaderBytes <= 0 {
		v.add("limits.max_header_bytes", "must be positive")
	}
	if c.Limits.GCHeapFloorBytes < 0 {
		v.add("limits.gc_heap_floor_bytes", "must not be negative (0 keeps Go's default pacing)")
	}
	if c.Limits.MaxFormBytes <= 0 {
		v.add("limits.max_form_bytes", "must be positive")
	}
	for _, l := range []struct {
		key string
		n   int64
	}{
		{"limits.unauthenticated_per_minute", int64(c.Limits.UnauthPerMinute)},
		{"limits.unauthenticated_burst", int64(c.Limits.UnauthBurst)},
		{"limits.gateway_read_timeout", int64(c.Limits.GatewayReadTimeout)},
		{"limits.upload_min_rate", int64(c.Limits.UploadMinRate)},
		{"limits.upload_rate_window", int64(c.Limits.UploadRateWindow)},
		{"limits.invitations_per_admin", int64(c.Limits.InvitationsPerAdmin)},
		{"limits.invitations_per_company", int64(c.Limits.InvitationsPerCompany)},
		{"limits.import_max_bytes", c.Limits.ImportMaxBytes},
		{"limits.import_max_columns", int64(c.Limits.ImportMaxColumns)},
		{"limits.import_max_rows", int64(c.Limits.ImportMaxRows)},
		{"limits.import_max_errors", int64(c.Limits.ImportMaxErrors)},
	} {
		if l.n <= 0 {
			v.add(l.key, "must be positive")
		}
	}
	if c.Audit.Retention < Duration(24*time.Hour) {
		v.add("audit.retention", "must be at least 1d (one day)")
	}
	if c.Terms.URL != "" {
		if !isAbsoluteHTTP(c.Terms.URL) {
			v.add("terms.url", "not an absolute http(s) URL")
		}
		if c.Terms.Version == "" {
			v.add("terms.version", "required when terms.url is set")
		}
	}
	return v.problems
}

// Warning is something a configuration allows that switches a feature
// off. It does not stop the gateway: `config check` prints it and still
// exits 0, and serve logs it once at start.
type Warning struct {
	Path    string
	Message string
}

// String gives the form `gatehouse config check` prints:
// "path: warning: message".
func (w Warning) String() string { return w.Path + ": warning: " + w.Message }

// Warnings returns every warning about a configuration, in file order.
// Like Validate it resolves no secrets.
func (c Config) Warnings() []Warning {
	var ws []Warning
	if PasskeysOff(c.PublicURL) {
		ws = append(ws, Warning{Path: "public_url", Message: "the host is an IP address, so passkeys are off (WebAuthn needs a host name)"})
	}
	return ws
}

// PasskeysOff reports whether publicURL's host is an IP address. WebAuthn
// takes the relying-party id from a host name only, so on such a gateway
// sign-in is by password and SSO, and the passkey features are off.
func PasskeysOff(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && net.ParseIP(u.Hostname()) != nil
}

type validator struct {
	problems []Problem
}

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg})
}

func (v *validator) oneOf(path, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add(path, "must be one of "+strings.Join(allowed, ", "))
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration")
	}
}

// noneBlank reports each entry of list that is empty or only white space,
// at path[index].
func (v *validator) noneBlank(path string, list []string) {
	for j, s := range list {
		if strings.TrimSpace(s) == "" {
			v.add(fmt.Sprintf("%s[%d]", path, j), "must not be empty")
		}
	}
}

// absoluteURL parses raw and reports it at path unless it is an absolute
// URL with a host; the caller goes on only when ok.
func (v *validator) absoluteURL(path, raw string) (u *url.URL, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		v.add(path, "not an absolute URL")
		return nil, false
	}
	return u, true
}

// httpURL is absoluteURL for the rule public_url and route upstreams share:
// http or https, with no user name or password. Those two problems do not
// stop the caller, which goes on to its own checks.
func (v *validator) httpURL(path, raw string) (u *url.URL, ok bool) {
	u, ok = v.absoluteURL(path, raw)
	if !ok {
		return nil, false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		v.add(path, "must be an http or https URL")
	}
	if u.User != nil {
		v.add(path, "must not contain a user name or password")
	}
	return u, true
}

func (v *validator) publicURL(raw string) {
	const path = "public_url"
	u, ok := v.httpURL(path, raw)
	if !ok {
		return
	}
	if u.Path != "" && u.Path != "/" {
		v.add(path, "must not have a path: Gatehouse serves the whole host")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		v.add(path, "must not have a query or fragment")
	}
	// An IP address is allowed (passkeys are then off, see Warnings).
	if host := u.Hostname(); net.ParseIP(host) == nil && !isHostname(host) {
		v.add(path, "host is not a valid host name or IP address")
	}
	if p := u.Port(); p != "" && !validPort(p, false) {
		v.add(path, "not a valid port")
	}
}

func (v *validator) listen(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "not a host:port address")
		return
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		v.add(path, "not a host:port address")
		return
	}
	if !validPort(port, true) {
		v.add(path, "not a valid port")
	}
}

func (v *validator) store(s Store) {
	v.oneOf("store.driver", s.Driver, "sqlite", "postgres")
	if strings.TrimSpace(string(s.DSN)) == "" {
		v.add("store.dsn", "must not be empty")
	}
}

func (v *validator) session(s Session) {
	v.positive("session.idle_timeout", s.IdleTimeout)
	v.positive("session.absolute_timeout", s.AbsoluteTimeout)
	v.positive("session.shared_idle_timeout", s.SharedIdleTimeout)
	if s.IdleTimeout > 0 && s.AbsoluteTimeout > 0 && s.IdleTimeout > s.AbsoluteTimeout {
		v.add("session.idle_timeout", "must not exceed session.absolute_timeout")
	}
	if s.SharedIdleTimeout > 0 && s.AbsoluteTimeout > 0 && s.SharedIdleTimeout > s.AbsoluteTimeout {
		v.add("session.shared_idle_timeout", "must not exceed session.absolute_timeout")
	}
	if s.CacheSize < 0 {
		v.add("session.cache_size", "must not be negative (0 disables the cache)")
	}
	v.positive("session.cache_ttl", s.CacheTTL)
	if s.CacheTTL.D() > maxCacheTTL {
		v.add("session.cache_ttl", "must be at most 5s: a cached session is not trusted longer without the store")
	}
}

func (v *validator) password(p Password) {
	v.positive("password.reset_token_ttl", p.ResetTokenTTL)
	v.positive("password.invite_token_ttl", p.InviteTokenTTL)
	if p.Argon2.MemoryKiB < minArgon2MemoryKiB {
		v.add("password.argon2.memory_kib", fmt.Sprintf("must be at least %d (19 MiB)", minArgon2MemoryKiB))
	}
	if p.Argon2.MemoryKiB > maxArgon2MemoryKiB {
		v.add("password.argon2.memory_kib", fmt.Sprintf("must be at most %d (4 GiB)", maxArgon2MemoryKiB))
	}
	if p.Argon2.Iterations < 1 {
		v.add("password.argon2.iterations", "must be at least 1")
	}
	if p.Argon2.Parallelism < 1 {
		v.add("password.argon2.parallelism", "must be at least 1")
	}
	if p.HashCPUPercent < 1 || p.HashCPUPercent > 100 {
		v.add("password.hash_cpu_percent", "must be between 1 and 100 (100: no cap)")
	}
	if p.MaxConcurrentHashes < 0 {
		v.add("password.max_concurrent_hashes", "must not be negative (0 means the number of CPUs)")
	}
	if p.Lockout.MaxFailures < 1 || p.Lockout.MaxFailures > 100 {
		v.add("password.lockout.max_failures", "must be from 1 to 100")
	}
	v.positive("password.lockout.window", p.Lockout.Window)
	if p.Lockout.MaxLock < p.Lockout.Window {
		v.add("password.lockout.max_lock", "must be at least password.lockout.window")
	}
	switch {
	case p.Lockout.HardLockAfter < 1 || p.Lockout.HardLockAfter > 100:
		v.add("password.lockout.hard_lock_after", "must be from 1 to 100")
	case p.Lockout.HardLockAfter < p.Lockout.MaxFailures && p.Lockout.MaxFailures <= 100:
		v.add("password.lockout.hard_lock_after", "must be at least password.lockout.max_failures")
	}
	v.positive("password.lockout.device_ttl", p.Lockout.DeviceTTL)
	if p.Lockout.IPLimit < 1 {
		v.add("password.lockout.ip_limit", "must be at least 1")
	}
	v.positive("password.lockout.ip_window", p.Lockout.IPWindow)
}

func (v *validator) mail(m Mail) {
	switch {
	case m.From != "":
		if _, err := mail.ParseAddress(m.From); err != nil {
			v.add("mail.from", "not an email address")
		}
	case m.SMTP.Host != "" || m.OutboxDir != "":
		v.add("mail.from", "required when mail.smtp.host or mail.outbox_dir is set")
	}
	if h := m.SMTP.Host; h != "" && net.ParseIP(h) == nil && !isHostname(h) {
		v.add("mail.smtp.host", "not a host name or IP address (the port goes in mail.smtp.port)")
	}
	if !validPort(strconv.Itoa(m.SMTP.Port), false) {
		v.add("mail.smtp.port", "must be from 1 to 65535")
	}
	if m.SMTP.StartTLS && m.SMTP.ImplicitTLS {
		v.add("mail.smtp.implicit_tls", "cannot be combined with mail.smtp.starttls")
	}
}

func (v *validator) providers(ps []Provider) {
	first := make(map[string]int)
	for i, p := range ps {
		prefix := fmt.Sprintf("providers[%d].", i)
		if j, dup := first[p.ID]; dup && providerIDPattern.MatchString(p.ID) {
			v.add(prefix+"id", fmt.Sprintf("same id as providers[%d]", j))
		} else if !dup {
			first[p.ID] = i
		}
		v.provider(prefix, p)
	}
}

// ValidateProvider checks one provider entry as the configuration file's
// are checked, for a provider added from the admin panel: problems are at
// the entry's own keys ("issuer", "jit.company"). Like Validate it
// resolves no secret; the client secret's presence is the caller's rule.
func ValidateProvider(p Provider) []Problem {
	v := &validator{}
	v.provider("", p)
	return v.problems
}

// provider checks one entry, its problems at prefix + key.
func (v *validator) provider(prefix string, p Provider) {
	at := func(key string) string { return prefix + key }
	if !providerIDPattern.MatchString(p.ID) {
		v.add(at("id"), "must be 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit")
	}
	v.oneOf(at("type"), p.Type, providers.Types()...)
	v.issuer(at("issuer"), p.Issuer)
	if strings.TrimSpace(p.ClientID) == "" {
		v.add(at("client_id"), "must not be empty")
	}
	if len(p.Scopes) > 0 && !slices.Contains(p.Scopes, "openid") {
		v.add(at("scopes"), "must include openid")
	}
	for j, d := range p.AllowedDomains {
		if d == "" || strings.ContainsAny(d, "@/ ") {
			v.add(fmt.Sprintf("%sallowed_domains[%d]", prefix, j), "not a domain name")
		}
	}
	v.noneBlank(at("allowed_tenants"), p.AllowedTenants)
	// What depends on the type (a vendor's tenant rule, say) is the type's
	// own, registered with it in package providers.
	for _, tp := range providers.Validate(p) {
		v.add(at(tp.Key), tp.Message)
	}
	for from, to := range p.RoleMap {
		if from == "" || to == "" {
			v.add(at("role_map"), "provider roles and gatehouse roles must not be empty")
			break
		}
	}
	if p.JIT.Enabled {
		if p.JIT.Company == "" {
			v.add(at("jit.company"), "required when jit.enabled is true")
		}
		if p.JIT.Role == "" {
			v.add(at("jit.role"), "required when jit.enabled is true")
		}
	}
	if p.MFA != "" && p.MFA != providers.MFAEnforced {
		v.add(at("mfa"), `must be "`+providers.MFAEnforced+`" or absent`)
	}
}

// issuer allows plain http only on loopback, where tests run a fake IdP.
func (v *validator) issuer(path, raw string) {
	u, ok := v.absoluteURL(path, raw)
	if !ok {
		return
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		v.add(path, "must be an https URL (http only for a loopback host)")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		v.add(path, "must not have a query, fragment or user name")
	}
}

func (v *validator) routes(rs []Route) {
	var overlaps RouteOverlaps
	for i, r := range rs {
		at := func(key string) string { return fmt.Sprintf("routes[%d].%s", i, key) }
		if r.Host != "" && !isHostPort(r.Host) {
			v.add(at("host"), "not a host name (optionally with :port)")
		}
		switch {
		case !strings.HasPrefix(r.PathPrefix, "/"):
			v.add(at("path_prefix"), `must start with "/"`)
		case !cleanPrefix(r.PathPrefix):
			v.add(at("path_prefix"), `must be a plain path: no "//", "." or ".." segments, no segment ending in "." or " ", no "\", "%", ";", "?" or "#"`)
		}
		if r.CaseSensitive && strings.ToLower(r.PathPrefix) == strings.ToUpper(r.PathPrefix) {
			v.add(at("case_sensitive"), "has no effect: path_prefix has no letters")
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h // routes name hosts, not ports
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if clash := overlaps.Add(i, host, r); clash != "" {
			v.add(at("path_prefix"), clash)
		}
		v.upstream(at("upstream"), r.Upstream)
		if strings.TrimSpace(r.Audience) == "" {
			v.add(at("audience"), "must not be empty")
		}
		if r.Company == "" && !r.Public {
			v.add(at("company"), "required unless the route is public")
		}
		if r.Public && (len(r.Allow.Roles) > 0 || len(r.Allow.Capabilities) > 0 || r.Allow.StepUp()) {
			v.add(at("allow"), "has no effect on a public route")
		}
		v.noneBlank(at("allow.roles"), r.Allow.Roles)
		v.noneBlank(at("allow.capabilities"), r.Allow.Capabilities)
		v.stepUp(at, r.Allow)
		if r.Timeout < 0 {
			v.add(at("timeout"), "must not be negative")
		}
		if r.MaxIdleConns < 0 {
			v.add(at("max_idle_conns"), "must not be negative")
		}
	}
}

var aaguidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (v *validator) workstationAttestation(w WorkstationAttestation) {
	const at = "passkeys.workstation_attestation"
	switch {
	case w.Enabled() && len(w.Roots) == 0:
		v.add(at+".roots", "required with aaguids: the attestation roots that vouch for those models")
	case !w.Enabled() && len(w.Roots) > 0:
		v.add(at+".aaguids", "required with roots: the authenticator models to admit")
	}
	for i, a := range w.AAGUIDs {
		if !aaguidPattern.MatchString(a) {
			v.add(fmt.Sprintf("%s.aaguids[%d]", at, i), "not an AAGUID (a UUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8)")
		}
	}
	_, problems := w.LoadRoots()
	v.problems = append(v.problems, problems...)
}

// minMaxAge keeps allow.max_age above what a person can do: shorter, a
// re-authentication would be stale before its redirect arrives.
const minMaxAge = 30 * time.Second

func (v *validator) stepUp(at func(string) string, a Allow) {
	switch {
	case a.MaxAge < 0:
		v.add(at("allow.max_age"), "must not be negative")
	case a.MaxAge > 0 && a.MaxAge.D() < minMaxAge:
		v.add(at("allow.max_age"), "must be at least "+minMaxAge.String())
	}
	for j, m := range a.AMR {
		if !slices.Contains(AMRValues(), m) {
			v.add(fmt.Sprintf("%s[%d]", at("allow.amr"), j), "must be one of "+strings.Join(AMRValues(), ", "))
		}
	}
}

func (v *validator) upstream(path, raw string) {
	u, ok := v.httpURL(path, raw)
	if !ok {
		return
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		v.add(path, "must not have a query or fragment")
	}
}

func isAbsoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isHostname accepts DNS names made of letters, digits and hyphens (IDNs in
// their xn-- form), which is what WebAuthn accepts as a relying-party id.
func isHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// RouteOverlaps finds routes that one request could match alike: the
// same host, the same path_prefix ignoring its trailing "/" and, unless
// both routes are case-sensitive, letter case (see docs/paths.md). The
// config check and the router both ask it, so they refuse the same routes.
type RouteOverlaps struct {
	seen []routeKey
}

type routeKey struct {
	index         int
	host, base    string
	caseSensitive bool
}

// Add records routes[i], whose host the caller has already reduced to the
// form it compares, and returns the problem if an earlier route overlaps
// it, or "".
func (o *RouteOverlaps) Add(i int, host string, r Route) string {
	base := strings.TrimSuffix(r.PathPrefix, "/")
	clash := ""
	for _, s := range o.seen {
		if s.host == host && (s.base == base || (!(s.caseSensitive && r.CaseSensitive) && strings.EqualFold(s.base, base))) {
			clash = fmt.Sprintf("same host and path_prefix as routes[%d]", s.index)
			break
		}
	}
	o.seen = append(o.seen, routeKey{i, host, base, r.CaseSensitive})
	return clash
}

func isHostPort(hp string) bool {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		host, port = hp, ""
	} else if !validPort(port, false) {
		return false
	}
	return isHostname(host) || net.ParseIP(host) != nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validPort accepts a decimal port; zero only where the OS may pick one.
func validPort(p string, zeroOK bool) bool {
	n, err := strconv.Atoi(p)
	if err != nil || n > 65535 || n < 0 || (n == 0 && !zeroOK) {
		return false
	}
	return strconv.Itoa(n) == p || p == "0"
}

// cleanPrefix refuses prefixes that a normalised request path could never
// match, or that would match differently after normalisation.
func cleanPrefix(p string) bool {
	if strings.ContainsAny(p, `\%?#;`) || strings.Contains(p, "//") || strings.Contains(p, ":$") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") {
			return false
		}
	}
	return true
}

// secrets checks the shape of literal keys; a key given as env: or file:
// is checked when the gateway resolves it.
func (v *validator) secrets(s Secrets) {
	check := func(path string, k Secret) {
		raw := string(k)
		if raw == "" || strings.HasPrefix(raw, "env:") || strings.HasPrefix(raw, "file:") {
			return
		}
		if _, err := secret.ParseKey(raw); err != nil {
			v.add(path, "must be 32 random bytes in base64 or hex (openssl rand -base64 32)")
		}
	}
	check("secrets.key", s.Key)
	for i, k := range s.PreviousKeys {
		if k == "" {
			v.add(fmt.Sprintf("secrets.previous_keys[%d]", i), "must not be empty")
			continue
		}
		check(fmt.Sprintf("secrets.previous_keys[%d]", i), k)
	}
	if len(s.PreviousKeys) > 0 && s.Key == "" {
		v.add("secrets.previous_keys", "needs secrets.key: previous keys only open, the current key seals")
	}
}
