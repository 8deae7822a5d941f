// Package docs embeds the guides the admin panel shows: how to register
// Gatehouse with each kind of identity provider.
package docs

import (
	"embed"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

//go:embed providers/*.md
var guides embed.FS

// guideNames are the guides there are, one per provider type.
var guideNames = []string{"google", "microsoft", "auth0", "oidc"}

// ProviderGuide returns the guide of a provider type (store.ErrNotFound
// for any other name).
func ProviderGuide(name string) (string, error) {
	if !slices.Contains(guideNames, name) {
		return "", fmt.Errorf("guide %q: %w", name, store.ErrNotFound)
	}
	b, err := guides.ReadFile("providers/" + name + ".md")
	if err != nil {
		return "", fmt.Errorf("guide %q: %w", name, store.ErrNotFound)
	}
	return string(b), nil
}
