// Package validation carries the error every part of the gateway returns
// for bad input: all the problems found, each tied to the field it concerns.
package validation

import (
	"fmt"
	"strings"
)

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

// Problems collects the problems of one input as a check goes through it,
// so every problem is reported, not just the first.
type Problems []Problem

// Add records a problem with field; the message is formatted like fmt.Sprintf.
func (p *Problems) Add(field, code, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err is the *Error of the problems collected, or nil if there are none.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}

// One is the error of an input with a single problem.
func One(field, code, format string, args ...any) error {
	var p Problems
	p.Add(field, code, format, args...)
	return p.Err()
}
