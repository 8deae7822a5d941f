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
	Message string // in English, for the API and the logs
	// Format and Args made Message. Format is the English sentence the
	// catalogues translate (key "msg." + Format, as gettext keys messages
	// by their source text), so a page can say the same in its language.
	Format string
	Args   []any
}

// Term is an argument of a problem that is itself words to translate (a
// field's name): Localize looks it up as MessageKey(string(term)).
type Term string

// New is the problem of field, saying format filled with args.
func New(field, code, format string, args ...any) Problem {
	return Problem{Field: field, Code: code, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Localize says the problem with translate, which returns the catalogue's
// format for a key and whether it has one. Without a translation the
// English message stays, so no problem goes unexplained.
func (p Problem) Localize(translate func(key string) (string, bool)) string {
	if p.Format == "" {
		return p.Message
	}
	f, ok := translate(MessageKey(p.Format))
	if !ok {
		return p.Message
	}
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		args[i] = a
		if term, ok := a.(Term); ok {
			if t, ok := translate(MessageKey(string(term))); ok {
				args[i] = t
			}
		}
	}
	return fmt.Sprintf(f, args...)
}

// MessageKey is the catalogue key of an English problem format.
func MessageKey(format string) string { return "msg." + format }

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

// Add records a problem with field; the message is formatted like
// fmt.Sprintf, and keeps its format and arguments for the catalogues (New).
func (p *Problems) Add(field, code, format string, args ...any) {
	*p = append(*p, New(field, code, format, args...))
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
