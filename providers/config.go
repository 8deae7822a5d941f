package providers

import (
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// Config is one identity provider's entry under providers: in the
// configuration file (config.Provider is the same type).
type Config struct {
	ID             string            `yaml:"id"`
	Type           string            `yaml:"type"` // one of Types()
	DisplayName    string            `yaml:"display_name"`
	Issuer         string            `yaml:"issuer"`
	ClientID       string            `yaml:"client_id"`
	ClientSecret   secret.Value      `yaml:"client_secret"`
	Scopes         []string          `yaml:"scopes"`
	AllowedDomains []string          `yaml:"allowed_domains"`
	AllowedTenants []string          `yaml:"allowed_tenants"`
	RolesClaim     string            `yaml:"roles_claim"`
	RoleMap        map[string]string `yaml:"role_map"`
	JIT            JIT               `yaml:"jit"`
	// MFA is "enforced" when the provider itself requires a second factor
	// of everyone who signs in through it (a conditional-access policy,
	// say): its sign-ins then count as multi-factor whatever the ID
	// token's amr says. Empty: only an ID token whose amr names mfa
	// counts.
	MFA string `yaml:"mfa"`
}

// MFAEnforced is the value of Config.MFA for a provider that requires a
// second factor itself.
const MFAEnforced = "enforced"

// JIT creates accounts on first SSO login.
type JIT struct {
	Enabled bool   `yaml:"enabled"`
	Company string `yaml:"company"`
	Role    string `yaml:"role"`
}

// defaultScopes are asked for when an entry names none.
func defaultScopes() []string { return []string{"openid", "email", "profile"} }

// UnmarshalYAML starts each entry from its defaults, so an omitted key gets
// the default and an explicit value, even an empty one, stays.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	type plain Config
	v := plain{Scopes: defaultScopes()}
	if err := n.Decode(&v); err != nil {
		return err
	}
	*c = Config(v)
	return nil
}

// Problem is a rule of a provider type that an entry breaks. Key is the
// entry's key it is about ("allowed_tenants"); the configuration loader
// reports it at that key of the entry (providers[1].allowed_tenants).
type Problem struct {
	Key     string
	Message string
}
