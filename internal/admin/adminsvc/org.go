package adminsvc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// CompanyJSON is a company as the API shows it.
type CompanyJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// SiteJSON is a site as the API shows it.
type SiteJSON struct {
	ID        string    `json:"id"`
	Company   string    `json:"company"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// MemberJSON is an account's place in a company or on a site.
type MemberJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"role"`
	// AllSites: the role sees every site of the company, whatever is checked.
	AllSites bool `json:"all_sites"`
	// Access: the account may reach the site (checked, or AllSites).
	Access bool `json:"access"`
}

const maxNameLen = 100

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkLabel(field, v string) error {
	switch {
	case v == "":
		return validation.One(field, "required", "a name is required")
	case utf8.RuneCountInString(v) > maxNameLen:
		return validation.One(field, "too_long", "the name must be at most %d characters", maxNameLen)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		return validation.One(field, "invalid", "the name contains characters that are not allowed")
	}
	return nil
}

// ListCompanies lists the companies the caller manages.
func (s *Service) ListCompanies(ctx context.Context, c authz.Caller) (_ []CompanyJSON, err error) {
	if err = s.Permit(c, OpCompanyList); err != nil {
		return
	}
	all, err := s.Store.ListCompanies(ctx)
	if err != nil {
		return nil, err
	}
	out := []CompanyJSON{}
	for _, co := range all {
		if s.Policy.Manages(c, co.ID) {
			out = append(out, CompanyJSON{ID: co.ID, Name: co.Name, CreatedAt: co.CreatedAt.UTC()})
		}
	}
	return out, nil
}

// CreateCompany creates a company; only full administrators may, and the
// creator becomes its admin so it is never left unmanaged.
func (s *Service) CreateCompany(ctx context.Context, c authz.Caller, id, name string) (_ CompanyJSON, err error) {
	defer s.finish(ctx, c, OpCompanyCreate, id, &err)
	if err = s.Permit(c, OpCompanyCreate); err != nil {
		return
	}
	if !s.CreatesCompanies(c) {
		return CompanyJSON{}, authz.ErrForbidden
	}
	id, name = strings.TrimSpace(id), strings.TrimSpace(name)
	var ps []validation.Problem
	if !slugRE.MatchString(id) {
		ps = append(ps, validation.New("id", "invalid", "the id must be lower case letters, digits and -, at most 63 characters"))
	}
	var ve *validation.Error
	if err := checkLabel("name", name); errors.As(err, &ve) {
		ps = append(ps, ve.Problems...)
	} else if err != nil {
		return CompanyJSON{}, err
	}
	if len(ps) > 0 {
		return CompanyJSON{}, &validation.Error{Problems: ps}
	}
	role := s.fullAdminRole(c)
	co := store.Company{ID: id, Name: name, CreatedAt: s.Now().UTC()}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateCompany(ctx, co); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &account.ConflictError{Field: "id", Message: fmt.Sprintf("company %q already exists", id)}
			}
			return err
		}
		if err := tx.SetMembership(ctx, store.Membership{AccountID: c.Account.ID, CompanyID: id, Role: role, CreatedAt: co.CreatedAt}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, "company.create", id, "ok", map[string]any{"name": name, "creator_role": role}).In(id))
	})
	if err != nil {
		return CompanyJSON{}, err
	}
	return CompanyJSON{ID: co.ID, Name: co.Name, CreatedAt: co.CreatedAt}, nil
}

// fullAdminRole is the caller's role that grants every admin capability.
func (s *Service) fullAdminRole(c authz.Caller) string {
	for _, m := range c.Memberships {
		one := c
		one.Memberships = []store.Membership{m}
		if s.Policy.IsFullAdmin(one) {
			return m.Role
		}
	}
	return ""
}

