package account

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AllSites is the sites value of a role that sees every site of its company.
const AllSites = "*"

// MembershipView is one company an account belongs to, with what its role
// there grants. Sites is ["*"] for a role that sees every site, never nil.
type MembershipView struct {
	Company      string   `json:"company"`
	Role         string   `json:"role"`
	Capabilities []string `json:"capabilities"`
	Sites        []string `json:"sites"`
}

// Identity is what the gateway tells an app about an account, for the
// company the app's route belongs to.
type Identity struct {
	Account store.Account
	Company string
	// Role is empty, Capabilities nil and Sites empty when the account has
	// no membership in Company.
	Role         string
	Capabilities []string
	Sites        []string
	// MFARequired: the role in Company requires multi-factor sign-in.
	MFARequired bool
	Memberships []MembershipView
}

// Identity returns the account's identity as seen from companyID.
func (s *Service) Identity(ctx context.Context, accountID, companyID string) (Identity, error) {
	acc, err := s.st.GetAccount(ctx, accountID)
	if err != nil {
		return Identity{}, err
	}
	views, err := s.memberships(ctx, acc)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Account: acc, Company: companyID, Sites: []string{}, Memberships: views}
	for _, v := range views {
		if v.Company == companyID {
			id.Role, id.Capabilities, id.Sites = v.Role, v.Capabilities, v.Sites
			id.MFARequired = s.roles.RequiresMFA(v.Role)
		}
	}
	return id, nil
}

// RequiresMFA reports whether any role the account holds, in any company,
// requires multi-factor sign-in: such an account sets up a second factor
// before it reaches anything.
func (s *Service) RequiresMFA(ctx context.Context, accountID string) (bool, error) {
	ms, err := s.st.ListMemberships(ctx, accountID)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if s.roles.RequiresMFA(m.Role) {
			return true, nil
		}
	}
	return false, nil
}

// Memberships lists every company the account belongs to, for whoami.
func (s *Service) Memberships(ctx context.Context, accountID string) ([]MembershipView, error) {
	acc, err := s.st.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return s.memberships(ctx, acc)
}

func (s *Service) memberships(ctx context.Context, acc store.Account) ([]MembershipView, error) {
	ms, err := s.st.ListMemberships(ctx, acc.ID)
	if err != nil {
		return nil, err
	}
	var granted []string // site ids, read once and only when a role needs them
	var grantedRead bool
	views := make([]MembershipView, 0, len(ms))
	for _, m := range ms {
		v := MembershipView{
			Company:      m.CompanyID,
			Role:         m.Role,
			Capabilities: s.roles.Capabilities(m.Role, acc.Kind),
			Sites:        []string{},
		}
		if v.Capabilities == nil {
			// A role the model no longer has grants nothing.
			v.Capabilities = []string{}
		}
		if r, ok := s.roles.Role(m.Role); ok && r.AllSites {
			v.Sites = []string{AllSites}
			views = append(views, v)
			continue
		}
		if !grantedRead {
			if granted, err = s.st.ListSiteAccess(ctx, acc.ID); err != nil {
				return nil, err
			}
			grantedRead = true
		}
		if len(granted) > 0 {
			sites, err := s.st.ListSites(ctx, m.CompanyID)
			if err != nil {
				return nil, err
			}
			for _, site := range sites {
				if slices.Contains(granted, site.ID) {
					v.Sites = append(v.Sites, site.ID)
				}
			}
		}
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b MembershipView) int { return strings.Compare(a.Company, b.Company) })
	return views, nil
}

// DisplayName is the account's full name as people read it.
func DisplayName(a store.Account) string {
	return strings.TrimSpace(a.FirstName + " " + a.LastName)
}
