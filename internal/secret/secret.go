// Package secret holds configuration values that may be given inline, as
// env:NAME or as file:PATH, and that never reveal themselves when printed.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// ErrUnset is returned by Resolve when an env: secret names a variable
// that is not set.
var ErrUnset = errors.New("environment variable not set")

const redacted = "[redacted]"

// Value is a secret given inline, as env:NAME or as file:PATH. Resolve
// returns the actual value; String never reveals it.
type Value string

// Resolve returns the secret's value. "env:NAME" reads the variable NAME
// through lookup (os.LookupEnv when lookup is nil) and fails when it is unset;
// "file:PATH" reads the file and drops one trailing newline, which editors
// and `echo` add; anything else is the value itself.
func (s Value) Resolve(lookup func(string) (string, bool)) (string, error) {
	raw := string(s)
	switch {
	case strings.HasPrefix(raw, "env:"):
		name := strings.TrimPrefix(raw, "env:")
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("secret env:%s: %w", name, ErrUnset)
		}
		return v, nil
	case strings.HasPrefix(raw, "file:"):
		path := strings.TrimPrefix(raw, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			// The path is not secret, the content is; the error only names the path.
			return "", fmt.Errorf("secret file:%s: %w", path, err)
		}
		v := strings.TrimSuffix(string(b), "\n")
		v = strings.TrimSuffix(v, "\r")
		return v, nil
	default:
		return raw, nil
	}
}

// IsSet reports whether any value (literal or reference) was given.
func (s Value) IsSet() bool { return s != "" }

// String hides the value so a secret printed by mistake never reaches a log.
func (s Value) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value from %#v as well.
func (s Value) GoString() string { return `"` + s.String() + `"` }

// LogValue hides the value from slog.
func (s Value) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML hides the value when a config is written back out.
func (s Value) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON hides the value when a config section is served as JSON.
func (s Value) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// EnvLookup turns an environ slice ("NAME=value" entries, as os.Environ
// returns) into a lookup function for Resolve. Later entries win, as in exec.
func EnvLookup(environ []string) func(string) (string, bool) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