// RenameCompany renames a company the caller manages.
func (s *Service) RenameCompany(ctx context.Context, c authz.Caller, id, name string) (_ CompanyJSON, err error) {
	defer s.finish(ctx, c, OpCompanyRename, id, &err)
	if err = s.Permit(c, OpCompanyRename); err != nil {
		return
	}
	if err := s.company(ctx, c, id); err != nil {
		return CompanyJSON{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkLabel("name", name); err != nil {
		return CompanyJSON{}, err
	}
	var co store.Company
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.RenameCompany(ctx, id, name); err != nil {
			return err
		}
		var err error
		if co, err = tx.GetCompany(ctx, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, "company.rename", id, "ok", map[string]any{"name": name}).In(id))
	})
	if err != nil {
		return CompanyJSON{}, err
	}
	return CompanyJSON{ID: co.ID, Name: co.Name, CreatedAt: co.CreatedAt.UTC()}, nil
}

// company checks the caller administers company id: one they do not is
// not found, exactly like one that does not exist.
func (s *Service) company(ctx context.Context, c authz.Caller, id string) error {
	if !s.Policy.Manages(c, id) {
		return hidden{authz.ErrForbidden}
	}
	_, err := s.Store.GetCompany(ctx, id)
	return err
}

// CompanyMembers lists the accounts of a company the caller manages.
func (s *Service) CompanyMembers(ctx context.Context, c authz.Caller, id string) (_ []MemberJSON, err error) {
	if err = s.Permit(c, OpCompanyMembers); err != nil {
		return
	}
	if err := s.company(ctx, c, id); err != nil {
		return nil, err
	}
	members, err := s.Store.ListCompanyMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.members(ctx, members, "")
}

// members describes memberships; with siteID it also says who reaches that site.
func (s *Service) members(ctx context.Context, ms []store.Membership, siteID string) ([]MemberJSON, error) {
	var onSite []string
	if siteID != "" {
		var err error
		if onSite, err = s.Store.ListSiteMembers(ctx, siteID); err != nil {
			return nil, err
		}
	}
	out := []MemberJSON{}
	for _, m := range ms {
		a, err := s.Store.GetAccount(ctx, m.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r, _ := s.Accounts.Roles().Role(m.Role)
		mj := MemberJSON{ID: a.ID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName, Role: m.Role, AllSites: r.AllSites}
		mj.Access = r.AllSites || slices.Contains(onSite, a.ID)
		out = append(out, mj)
	}
	slices.SortFunc(out, func(a, b MemberJSON) int { return strings.Compare(a.Email, b.Email) })
	return out, nil
}

// ListSites lists the sites of the companies the caller manages, or of one.
func (s *Service) ListSites(ctx context.Context, c authz.Caller, company string) (_ []SiteJSON, err error) {
	if err = s.Permit(c, OpSiteList); err != nil {
		return
	}
	companies := s.Policy.Companies(c, account.CapManageUsers)
	if company != "" {
		if !slices.Contains(companies, company) {
			return nil, authz.ErrForbidden
		}
		companies = []string{company}
	}
	out := []SiteJSON{}
	for _, co := range companies {
		sites, err := s.Store.ListSites(ctx, co)
		if err != nil {
			return nil, err
		}
		for _, site := range sites {
			out = append(out, siteJSON(site))
		}
	}
	return out, nil
}

func siteJSON(s store.Site) SiteJSON {
	return SiteJSON{ID: s.ID, Company: s.CompanyID, Name: s.Name, CreatedAt: s.CreatedAt.UTC()}
}

// CreateSite adds a site to a company the caller manages.
func (s *Service) CreateSite(ctx context.Context, c authz.Caller, company, name string) (_ SiteJSON, err error) {
	defer s.finish(ctx, c, OpSiteCreate, company, &err)
	if err = s.Permit(c, OpSiteCreate); err != nil {
		return
	}
	name = strings.TrimSpace(name)
	var ps []validation.Problem
	if company == "" {
		ps = append(ps, validation.New("company", "required", "a company is required"))
	} else if err := s.company(ctx, c, company); err != nil {
		return SiteJSON{}, err
	}
	var ve *validation.Error
	if err := checkLabel("name", name); errors.As(err, &ve) {
		ps = append(ps, ve.Problems...)
	} else if err != nil {
		return SiteJSON{}, err
	}
	if len(ps) > 0 {
		return SiteJSON{}, &validation.Error{Problems: ps}
	}
	id, err := account.NewID(s.Rand, "site_")
	if err != nil {
		return SiteJSON{}, err
	}
	site := store.Site{ID: id, CompanyID: company, Name: name, CreatedAt: s.Now().UTC()}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := siteNameFree(ctx, tx, company, name, ""); err != nil {
			return err
		}
		if err := tx.CreateSite(ctx, site); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &account.ConflictError{Field: "name", Message: fmt.Sprintf("a site named %q already exists", name)}
			}
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, "site.create", id, "ok", map[string]any{"company": company, "name": name}).In(company))
	})
	if err != nil {
		return SiteJSON{}, err
	}
	return siteJSON(site), nil
}

