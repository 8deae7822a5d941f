package storetest

import (
	"context"
	"sync"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AuditLog is an in-memory store.Audit for unit tests of components that
// audit, where a database would only slow the test down.
type AuditLog struct {
	mu     sync.Mutex
	events []store.AuditEvent
}

var _ store.Audit = (*AuditLog)(nil)

// AppendAudit records e.
func (a *AuditLog) AppendAudit(_ context.Context, e store.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// ListAudit returns every recorded event, oldest first; the query is
// ignored.
func (a *AuditLog) ListAudit(context.Context, store.AuditQuery) ([]store.AuditEvent, error) {
	return a.Events(), nil
}

// Events returns a copy of the recorded events, oldest first.
func (a *AuditLog) Events() []store.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]store.AuditEvent(nil), a.events...)
}
