// Package apperr holds the errors of the gateway's operations that are
// neither a domain rule nor a store failure: a missing CSRF token, a
// missing company, a feature this gateway was built without, a rate
// limit. It imports nothing of Gatehouse, so the services that return
// these errors and httperr, which answers them, both sit above it.
package apperr

import (
	"errors"
	"time"
)

// ErrCSRF is the refusal a transport records when a browser change comes
// without a valid CSRF token.
var ErrCSRF = errors.New("csrf")

// ErrCompanyRequired: the caller administers several companies and did
// not name the one the call concerns.
var ErrCompanyRequired = errors.New("you administer several companies; name one")

// ErrUnavailable: the gateway was built without what the operation needs
// (API tokens, properties, passkeys).
var ErrUnavailable = errors.New("not available on this gateway")

// RateLimitError refuses an operation over a rate limit; nothing was done.
// RetryAfter says when it may work again.
type RateLimitError struct {
	Message    string
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return e.Message }
