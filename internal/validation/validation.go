// Package validation carries the error every part of the gateway returns
// for bad input: all the problems found, each tied to the field it concerns.
package validation

import "strings"

// Problem is one thing wrong with an input field.
type Problem struct {
	Field   string // input field name, e.g. "email", "sites[1]"
	Code    string // stable: required, invalid, too_long, unknown, not_allowed, or a password policy code
	Message string
}

// Error lists every problem found in an input, so a form or an API client
// can show them all at once. Callers find it with errors.As.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}
