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

// Policy answers authorization questions under a role model.
//
// The rules, kept deliberately simple:
//   - a capability is held when the caller's role in at least one company
//     grants it (an active account only);
//   - the caller manages company C when their role in C grants manage_users;
//   - the caller may see and act on an account that has a membership in a
//     company they manage; an account with no membership at all is visible
//     to any caller who is an administrator (account.Model.IsAdmin) somewhere;
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

// Manages reports whether the caller manages the users of company.
func (p Policy) Manages(c Caller, company string) bool {
	return p.HasIn(c, company, account.CapManageUsers)
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

// CanManage reports whether the caller may see and act on an account whose
// memberships are target.
func (p Policy) CanManage(c Caller, target []store.Membership) bool {
	if len(target) == 0 {
		return p.IsAdmin(c) && p.Has(c, account.CapManageUsers)
	}
	managed := p.Companies(c, account.CapManageUsers)
	return slices.ContainsFunc(target, func(m store.Membership) bool { return slices.Contains(managed, m.CompanyID) })
}