// siteNameFree refuses a site name another site of the company (not
// except, the one being renamed) already has, ignoring case and the
// spaces around it: two "Toulouse" in one company could not be told
// apart in the panel, the access rules or the exports.
func siteNameFree(ctx context.Context, tx store.Store, company, name, except string) error {
	sites, err := tx.ListSites(ctx, company)
	if err != nil {
		return err
	}
	for _, other := range sites {
		if other.ID != except && strings.EqualFold(strings.TrimSpace(other.Name), name) {
			return &account.ConflictError{Field: "name", Message: fmt.Sprintf("the company already has a site named %q", other.Name)}
		}
	}
	return nil
}

// site reads a site of a company the caller manages.
func (s *Service) site(ctx context.Context, c authz.Caller, id string) (store.Site, error) {
	site, err := s.Store.GetSite(ctx, id)
	if err != nil {
		return store.Site{}, err
	}
	if !s.Policy.Manages(c, site.CompanyID) {
		return store.Site{}, hidden{authz.ErrForbidden}
	}
	return site, nil
}

// RenameSite renames a site of a company the caller manages.
func (s *Service) RenameSite(ctx context.Context, c authz.Caller, id, name string) (_ SiteJSON, err error) {
	defer s.finish(ctx, c, OpSiteRename, id, &err)
	if err = s.Permit(c, OpSiteRename); err != nil {
		return
	}
	site, err := s.site(ctx, c, id)
	if err != nil {
		return SiteJSON{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkLabel("name", name); err != nil {
		return SiteJSON{}, err
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := siteNameFree(ctx, tx, site.CompanyID, name, id); err != nil {
			return err
		}
		if err := tx.RenameSite(ctx, id, name); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &account.ConflictError{Field: "name", Message: fmt.Sprintf("a site named %q already exists", name)}
			}
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, "site.rename", id, "ok", map[string]any{"from": site.Name, "to": name}).In(site.CompanyID))
	})
	if err != nil {
		return SiteJSON{}, err
	}
	site.Name = name
	return siteJSON(site), nil
}

// SiteMembers lists every member of the site's company with whether it
// reaches the site: roles that see every site show all_sites.
func (s *Service) SiteMembers(ctx context.Context, c authz.Caller, id string) (_ []MemberJSON, err error) {
	if err = s.Permit(c, OpSiteMembers); err != nil {
		return
	}
	site, err := s.site(ctx, c, id)
	if err != nil {
		return nil, err
	}
	ms, err := s.Store.ListCompanyMembers(ctx, site.CompanyID)
	if err != nil {
		return nil, err
	}
	return s.members(ctx, ms, id)
}

// SetSiteMembers makes accountIDs exactly the accounts granted the site.
func (s *Service) SetSiteMembers(ctx context.Context, c authz.Caller, id string, accountIDs []string) (_ []MemberJSON, err error) {
	defer s.finish(ctx, c, OpSiteMembersSet, id, &err)
	if err = s.Permit(c, OpSiteMembersSet); err != nil {
		return
	}
	if _, err := s.site(ctx, c, id); err != nil {
		return nil, err
	}
	if err := s.Accounts.SetSiteMembers(ctx, c.Account.ID, id, sortedUnique(accountIDs)); err != nil {
		return nil, err
	}
	return s.SiteMembers(ctx, c, id)
}

