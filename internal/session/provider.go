package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrNoProviderSessions: the store cannot find sessions by what their
// identity provider knows them by.
var ErrNoProviderSessions = errors.New("session: the store cannot end sessions by provider")

// EndProviderSessions ends the sessions that signed in through providerID
// with the provider session sid and/or the identity subject (an empty one
// matches any, one must be given), in the store, in this process and,
// through the bus, in every process sharing the store. It returns their
// ids. This is what an OpenID Connect back-channel logout asks for.
func (m *Manager) EndProviderSessions(ctx context.Context, providerID, sid, subject string) ([]string, error) {
	ps, ok := m.st.(store.ProviderSessions)
	if !ok {
		return nil, ErrNoProviderSessions
	}
	ids, err := ps.DeleteProviderSessions(ctx, providerID, sid, subject)
	m.cache.drop(ids...)
	if err != nil {
		// Which sessions matched is unknown here; the cached ones are
		// trusted no longer than CacheTTL without the store.
		return nil, fmt.Errorf("session: end sessions of provider %s: %w", providerID, err)
	}
	m.ended(ctx, ids)
	return ids, nil
}
