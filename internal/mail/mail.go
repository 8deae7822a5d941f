// Package mail renders Gatehouse's outgoing mail and delivers it: over SMTP,
// or into an outbox directory, through a retrying queue kept in the store.
package mail

import (
	"context"
	"errors"
)

// Message is one rendered mail to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers a message now. An error wrapping ErrPermanent will fail
// again however often it is retried; any other error is worth a retry.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a delivery failure that retrying cannot fix: a 5xx
// answer from the server, an invalid address.
var ErrPermanent = errors.New("mail: permanent failure")

// permanent wraps err so errors.Is(err, ErrPermanent) holds.
func permanent(err error) error {
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() []error {
	return []error{e.err, ErrPermanent}
}
