package config

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment override.
//
// The mapping rule: every scalar key outside a list has an override named
// GATEHOUSE_ followed by its dotted YAML path upper-cased, with "_" in place
// of each ".". So session.idle_timeout is GATEHOUSE_SESSION_IDLE_TIMEOUT.
// Values use the YAML syntax of the key (durations "30m", booleans
// true/false, decimal integers); a list of plain strings (trusted_proxies)
// is comma-separated, and an empty value empties it. Secret keys take the
// same env:NAME and file:PATH forms as in the file. Overrides apply after
// the file; keys inside lists (providers, routes) and maps have none.
// Unrecognised GATEHOUSE_* variables are ignored, since other tools share
// the prefix. A value that does not parse is a Problem at the variable's
// name. The full list (EnvVars returns it too):
//
//	GATEHOUSE_PUBLIC_URL                      public_url
//	GATEHOUSE_LISTEN                          listen
//	GATEHOUSE_OPS_LISTEN                      ops_listen
//	GATEHOUSE_TRUSTED_PROXIES                 trusted_proxies
//	GATEHOUSE_STORE_DRIVER                    store.driver
//	GATEHOUSE_STORE_DSN                       store.dsn
//	GATEHOUSE_ROLES                           roles
//	GATEHOUSE_SESSION_IDLE_TIMEOUT            session.idle_timeout
//	GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT        session.absolute_timeout
//	GATEHOUSE_SESSION_SHARED_IDLE_TIMEOUT     session.shared_idle_timeout
//	GATEHOUSE_SESSION_CACHE_SIZE              session.cache_size
//	GATEHOUSE_SESSION_CACHE_TTL               session.cache_ttl
//	GATEHOUSE_PASSWORD_RESET_TOKEN_TTL        password.reset_token_ttl
//	GATEHOUSE_PASSWORD_INVITE_TOKEN_TTL       password.invite_token_ttl
//	GATEHOUSE_PASSWORD_ARGON2_MEMORY_KIB      password.argon2.memory_kib
//	GATEHOUSE_PASSWORD_ARGON2_ITERATIONS      password.argon2.iterations
//	GATEHOUSE_PASSWORD_ARGON2_PARALLELISM     password.argon2.parallelism
//	GATEHOUSE_PASSWORD_MAX_CONCURRENT_HASHES  password.max_concurrent_hashes
//	GATEHOUSE_PASSWORD_HASH_CPU_PERCENT       password.hash_cpu_percent
//	GATEHOUSE_PASSWORD_LOCKOUT_MAX_FAILURES   password.lockout.max_failures
//	GATEHOUSE_PASSWORD_LOCKOUT_WINDOW         password.lockout.window
//	GATEHOUSE_PASSWORD_LOCKOUT_MAX_LOCK       password.lockout.max_lock
//	GATEHOUSE_PASSWORD_LOCKOUT_HARD_LOCK_AFTER password.lockout.hard_lock_after
//	GATEHOUSE_PASSWORD_LOCKOUT_DEVICE_TTL     password.lockout.device_ttl
//	GATEHOUSE_PASSWORD_LOCKOUT_IP_LIMIT       password.lockout.ip_limit
//	GATEHOUSE_PASSWORD_LOCKOUT_IP_WINDOW      password.lockout.ip_window
//	GATEHOUSE_MAIL_FROM                       mail.from
//	GATEHOUSE_MAIL_SMTP_HOST                  mail.smtp.host
//	GATEHOUSE_MAIL_SMTP_PORT                  mail.smtp.port
//	GATEHOUSE_MAIL_SMTP_USERNAME              mail.smtp.username
//	GATEHOUSE_MAIL_SMTP_PASSWORD              mail.smtp.password
//	GATEHOUSE_MAIL_SMTP_STARTTLS              mail.smtp.starttls
//	GATEHOUSE_MAIL_SMTP_IMPLICIT_TLS          mail.smtp.implicit_tls
//	GATEHOUSE_MAIL_OUTBOX_DIR                 mail.outbox_dir
//	GATEHOUSE_KEYS_ROTATE_EVERY               keys.rotate_every
//	GATEHOUSE_LOG_LEVEL                       log.level
//	GATEHOUSE_LOG_FORMAT                      log.format
//	GATEHOUSE_LOG_ACCESS                      log.access
//	GATEHOUSE_LIMITS_MAX_HEADER_BYTES         limits.max_header_bytes
//	GATEHOUSE_LIMITS_MAX_FORM_BYTES           limits.max_form_bytes
//	GATEHOUSE_LIMITS_GC_HEAP_FLOOR_BYTES      limits.gc_heap_floor_bytes
//	GATEHOUSE_LIMITS_UNAUTHENTICATED_PER_MINUTE limits.unauthenticated_per_minute
//	GATEHOUSE_LIMITS_UNAUTHENTICATED_BURST    limits.unauthenticated_burst
//	GATEHOUSE_LIMITS_GATEWAY_READ_TIMEOUT     limits.gateway_read_timeout
//	GATEHOUSE_LIMITS_UPLOAD_MIN_RATE          limits.upload_min_rate
//	GATEHOUSE_LIMITS_UPLOAD_RATE_WINDOW       limits.upload_rate_window
//	GATEHOUSE_LIMITS_INVITATIONS_PER_ADMIN    limits.invitations_per_admin
//	GATEHOUSE_LIMITS_INVITATIONS_PER_COMPANY  limits.invitations_per_company
//	GATEHOUSE_LIMITS_IMPORT_MAX_BYTES         limits.import_max_bytes
//	GATEHOUSE_LIMITS_IMPORT_MAX_COLUMNS       limits.import_max_columns
//	GATEHOUSE_LIMITS_IMPORT_MAX_ROWS          limits.import_max_rows
//	GATEHOUSE_LIMITS_IMPORT_MAX_ERRORS        limits.import_max_errors
//	GATEHOUSE_TERMS_VERSION                   terms.version
//	GATEHOUSE_TERMS_URL                       terms.url
//	GATEHOUSE_AUDIT_RETENTION                 audit.retention
//	GATEHOUSE_PASSKEYS_WORKSTATION_ATTESTATION_AAGUIDS passkeys.workstation_attestation.aaguids
//	GATEHOUSE_PASSKEYS_WORKSTATION_ATTESTATION_ROOTS   passkeys.workstation_attestation.roots
//	GATEHOUSE_SECRETS_KEY                     secrets.key
//	GATEHOUSE_SECRETS_PREVIOUS_KEYS           secrets.previous_keys
//	GATEHOUSE_SSO_ON_DISABLE                  sso.on_disable
const EnvPrefix = "GATEHOUSE_"

