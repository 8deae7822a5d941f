package account

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Errors the account rules return, each with a message fit to show an admin.
var (
	// ErrInvalidTransition: the status change is not allowed from the
	// account's current status. The error returned is a *TransitionError.
	ErrInvalidTransition = errors.New("this status change is not allowed")
	// ErrSelfAction: an admin tried to block, deactivate or delete their own account.
	ErrSelfAction = errors.New("you cannot do this to your own account")
	// ErrLastAdmin: the change would leave no active administrator.
	ErrLastAdmin = errors.New("this is the last active administrator; give another active account an administrator role first")
	// ErrNotPasswordAccount: a password was set on an account that signs in another way.
	ErrNotPasswordAccount = errors.New("this account signs in with single sign-on, not a password")
)

// TransitionError says which status change was refused and why.
type TransitionError struct {
	Action string // block, unblock, deactivate, activate, set_password
	From   string // the account's status
}

func (e *TransitionError) Error() string {
	if e.From == store.StatusDeactivated {
		return fmt.Sprintf("cannot %s a deactivated account: deactivation is final", verb(e.Action))
	}
	return fmt.Sprintf("cannot %s an account that is %s", verb(e.Action), e.From)
}

// Is makes errors.Is(err, ErrInvalidTransition) hold.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

func verb(action string) string {
	if action == "set_password" {
		return "set the password of"
	}
	return action
}

// ConflictError: a value that must be unique is taken. It wraps
// store.ErrConflict, so errors.Is(err, store.ErrConflict) holds.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// Unwrap returns store.ErrConflict.
func (e *ConflictError) Unwrap() error { return store.ErrConflict }

// FieldProblem is one thing wrong with an input field.
type FieldProblem struct {
	Field   string // input field name, e.g. "email", "sites[1]"
	Code    string // stable: required, invalid, too_long, unknown, not_allowed, or a password policy code
	Message string
}

// ValidationError lists every problem found in an input, so a form or an
// API client can show them all at once.
type ValidationError struct {
	Problems []FieldProblem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// problems collects FieldProblems.
type problems []FieldProblem

func (p *problems) add(field, code, format string, args ...any) {
	*p = append(*p, FieldProblem{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}
