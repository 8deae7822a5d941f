package session

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// EndAllProviderSessions ends every session that signed in through
// providerID (a provider an administrator disabled or removed) and tells
// every process.
func (m *Manager) EndAllProviderSessions(ctx context.Context, providerID string) ([]string, error) {
	ps, ok := m.st.(store.ProviderSessions)
	if !ok {
		return nil, ErrNoProviderSessions
	}
	ids, err := ps.DeleteAllProviderSessions(ctx, providerID)
	m.cache.drop(ids...)
	if err != nil {
		return nil, fmt.Errorf("session: end all sessions of provider %s: %w", providerID, err)
	}
	m.ended(ctx, ids)
	return ids, nil
}