// EnvVar is one environment override: its variable name and the dotted
// config path it sets.
type EnvVar struct {
	Name string
	Path string

	index []int
	typ   reflect.Type
}

// EnvVars lists every environment override, in the order of the config
// file, for documentation and for `gatehouse config check`.
func EnvVars() []EnvVar {
	var out []EnvVar
	collectEnv(reflect.TypeFor[Config](), nil, "", &out)
	return out
}

func collectEnv(t reflect.Type, index []int, path string, out *[]EnvVar) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		idx := append(slices.Clone(index), i)
		p := join(path, name)
		switch {
		case f.Type == durationType || isScalarKind(f.Type.Kind()):
		case f.Type.Kind() == reflect.Struct:
			collectEnv(f.Type, idx, p, out)
			continue
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			// A list of plain strings reads naturally as "a,b,c".
		default:
			// Lists of sections and maps have no single-variable form.
			continue
		}
		*out = append(*out, EnvVar{
			Name:  EnvPrefix + strings.ToUpper(strings.ReplaceAll(p, ".", "_")),
			Path:  p,
			index: idx,
			typ:   f.Type,
		})
	}
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// applyEnv sets every override present in environ. It returns which config
// paths were overridden (path -> variable name), so validation problems can
// point at the variable, and the problems with values that do not parse;
// a bad value leaves the key as the file set it.
func applyEnv(c *Config, environ []string) (map[string]string, Problems) {
	lookup := EnvLookup(environ)
	overridden := make(map[string]string)
	var problems Problems
	root := reflect.ValueOf(c).Elem()
	for _, ev := range EnvVars() {
		raw, ok := lookup(ev.Name)
		if !ok {
			continue
		}
		if msg := setFromEnv(root.FieldByIndex(ev.index), raw); msg != "" {
			problems = append(problems, Problem{Path: ev.Name, Message: msg + " (overrides " + ev.Path + ")"})
			continue
		}
		overridden[ev.Path] = ev.Name
	}
	return overridden, problems
}

// setFromEnv parses raw into v and returns a message when it does not parse.
func setFromEnv(v reflect.Value, raw string) string {
	t := v.Type()
	if t == durationType {
		d, err := parseDuration(strings.TrimSpace(raw))
		if err != nil {
			return err.Error()
		}
		v.SetInt(int64(d))
		return ""
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return scalarMessage(t)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, t.Bits())
		if err != nil {
			return scalarMessage(t)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, t.Bits())
		if err != nil || n > math.MaxUint64>>(64-t.Bits()) {
			return scalarMessage(t)
		}
		v.SetUint(n)
	case reflect.Slice:
		var items []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		// Built element by element, so lists of a named string type
		// (secrets.previous_keys) take the same form.
		list := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			list.Index(i).SetString(item)
		}
		v.Set(list)
	}
	return ""
}
