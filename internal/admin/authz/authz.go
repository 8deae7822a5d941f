// Package authz decides what an admin API or panel caller may do: which
// capabilities their roles grant and which companies and accounts they manage.
package authz

import (
	"errors"
	"slices"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Errors the admin surfaces turn into 401 and 403.
var (
	// ErrUnauthenticated: no valid session or API token.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden: the caller is known but may not do this.
	ErrForbidden = errors.New("you are not allowed to do this")
)

// How a caller proved who they are.
const (
	ViaSession = "session"
	ViaToken   = "token"
)

// Caller is an authenticated account with its memberships, read once per
// request.
type Caller struct {
	Account     store.Account
	Memberships []store.Membership
	Via         string // ViaSession or ViaToken
	TokenID     string // the API token used, when Via is ViaToken
}

// Policy answers authorization questions under a role model. The rules
// are those of docs/authorization.md:
//   - a caller's power comes from their role in a company and stays
//     there; only an active account has any;
//   - the caller administers company X when their role in X grants both
//     admin_panel and manage_users;
//   - they see an account that has a membership in a company they
//     administer (Sees), and change the account as a whole only when they
//     administer every company it belongs to (ManagesAccount);
//   - an account with no membership is seen and managed only by a caller
//     holding manage_unaffiliated_accounts (no built-in role has it);
//   - a role given in X grants nothing the caller's own role in X does
//     not (Grants);
//   - a "full administrator" holds a role granting every admin capability
//     (admin_panel, manage_users, exports, integration_logs); only they
//     create companies.
type Policy struct {
	Roles *account.Model
}

func (p Policy) caps(c Caller, m store.Membership) []string {
	return p.Roles.Capabilities(m.Role, c.Account.Kind)
}

// Has reports whether any of the caller's roles grants capability.
func (p Policy) Has(c Caller, capability string) bool {
	return len(p.Companies(c, capability)) > 0
}

// Companies lists the companies where the caller's role grants capability.
func (p Policy) Companies(c Caller, capability string) []string {
	if c.Account.Status != store.StatusActive {
		return nil
	}
	var ids []string
	for _, m := range c.Memberships {
		if slices.Contains(p.caps(c, m), capability) {
			ids = append(ids, m.CompanyID)
		}
	}
	slices.Sort(ids)
	return ids
}

// HasIn reports whether the caller's role in company grants capability.
func (p Policy) HasIn(c Caller, company, capability string) bool {
	return slices.Contains(p.Companies(c, capability), company)
}

// Manages reports whether the caller administers company: their role
// there reaches the admin panel and manages users.
func (p Policy) Manages(c Caller, company string) bool {
	return p.HasIn(c, company, account.CapAdminPanel) && p.HasIn(c, company, account.CapManageUsers)
}

// IsAdmin reports whether the caller holds an administrator role somewhere.
func (p Policy) IsAdmin(c Caller) bool {
	if c.Account.Status != store.StatusActive {
		return false
	}
	return slices.ContainsFunc(c.Memberships, func(m store.Membership) bool { return p.Roles.IsAdmin(m.Role) })
}

// IsFullAdmin reports whether one of the caller's roles grants every
// administrative capability.
func (p Policy) IsFullAdmin(c Caller) bool {
	if c.Account.Status != store.StatusActive {
		return false
	}
	for _, m := range c.Memberships {
		caps := p.caps(c, m)
		if slices.Contains(caps, account.CapAdminPanel) && slices.Contains(caps, account.CapManageUsers) &&
			slices.Contains(caps, account.CapExports) && slices.Contains(caps, account.CapIntegrationLogs) {
			return true
		}
	}
	return false
}

// Sees reports whether the caller may see an account whose memberships
// are target: one of its companies is one they administer.
func (p Policy) Sees(c Caller, target []store.Membership) bool {
	if len(target) == 0 {
		return p.managesUnaffiliated(c)
	}
	return slices.ContainsFunc(target, func(m store.Membership) bool { return p.Manages(c, m.CompanyID) })
}

// ManagesAccount reports whether the caller may change an account whose
// memberships are target as a whole (profile, status, sign-in): they
// administer every company it belongs to.
func (p Policy) ManagesAccount(c Caller, target []store.Membership) bool {
	if len(target) == 0 {
		return p.managesUnaffiliated(c)
	}
	return !slices.ContainsFunc(target, func(m store.Membership) bool { return !p.Manages(c, m.CompanyID) })
}

// managesUnaffiliated: accounts with no company are nobody's but the
// holder of manage_unaffiliated_accounts', who also reaches the panel.
func (p Policy) managesUnaffiliated(c Caller) bool {
	return p.Has(c, account.CapManageUnaffiliated) && p.Has(c, account.CapAdminPanel) && p.Has(c, account.CapManageUsers)
}

// Grants reports whether the caller may give role in company: they
// administer it and the role grants nothing their own role there does not.
func (p Policy) Grants(c Caller, company, role string) bool {
	if !p.Manages(c, company) {
		return false
	}
	r, ok := p.Roles.Role(role)
	if !ok {
		// An unknown role grants nothing; the account rules report it.
		return true
	}
	for _, capability := range r.Capabilities {
		if !p.HasIn(c, company, capability) {
			return false
		}
	}
	return true
}
