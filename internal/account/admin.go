package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ProfileUpdate is what an administrator may change on an account. A nil
// field is left as it is.
type ProfileUpdate struct {
	Email      *string
	FirstName  *string
	LastName   *string
	Language   *string
	DateFormat *string
	TimeZone   *string // an IANA name
}

// UpdateProfile validates and applies u in one transaction; a rejected
// update changes nothing. A taken email gives a *ConflictError.
func (s *Service) UpdateProfile(ctx context.Context, actor, id string, u ProfileUpdate) (store.Account, error) {
	return s.UpdateProfileWith(ctx, actor, id, u, nil)
}

// UpdateProfileWith is UpdateProfile that also runs also, when not nil,
// in the same transaction: an error from it undoes the profile change.
func (s *Service) UpdateProfileWith(ctx context.Context, actor, id string, u ProfileUpdate, also func(tx store.Store) error) (store.Account, error) {
	trim := func(p *string) *string {
		if p == nil {
			return nil
		}
		v := strings.TrimSpace(*p)
		return &v
	}
	u.Email, u.FirstName, u.LastName = trim(u.Email), trim(u.FirstName), trim(u.LastName)
	var ps validation.Problems
	if u.Email != nil {
		checkEmail(&ps, *u.Email)
	}
	// An empty name is refused below, unless it was already empty: an
	// invitee's names may wait for the set-password page.
	if u.FirstName != nil {
		checkOptionalName(&ps, "first_name", termFirstName, *u.FirstName)
	}
	if u.LastName != nil {
		checkOptionalName(&ps, "last_name", termLastName, *u.LastName)
	}
	if u.Language != nil && !slices.Contains(languages, *u.Language) {
		ps.Add("language", "invalid", "language must be one of %s", strings.Join(languages, ", "))
	}
	if u.DateFormat != nil && !dateformat.Valid(*u.DateFormat) {
		ps.Add("date_format", "invalid", "date format must be one of %s", strings.Join(dateformat.All(), ", "))
	}
	if u.TimeZone != nil && !dateformat.ValidZone(*u.TimeZone) {
		ps.Add("time_zone", "invalid", "%q is not a time zone name such as Europe/Paris", *u.TimeZone)
	}
	if err := ps.Err(); err != nil {
		return store.Account{}, err
	}
	var acc store.Account
	err := s.st.InTx(ctx, func(tx store.Store) error {
		cur, err := tx.GetAccount(ctx, id)
		if err != nil {
			return err
		}
		var emptied validation.Problems
		if u.FirstName != nil && *u.FirstName == "" && cur.FirstName != "" {
			checkName(&emptied, "first_name", termFirstName, "")
		}
		if u.LastName != nil && *u.LastName == "" && cur.LastName != "" {
			checkName(&emptied, "last_name", termLastName, "")
		}
		if err := emptied.Err(); err != nil {
			return err
		}
		if u.Email != nil && !strings.EqualFold(*u.Email, cur.Email) {
			other, err := tx.GetAccountByEmail(ctx, *u.Email)
			switch {
			case err == nil && other.ID != id:
				return errDuplicateEmail
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		now := s.now().UTC()
		changed := map[string]any{}
		acc, err = tx.UpdateAccount(ctx, id, func(a *store.Account) error {
			set := func(field string, dst *string, v *string) {
				if v != nil && *dst != *v {
					changed[field] = map[string]string{"from": *dst, "to": *v}
					*dst = *v
				}
			}
			set("email", &a.Email, u.Email)
			set("first_name", &a.FirstName, u.FirstName)
			set("last_name", &a.LastName, u.LastName)
			set("language", &a.Language, u.Language)
			set("date_format", &a.DateFormat, u.DateFormat)
			set("time_zone", &a.TimeZone, u.TimeZone)
			a.UpdatedAt = now
			return nil
		})
		if errors.Is(err, store.ErrConflict) {
			return errDuplicateEmail
		}
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, s.event(ctx, now, actor, "account.update", id, map[string]any{"changed": changed})); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return acc, nil
}

// MembershipInput is a role in one company with the sites granted there.
type MembershipInput struct {
	Company string
	Role    string
	Sites   []string
}

// CheckMemberships validates memberships for an account of the given kind
// without changing anything, so a caller can refuse a whole request before
// its first write. field prefixes the problem paths ("memberships").
func (s *Service) CheckMemberships(ctx context.Context, kind, field string, ms []MembershipInput) error {
	var ps validation.Problems
	if err := s.checkMemberships(ctx, s.st, kind, field, ms, &ps); err != nil {
		return err
	}
	return ps.Err()
}

func (s *Service) checkMemberships(ctx context.Context, st store.Store, kind, field string, ms []MembershipInput, ps *validation.Problems) error {
	seen := map[string]bool{}
	for i, m := range ms {
		path := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case m.Company == "":
			ps.Add(path+".company", "required", "a company is required")
		case seen[m.Company]:
			ps.Add(path+".company", "invalid", "company %q is named twice", m.Company)
		default:
			seen[m.Company] = true
			if _, err := st.GetCompany(ctx, m.Company); errors.Is(err, store.ErrNotFound) {
				ps.Add(path+".company", "unknown", "company %q does not exist", m.Company)
				continue
			} else if err != nil {
				return err
			}
		}
		switch {
		case m.Role == "":
			ps.Add(path+".role", "required", "a role is required")
		case !s.hasRole(m.Role):
			ps.Add(path+".role", "unknown", "unknown role %q; the %s role model has: %s", m.Role, s.roles.Name, strings.Join(s.roles.RoleNames(), ", "))
		case !s.roles.AllowedForKind(m.Role, kind):
			s.roles.kindRefusal(ps, path+".role", m.Role, kind)
		}
		for j, site := range m.Sites {
			sp := fmt.Sprintf("%s.sites[%d]", path, j)
			got, err := st.GetSite(ctx, site)
			switch {
			case errors.Is(err, store.ErrNotFound):
				ps.Add(sp, "unknown", "site %q does not exist", site)
			case err != nil:
				return err
			case got.CompanyID != m.Company:
				ps.Add(sp, "not_allowed", "site %q belongs to another company", site)
			}
		}
	}
	return nil
}

// SetMembership gives the account role in the company and replaces its
// site access there with sites. The role must suit the account's kind, and
// the last active administrator cannot be demoted.
func (s *Service) SetMembership(ctx context.Context, actor, accountID string, m MembershipInput) error {
	return s.st.InTx(ctx, func(tx store.Store) error {
		acc, err := tx.GetAccount(ctx, accountID)
		if err != nil {
			return err
		}
		var ps validation.Problems
		if err := s.checkMemberships(ctx, tx, acc.Kind, "membership", []MembershipInput{m}, &ps); err != nil {
			return err
		}
		if err := ps.Err(); err != nil {
			return err
		}
		if !s.roles.IsAdmin(m.Role) {
			if err := s.guardDemotion(ctx, tx, acc, m.Company); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		if err := tx.SetMembership(ctx, store.Membership{AccountID: accountID, CompanyID: m.Company, Role: m.Role, CreatedAt: now}); err != nil {
			return err
		}
		if err := s.replaceSites(ctx, tx, accountID, m.Company, m.Sites); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, now, actor, "account.membership.set", accountID, map[string]any{
			"company": m.Company, "role": m.Role, "sites": m.Sites,
		}).In(m.Company))
	})
}

// RemoveMembership takes the account out of the company, with its site
// access there. The last active administrator cannot be removed.
func (s *Service) RemoveMembership(ctx context.Context, actor, accountID, companyID string) error {
	return s.st.InTx(ctx, func(tx store.Store) error {
		acc, err := tx.GetAccount(ctx, accountID)
		if err != nil {
			return err
		}
		ms, err := tx.ListMemberships(ctx, accountID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ms, func(m store.Membership) bool { return m.CompanyID == companyID }) {
			return store.ErrNotFound
		}
		if err := s.guardDemotion(ctx, tx, acc, companyID); err != nil {
			return err
		}
		if err := tx.RemoveMembership(ctx, accountID, companyID); err != nil {
			return err
		}
		if err := s.replaceSites(ctx, tx, accountID, companyID, nil); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, s.now().UTC(), actor, "account.membership.remove", accountID, map[string]any{"company": companyID}).In(companyID))
	})
}

