package config

import "github.com/gatehouse/gatehouse/internal/secret"

// Secret is a value that may be given inline, as env:NAME or as file:PATH.
// Resolve returns the actual value; String never reveals it. It is defined
// in package secret so that the provider sections, which package providers
// defines, can hold one too.
type Secret = secret.Value

// ErrSecretUnset is returned by Resolve when an env: secret names a variable
// that is not set.
var ErrSecretUnset = secret.ErrUnset

// EnvLookup turns an environ slice ("NAME=value" entries, as os.Environ
// returns) into a lookup function for Resolve. Later entries win, as in exec.
func EnvLookup(environ []string) func(string) (string, bool) {
	return secret.EnvLookup(environ)
}
