// Package account holds the domain rules for accounts, companies, sites and
// the role model: who may hold which role, and which status changes are allowed.
package account

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Capability names: what a role lets its holder do. The apps behind the
// gateway read them from the assertion's `capabilities` claim.
const (
	CapView                 = "view"
	CapDownload             = "download"
	CapComment              = "comment"
	CapBeAssignedTasks      = "be_assigned_tasks"
	CapSignDocuments        = "sign_documents"
	CapEditObjects          = "edit_objects"
	CapManageWorkflows      = "manage_workflows"
	CapBeResponsible        = "be_responsible"
	CapReceiveNotifications = "receive_notifications"
	CapAdminPanel           = "admin_panel"
	CapManageUsers          = "manage_users"
	CapExports              = "exports"
	CapIntegrationLogs      = "integration_logs"
	// CapManageIntegrations lets an administrator add, change, disable and
	// remove identity providers from the panel and the API.
	CapManageIntegrations = "manage_integrations"
	// CapManageUnaffiliated lets an administrator manage accounts that
	// belong to no company. It is the one capability that is not about the
	// company where the role is held, so no built-in role grants it: an
	// account with no membership is otherwise the operator's, through the
	// command line.
	CapManageUnaffiliated = "manage_unaffiliated_accounts"
)

// AllCapabilities lists every known capability, in a stable order.
func AllCapabilities() []string {
	return []string{
		CapView, CapDownload, CapComment, CapBeAssignedTasks, CapSignDocuments,
		CapEditObjects, CapManageWorkflows, CapBeResponsible, CapReceiveNotifications,
		CapAdminPanel, CapManageUsers, CapExports, CapIntegrationLogs, CapManageIntegrations, CapManageUnaffiliated,
	}
}

// neverShared are the capabilities a shared-computer account can never
// have, whatever a model says: a workstation is not a person, so it cannot
// be given work, be accountable or be notified.
var neverShared = []string{CapBeAssignedTasks, CapBeResponsible, CapReceiveNotifications}

// Model is a role model: the roles an account can hold in a company.
type Model struct {
	Name  string `yaml:"name"`
	Roles []Role `yaml:"roles"`
}

// Role is one role of a model.
type Role struct {
	Name         string   `yaml:"name"`
	Capabilities []string `yaml:"capabilities"`
	// AllSites: the holder sees every site of the company (`sites: ["*"]`);
	// otherwise only the sites it was given access to.
	AllSites bool `yaml:"all_sites"`
	// SharedComputer: the role may be held by a shared-computer account.
	SharedComputer bool `yaml:"shared_computer"`
	// Labels name the role for people, per language (en, fr, ja); the
	// catalogues name the built-in models' roles.
	Labels map[string]string `yaml:"labels"`
	// MFA is "required" when holders must sign in with more than one
	// factor (a password and a code, a passkey, or an SSO sign-in the
	// provider vouches for); empty when one factor is enough.
	MFA string `yaml:"mfa"`
}

// Label is the role's label in lang from the model, "" when it has none.
func (m *Model) Label(role, lang string) string {
	r, _ := m.Role(role)
	return r.Labels[lang]
}

// MFARequired is the value of Role.MFA that requires multi-factor sign-in.
const MFARequired = "required"

// Built-in model names.
const (
	ModelStandard   = "standard"
	ModelSiteScoped = "site-scoped"
)

// Standard returns the built-in default model, as the contract's Roles table has it.
func Standard() *Model {
	shared := []string{CapView, CapDownload, CapComment}
	viewer := append(slices.Clone(shared), CapBeAssignedTasks, CapSignDocuments, CapReceiveNotifications)
	manager := append(slices.Clone(viewer), CapEditObjects, CapManageWorkflows, CapBeResponsible)
	return &Model{
		Name: ModelStandard,
		Roles: []Role{
			{Name: "shared_computer", Capabilities: shared, AllSites: true, SharedComputer: true},
			{Name: "viewer", Capabilities: viewer, AllSites: true},
			{Name: "manager", Capabilities: manager, AllSites: true},
			{Name: "admin", Capabilities: slices.DeleteFunc(AllCapabilities(), func(c string) bool { return c == CapManageUnaffiliated }), AllSites: true},
		},
	}
}

//go:embed roles/site-scoped.yaml
var builtinModels embed.FS

// LoadModel returns the model named "standard" or "site-scoped" (built in),
// or reads a YAML model file at the given path.
func LoadModel(nameOrPath string) (*Model, error) {
	switch nameOrPath {
	case ModelStandard, "":
		return Standard(), nil
	case ModelSiteScoped:
		data, err := builtinModels.ReadFile("roles/site-scoped.yaml")
		if err != nil {
			return nil, err
		}
		return ParseModel(data, ModelSiteScoped)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("role model: %w", err)
	}
	m, err := ParseModel(data, strings.TrimSuffix(filepath.Base(nameOrPath), filepath.Ext(nameOrPath)))
	if err != nil {
		return nil, fmt.Errorf("role model %s: %w", nameOrPath, err)
	}
	return m, nil
}

var roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ParseModel reads a YAML model strictly: unknown keys, unknown
// capabilities and repeated role names are errors, all reported together.
// defaultName names the model when the file does not.
func ParseModel(data []byte, defaultName string) (*Model, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Model
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty role model")
		}
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("a role model file holds one YAML document")
	}
	if m.Name == "" {
		m.Name = defaultName
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Model) validate() error {
	var problems []string
	if len(m.Roles) == 0 {
		problems = append(problems, "roles: at least one role is needed")
	}
	known := AllCapabilities()
	seen := map[string]bool{}
	for i, r := range m.Roles {
		switch {
		case !roleNameRE.MatchString(r.Name):
			problems = append(problems, fmt.Sprintf("roles[%d].name: %q is not a role name (lower case letters, digits, _ and -)", i, r.Name))
		case seen[r.Name]:
			problems = append(problems, fmt.Sprintf("roles[%d].name: role %q is defined twice", i, r.Name))
		}
		seen[r.Name] = true
		if r.MFA != "" && r.MFA != MFARequired {
			problems = append(problems, fmt.Sprintf("roles[%d].mfa: must be %q or absent", i, MFARequired))
		}
		for j, c := range r.Capabilities {
			if !slices.Contains(known, c) {
				problems = append(problems, fmt.Sprintf("roles[%d].capabilities[%d]: unknown capability %q", i, j, c))
			}
		}
		for _, lang := range slices.Sorted(maps.Keys(r.Labels)) {
			if l := r.Labels[lang]; !slices.Contains(languages, lang) || strings.TrimSpace(l) == "" || len(l) > 100 {
				problems = append(problems, fmt.Sprintf("roles[%d].labels.%s: a label is 1 to 100 characters, in en, fr or ja", i, lang))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Role returns the named role.
func (m *Model) Role(name string) (Role, bool) {
	for _, r := range m.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// RequiresMFA reports whether holders of the role must sign in with more
// than one factor.
func (m *Model) RequiresMFA(role string) bool {
	r, ok := m.Role(role)
	return ok && r.MFA == MFARequired
}

// RoleNames lists the model's roles in order.
func (m *Model) RoleNames() []string {
	names := make([]string, len(m.Roles))
	for i, r := range m.Roles {
		names[i] = r.Name
	}
	return names
}

// Capabilities returns what the role grants to an account of the given
// kind: nil for an unknown role, and never be_assigned_tasks,
// be_responsible or receive_notifications for a shared computer.
func (m *Model) Capabilities(role, kind string) []string {
	r, ok := m.Role(role)
	if !ok {
		return nil
	}
	caps := make([]string, 0, len(r.Capabilities))
	for _, c := range r.Capabilities {
		if kind == store.KindSharedComputer && slices.Contains(neverShared, c) {
			continue
		}
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	return caps
}

// AllowedForKind reports whether an account of this kind may hold the
// role. A shared-computer role is for shared computers only: a person
// given it would lose be_assigned_tasks and the like only if the account
// were a shared computer, so on a personal account it would mean nothing
// the role model says.
func (m *Model) AllowedForKind(role, kind string) bool {
	r, ok := m.Role(role)
	if !ok {
		return false
	}
	return r.SharedComputer == (kind == store.KindSharedComputer)
}

// RolesForKind lists, in the model's order, the roles an account of this
// kind may hold.
func (m *Model) RolesForKind(kind string) []string {
	var names []string
	for _, r := range m.Roles {
		if m.AllowedForKind(r.Name, kind) {
			names = append(names, r.Name)
		}
	}
	return names
}

// DefaultRole is the role forms offer first for an account of this kind:
// the least privileged one it may hold, the one granting the fewest
// capabilities (the first in the model's order on a tie), so a click
// through a form never grants more than needed.
func (m *Model) DefaultRole(kind string) string {
	best, fewest := "", 0
	for _, r := range m.Roles {
		if !m.AllowedForKind(r.Name, kind) {
			continue
		}
		if n := len(m.Capabilities(r.Name, kind)); best == "" || n < fewest {
			best, fewest = r.Name, n
		}
	}
	return best
}

// kindRefusal adds to ps why an account of this kind cannot hold role.
func (m *Model) kindRefusal(ps *validation.Problems, field, role, kind string) {
	if kind == store.KindSharedComputer {
		ps.Add(field, "not_allowed", "role %q cannot be held by a shared-computer account; roles allowed for shared computers: %s",
			role, strings.Join(m.RolesForKind(kind), ", "))
		return
	}
	ps.Add(field, "not_allowed", "role %q is for shared-computer accounts only; roles for a personal account: %s",
		role, strings.Join(m.RolesForKind(kind), ", "))
}

// IsAdmin reports whether the role administers accounts: it reaches the
// admin panel and manages users. The last active holder of such a role
// cannot be blocked, deactivated or deleted.
func (m *Model) IsAdmin(role string) bool {
	r, ok := m.Role(role)
	return ok && slices.Contains(r.Capabilities, CapAdminPanel) && slices.Contains(r.Capabilities, CapManageUsers)
}