// guardDemotion refuses to take away the administrator role the account
// holds in companyID when it is that company's last active administrator.
func (s *Service) guardDemotion(ctx context.Context, tx store.Store, acc store.Account, companyID string) error {
	if acc.Status != store.StatusActive {
		return nil
	}
	ms, err := tx.ListMemberships(ctx, acc.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ms, func(m store.Membership) bool { return m.CompanyID == companyID && s.roles.IsAdmin(m.Role) }) {
		return nil
	}
	return s.keepsAdmin(ctx, tx, companyID, acc.ID)
}

// replaceSites makes the account's access among the company's sites
// exactly sites.
func (s *Service) replaceSites(ctx context.Context, tx store.Store, accountID, companyID string, sites []string) error {
	all, err := tx.ListSites(ctx, companyID)
	if err != nil {
		return err
	}
	granted, err := tx.ListSiteAccess(ctx, accountID)
	if err != nil {
		return err
	}
	for _, site := range all {
		want, has := slices.Contains(sites, site.ID), slices.Contains(granted, site.ID)
		switch {
		case want && !has:
			if err := tx.GrantSite(ctx, accountID, site.ID); err != nil {
				return err
			}
		case !want && has:
			if err := tx.RevokeSite(ctx, accountID, site.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetSiteMembers makes accountIDs exactly the accounts with access to the
// site (the "check the accounts" view of a site). Every account must be a
// member of the site's company.
func (s *Service) SetSiteMembers(ctx context.Context, actor, siteID string, accountIDs []string) error {
	return s.st.InTx(ctx, func(tx store.Store) error {
		site, err := tx.GetSite(ctx, siteID)
		if err != nil {
			return err
		}
		members, err := tx.ListCompanyMembers(ctx, site.CompanyID)
		if err != nil {
			return err
		}
		var ps validation.Problems
		for i, id := range accountIDs {
			if !slices.ContainsFunc(members, func(m store.Membership) bool { return m.AccountID == id }) {
				ps.Add(fmt.Sprintf("accounts[%d]", i), "not_allowed", "account %q is not a member of company %q", id, site.CompanyID)
			}
		}
		if err := ps.Err(); err != nil {
			return err
		}
		current, err := tx.ListSiteMembers(ctx, siteID)
		if err != nil {
			return err
		}
		for _, id := range accountIDs {
			if !slices.Contains(current, id) {
				if err := tx.GrantSite(ctx, id, siteID); err != nil {
					return err
				}
			}
		}
		for _, id := range current {
			if !slices.Contains(accountIDs, id) {
				if err := tx.RevokeSite(ctx, id, siteID); err != nil {
					return err
				}
			}
		}
		return tx.AppendAudit(ctx, s.event(ctx, s.now().UTC(), actor, "site.members.set", siteID, map[string]any{"accounts": accountIDs}).In(site.CompanyID))
	})
}

type auditIPKey struct{}

// WithAuditIP returns ctx carrying the client address of the request that
// caused the changes, so the audit events they record say where from.
func WithAuditIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, auditIPKey{}, ip)
}

// AuditIP returns the address WithAuditIP stored, or "".
func AuditIP(ctx context.Context) string {
	ip, _ := ctx.Value(auditIPKey{}).(string)
	return ip
}
