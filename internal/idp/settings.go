// Package idp keeps the gateway's identity providers current: those of
// the configuration file, fixed at start, and those administrators add
// from the panel, stored with their client secret sealed and rebuilt on
// every replica when the store announces a change.
package idp

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/gatehouse/gatehouse/providers"
)

// Settings are a provider's keys as the API takes them and the store
// keeps them: the configuration file's keys, without the id (the record's)
// and without the client secret (sealed apart, never shown).
type Settings struct {
	Type           string            `json:"type"`
	DisplayName    string            `json:"display_name"`
	Issuer         string            `json:"issuer"`
	ClientID       string            `json:"client_id"`
	Scopes         []string          `json:"scopes"`
	AllowedDomains []string          `json:"allowed_domains"`
	AllowedTenants []string          `json:"allowed_tenants"`
	RolesClaim     string            `json:"roles_claim"`
	RoleMap        map[string]string `json:"role_map"`
	JIT            JIT               `json:"jit"`
}

// JIT is jit: of a provider entry.
type JIT struct {
	Enabled bool   `json:"enabled"`
	Company string `json:"company"`
	Role    string `json:"role"`
}

// Config is the provider entry these settings make for id, with the
// defaults of the configuration file (scopes, display name).
func (s Settings) Config(id string) providers.Config {
	c := providers.Config{
		ID: id, Type: s.Type, DisplayName: s.DisplayName, Issuer: s.Issuer, ClientID: s.ClientID,
		Scopes: slices.Clone(s.Scopes), AllowedDomains: slices.Clone(s.AllowedDomains),
		AllowedTenants: slices.Clone(s.AllowedTenants), RolesClaim: s.RolesClaim, RoleMap: maps.Clone(s.RoleMap),
		JIT: providers.JIT{Enabled: s.JIT.Enabled, Company: s.JIT.Company, Role: s.JIT.Role},
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "email", "profile"}
	}
	providers.SetDefaults(&c)
	return c
}

// SettingsOf is the settings of an entry, its secret left out.
func SettingsOf(c providers.Config) Settings {
	return Settings{
		Type: c.Type, DisplayName: c.DisplayName, Issuer: c.Issuer, ClientID: c.ClientID,
		Scopes: slices.Clone(c.Scopes), AllowedDomains: slices.Clone(c.AllowedDomains),
		AllowedTenants: slices.Clone(c.AllowedTenants), RolesClaim: c.RolesClaim, RoleMap: maps.Clone(c.RoleMap),
		JIT: JIT{Enabled: c.JIT.Enabled, Company: c.JIT.Company, Role: c.JIT.Role},
	}
}

// Encode is the settings as the store keeps them.
func (s Settings) Encode() ([]byte, error) { return json.Marshal(s) }

// Decode reads stored settings.
func Decode(b []byte) (Settings, error) {
	var s Settings
	err := json.Unmarshal(b, &s)
	return s, err
}