// MaxInvitations bounds one invitation request.
const MaxInvitations = 100

// Invitations is the input to Invite: addresses separated by ";", each
// bare or with names (see account.ParseInvitees).
type Invitations struct {
	Emails      string
	Memberships []account.MembershipInput
	Language    string
}

// InvitationResult says what Invite did with each address.
type InvitationResult struct {
	Invited  []AccountJSON `json:"invited"`
	Existing []string      `json:"existing"` // already have an account: left as they are
	Mailed   int           `json:"mailed"`   // invitation mails queued
	Failed   []string      `json:"failed"`   // created, but the mail could not be queued
	// ExistingIDs are the account ids of Existing, for a page that names
	// them; the API's answer keeps to addresses.
	ExistingIDs []string `json:"-"`
}

// Invite creates invited password accounts for every new address and mails
// each its set-password link. Every address is checked first: one bad
// address, or more than MaxInvitations, refuses the whole request.
func (s *Service) Invite(ctx context.Context, c authz.Caller, in Invitations) (_ InvitationResult, err error) {
	defer s.finish(ctx, c, OpInvite, "", &err)
	if err = s.Permit(c, OpInvite); err != nil {
		return
	}
	invitees, bad := account.ParseInvitees(in.Emails)
	var ps []validation.Problem
	switch {
	case len(invitees) == 0 && len(bad) == 0:
		ps = append(ps, validation.New("emails", "required", "at least one email address is required"))
	case len(invitees)+len(bad) > MaxInvitations:
		ps = append(ps, validation.New("emails", "too_many", "at most %d addresses at once; got %d", MaxInvitations, len(invitees)+len(bad)))
	default:
		ps = append(ps, bad...)
	}
	if len(in.Memberships) == 0 {
		ps = append(ps, validation.New("memberships", "required", "at least one company role is required"))
	}
	if err := s.grantable(c, in.Memberships); err != nil {
		return InvitationResult{}, err
	}
	if err := s.Accounts.CheckMemberships(ctx, store.KindPersonal, "memberships", in.Memberships); err != nil {
		var ve *validation.Error
		if !errors.As(err, &ve) {
			return InvitationResult{}, err
		}
		ps = append(ps, ve.Problems...)
	}
	if len(ps) > 0 {
		return InvitationResult{}, &validation.Error{Problems: ps}
	}
	limits, err := s.checkInvitations(ctx, c, in.Memberships, len(invitees))
	if err != nil {
		return
	}
	res := InvitationResult{Invited: []AccountJSON{}, Existing: []string{}, Failed: []string{}}
	defer func() { s.countInvitations(ctx, limits, res.Mailed) }()
	for _, inv := range invitees {
		e := inv.Email
		// An address of another company's account is added to the
		// caller's companies and answered exactly as a new one.
		if acc, ok, err := s.elsewhere(ctx, c, e); err != nil {
			return res, err
		} else if ok {
			if acc, err = s.adopt(ctx, c, acc, in.Memberships); err != nil {
				return res, err
			}
			v, err := s.view(ctx, acc)
			if err != nil {
				return res, err
			}
			res.Invited = append(res.Invited, v)
			res.Mailed++
			continue
		}
		if had, err := s.Store.GetAccountByEmail(ctx, e); err == nil {
			res.Existing = append(res.Existing, e)
			res.ExistingIDs = append(res.ExistingIDs, had.ID)
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
		created, err := s.createAccount(ctx, c, NewAccount{
			Email: e, FirstName: inv.FirstName, LastName: inv.LastName, Language: in.Language,
			SignIn: account.SignInPassword, Memberships: in.Memberships,
		})
		if errors.Is(err, store.ErrConflict) {
			res.Existing = append(res.Existing, e)
			continue
		}
		if err != nil {
			return res, err
		}
		res.Invited = append(res.Invited, created.Account)
		if created.InvitationSent {
			res.Mailed++
		} else {
			res.Failed = append(res.Failed, e)
		}
	}
	return res, nil
}
