package account

import (
	"errors"
	"fmt"

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
