package adminsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

func (s *Service) view(ctx context.Context, a store.Account) (AccountJSON, error) {
	views, err := s.Accounts.Memberships(ctx, a.ID)
	if err != nil {
		return AccountJSON{}, err
	}
	ms := make([]MembershipJSON, 0, len(views))
	for _, v := range views {
		sites := v.Sites
		if sites == nil {
			sites = []string{}
		}
		ms = append(ms, MembershipJSON{Company: v.Company, Role: v.Role, Sites: sites})
	}
	return AccountJSON{
		ID: a.ID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName,
		Language: a.Language, DateFormat: a.DateFormat, TimeZone: a.TimeZone, Kind: a.Kind, SignIn: a.SignIn,
		Status: a.Status, CreatedAt: a.CreatedAt.UTC(), TermsVersion: a.TermsVersion, Memberships: ms,
	}, nil
}

// target reads an account the caller may see (see authz.Policy.Sees),
// with its memberships. One they may not see is not found, exactly like
// one that does not exist, though the audit log records the refusal.
func (s *Service) target(ctx context.Context, c authz.Caller, id string) (store.Account, []store.Membership, error) {
	acc, err := s.Store.GetAccount(ctx, id)
	if err != nil {
		return store.Account{}, nil, err
	}
	ms, err := s.Store.ListMemberships(ctx, id)
	if err != nil {
		return store.Account{}, nil, err
	}
	if !s.Policy.Sees(c, ms) {
		return store.Account{}, nil, hidden{authz.ErrForbidden}
	}
	return acc, ms, nil
}

// wholeAccount reads an account for a change to the account as a whole
// (profile, status, deletion, sessions, passkeys, workstation, tokens):
// the caller must administer every company it belongs to, since each of
// those companies' admins answers for it.
func (s *Service) wholeAccount(ctx context.Context, c authz.Caller, id string) (store.Account, error) {
	acc, ms, err := s.target(ctx, c, id)
	if err != nil {
		return store.Account{}, err
	}
	if !s.Policy.ManagesAccount(c, ms) {
		return store.Account{}, errNotAllCompanies
	}
	return acc, nil
}

// errNotAllCompanies refuses a change to an account the caller sees but
// shares with another company's administrators.
var errNotAllCompanies = fmt.Errorf("%w: the account also belongs to a company you do not administer", authz.ErrForbidden)

// Paging bounds.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// ListAccounts lists the accounts the caller manages that match f.
func (s *Service) ListAccounts(ctx context.Context, c authz.Caller, f AccountFilter) (_ AccountPage, err error) {
	if err = s.Permit(c, OpAccountList); err != nil {
		return
	}
	if f.Limit <= 0 {
		f.Limit = defaultLimit
	}
	f.Limit = min(f.Limit, maxLimit)
	if f.Company != "" && !s.Policy.Manages(c, f.Company) {
		return AccountPage{}, authz.ErrForbidden
	}
	page := AccountPage{Accounts: []AccountJSON{}}
	q := store.AccountQuery{
		Search: f.Search, Status: f.Status, Role: f.Role, CompanyID: f.Company, SiteID: f.Site,
		After: f.After, Limit: f.Limit + 1,
	}
	// Accounts outside the caller's scope are skipped, so one store page
	// may not fill an API page: read on until it is full or the store is done.
	for {
		batch, err := s.Store.ListAccounts(ctx, q)
		if err != nil {
			return AccountPage{}, err
		}
		for _, a := range batch {
			ms, err := s.Store.ListMemberships(ctx, a.ID)
			if err != nil {
				return AccountPage{}, err
			}
			if !s.Policy.Sees(c, ms) {
				continue
			}
			if len(page.Accounts) == f.Limit {
				page.Next = page.Accounts[len(page.Accounts)-1].ID
				return page, nil
			}
			v, err := s.view(ctx, a)
			if err != nil {
				return AccountPage{}, err
			}
			page.Accounts = append(page.Accounts, v)
		}
		if len(batch) < q.Limit {
			return page, nil
		}
		q.After = batch[len(batch)-1].ID
	}
}

// GetAccount returns one account the caller manages.
func (s *Service) GetAccount(ctx context.Context, c authz.Caller, id string) (_ AccountJSON, err error) {
	if err = s.Permit(c, OpAccountGet); err != nil {
		return
	}
	acc, _, err := s.target(ctx, c, id)
	if err != nil {
		return AccountJSON{}, err
	}
	return s.view(ctx, acc)
}

// CreateAccount creates an account with a role in each company named; the
// caller must manage every one of them.
func (s *Service) CreateAccount(ctx context.Context, c authz.Caller, in NewAccount) (_ Created, err error) {
	defer s.finish(ctx, c, OpAccountCreate, "", &err)
	if err = s.Permit(c, OpAccountCreate); err != nil {
		return
	}
	var limits []string // a password account is mailed an invitation
	if in.SignIn == "" || in.SignIn == account.SignInPassword {
		if limits, err = s.checkInvitations(ctx, c, in.Memberships, 1); err != nil {
			return
		}
	}
	out, err := s.createAccount(ctx, c, in)
	if out.InvitationSent {
		s.countInvitations(ctx, limits, 1)
	}
	return out, err
}

func (s *Service) createAccount(ctx context.Context, c authz.Caller, in NewAccount) (Created, error) {
	if len(in.Memberships) == 0 {
		return Created{}, validation.One("memberships", "required", "at least one company role is required")
	}
	if err := s.grantable(c, in.Memberships); err != nil {
		return Created{}, err
	}
	kind := in.Kind
	if kind == "" {
		kind = store.KindPersonal
	}
	if err := s.Accounts.CheckMemberships(ctx, kind, "memberships", in.Memberships); err != nil {
		return Created{}, err
	}
	if existing, ok, err := s.elsewhere(ctx, c, in.Email); err != nil {
		return Created{}, err
	} else if ok {
		acc, err := s.adopt(ctx, c, existing, in.Memberships)
		if err != nil {
			return Created{}, err
		}
		v, err := s.view(ctx, acc)
		return Created{Account: v, InvitationSent: true}, err
	}
	first := in.Memberships[0]
	acc, err := s.Accounts.Create(ctx, account.NewAccount{
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Language: in.Language,
		DateFormat: in.DateFormat, Kind: in.Kind, SignIn: in.SignIn,
		CompanyID: first.Company, Role: first.Role, Sites: first.Sites, Actor: c.Account.ID,
	})
	if err != nil {
		return Created{}, err
	}
	for _, m := range in.Memberships[1:] {
		if err := s.Accounts.SetMembership(ctx, c.Account.ID, acc.ID, m); err != nil {
			// Undo the half-made account so a failure leaves nothing behind.
			if derr := s.Accounts.Delete(ctx, c.Account.ID, acc.ID); derr != nil {
				s.Logger.Error("undoing a partly created account", "account", acc.ID, "err", derr)
			}
			return Created{}, err
		}
	}
	out := Created{}
	out.InvitationSent, out.Invitation = s.invite(ctx, acc)
	if out.Account, err = s.view(ctx, acc); err != nil {
		return Created{}, err
	}
	return out, nil
}

// grantable checks the caller may give every membership: a company they do
// not administer is not found, a role beyond their own there is refused.
func (s *Service) grantable(c authz.Caller, ms []account.MembershipInput) error {
	for _, m := range ms {
		if m.Company == "" {
			continue // the account rules report it
		}
		if !s.Policy.Manages(c, m.Company) {
			return hidden{authz.ErrForbidden}
		}
		if !s.Policy.Grants(c, m.Company, m.Role) {
			return errRoleBeyondOwn
		}
	}
	return nil
}

// elsewhere finds the account holding email when the caller may not see
// it: it belongs only to companies they do not administer. Creating or
// inviting that address must neither fail nor say so, or any
// administrator could learn who works for another company.
func (s *Service) elsewhere(ctx context.Context, c authz.Caller, email string) (store.Account, bool, error) {
	acc, err := s.Store.GetAccountByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, false, nil
	}
	if err != nil {
		return store.Account{}, false, err
	}
	ms, err := s.Store.ListMemberships(ctx, acc.ID)
	if err != nil {
		return store.Account{}, false, err
	}
	if s.Policy.Sees(c, ms) {
		return store.Account{}, false, nil
	}
	return acc, true, nil
}

// adopt adds an existing account to the caller's companies, as Alteia's
// "invite existing users to work in additional companies" does, and tells
// its holder. An account with no company is nobody's to take (it is the
// operator's): it is left as it is, and the answer is the same.
func (s *Service) adopt(ctx context.Context, c authz.Caller, acc store.Account, ms []account.MembershipInput) (store.Account, error) {
	if current, err := s.Store.ListMemberships(ctx, acc.ID); err != nil || len(current) == 0 {
		return acc, err
	}
	for _, m := range ms {
		if err := s.Accounts.SetMembership(ctx, c.Account.ID, acc.ID, m); err != nil {
			return store.Account{}, err
		}
		if s.NotifyAdded != nil {
			if err := s.NotifyAdded(ctx, acc, m.Company); err != nil {
				s.Logger.Error("added to a company notice", "account", acc.ID, "err", err)
			}
		}
	}
	return acc, nil
}

// invite sends the set-password mail to a new invited password account.
func (s *Service) invite(ctx context.Context, acc store.Account) (bool, string) {
	if !account.UsesPassword(acc) || acc.Status != store.StatusInvited {
		return false, ""
	}
	if s.SendInvitation == nil {
		return false, "invitation mail is not configured; the account stays invited until a set-password link reaches its holder"
	}
	if err := s.SendInvitation(ctx, acc); err != nil {
		s.Logger.Error("invitation mail", "account", acc.ID, "err", err)
		return false, "the invitation mail could not be queued"
	}
	return true, ""
}

// UpdateAccount changes an account's profile and, when u.Properties is
// given, its property values, under the rules of SetPropertyValues. The
// profile is the account as a whole (the caller must administer every
// company it belongs to); values are the company's. Everything is checked
// first and written in one transaction, so a refused or failed update
// changes nothing.
func (s *Service) UpdateAccount(ctx context.Context, c authz.Caller, id string, u AccountUpdate) (_ AccountUpdated, err error) {
	defer s.finish(ctx, c, OpAccountUpdate, id, &err)
	if err = s.Permit(c, OpAccountUpdate); err != nil {
		return
	}
	// A profile update is made, and recorded, even when it changes nothing,
	// unless the call only sets properties.
	profile := u.Profile != (account.ProfileUpdate{}) || u.Properties == nil
	var acc store.Account
	if profile {
		acc, err = s.wholeAccount(ctx, c, id)
	} else {
		acc, _, err = s.target(ctx, c, id)
	}
	if err != nil {
		return AccountUpdated{}, err
	}
	if u.Kind != nil && *u.Kind != acc.Kind {
		return AccountUpdated{}, validation.One("kind", "not_allowed", "the kind of an account is fixed at creation; a shared-computer account is never converted")
	}
	var actor rules.Actor
	if p := u.Properties; p != nil {
		if p.Company == "" {
			return AccountUpdated{}, validation.One("properties.company", "required", "name the company whose properties these are")
		}
		if actor, err = s.valuesScope(ctx, c, OpValuesSet, id, p.Company); err != nil {
			return AccountUpdated{}, err
		}
		if err := s.Rules.CheckValues(ctx, id, p.Company, p.Values); err != nil {
			return AccountUpdated{}, propertyFields(err)
		}
	}
	setValues := func(tx store.Store) error {
		if p := u.Properties; p != nil {
			return propertyFields(s.Rules.SetValuesIn(ctx, tx, actor, id, p.Company, p.Values))
		}
		return nil
	}
	switch {
	case profile:
		before := acc
		if acc, err = s.Accounts.UpdateProfileWith(ctx, c.Account.ID, id, u.Profile, setValues); err != nil {
			return AccountUpdated{}, err
		}
		s.emailChanged(ctx, before, acc)
	default:
		if err := s.Store.InTx(ctx, setValues); err != nil {
			return AccountUpdated{}, err
		}
	}
	var out AccountUpdated
	if p := u.Properties; p != nil {
		s.Rules.Changed()
		vals, err := s.Rules.Values(ctx, id, p.Company)
		if err != nil {
			return AccountUpdated{}, err
		}
		out.Properties = &PropertiesJSON{Company: p.Company, Values: vals}
	}
	if out.AccountJSON, err = s.view(ctx, acc); err != nil {
		return AccountUpdated{}, err
	}
	return out, nil
}

// emailChanged tells the old address that the account's email changed,
// so its holder learns of a change they did not make while they can
// still act on it.
func (s *Service) emailChanged(ctx context.Context, before, after store.Account) {
	if strings.EqualFold(before.Email, after.Email) || s.NotifyEmailChanged == nil {
		return
	}
	if err := s.NotifyEmailChanged(ctx, after, before.Email); err != nil {
		s.Logger.Error("email change notice", "account", after.ID, "err", err)
	}
}

// propertyFields names the rules service's problems by their place in an
// account update: a key's problem under properties.values, membership of
// the company under properties.company.
func propertyFields(err error) error {
	if err == nil {
		return nil
	}
	var ve *validation.Error
	if !errors.As(err, &ve) {
		return err
	}
	out := &validation.Error{Problems: make([]validation.Problem, len(ve.Problems))}
	for i, p := range ve.Problems {
		if p.Field == "account" {
			p.Field = "properties.company"
		} else {
			p.Field = "properties.values." + p.Field
		}
		out.Problems[i] = p
	}
	return out
}

// Lifecycle actions.
const (
	ActionBlock      = "block"
	ActionUnblock    = "unblock"
	ActionDeactivate = "deactivate"
)

// LifecycleOp is the operation of a lifecycle action.
var LifecycleOp = map[string]Op{ActionBlock: OpAccountBlock, ActionUnblock: OpAccountUnblock, ActionDeactivate: OpAccountDeactivate}

// Lifecycle blocks, unblocks or deactivates an account. Blocking and
// deactivating end its sessions at once.
func (s *Service) Lifecycle(ctx context.Context, c authz.Caller, id, action string) (_ AccountJSON, err error) {
	op, ok := LifecycleOp[action]
	if !ok {
		return AccountJSON{}, fmt.Errorf("adminsvc: unknown lifecycle action %q", action)
	}
	defer s.finish(ctx, c, op, id, &err)
	if err = s.Permit(c, op); err != nil {
		return
	}
	if _, err := s.wholeAccount(ctx, c, id); err != nil {
		return AccountJSON{}, err
	}
	var acc store.Account
	switch action {
	case ActionBlock:
		acc, err = s.Accounts.Block(ctx, c.Account.ID, id)
	case ActionUnblock:
		acc, err = s.Accounts.Unblock(ctx, c.Account.ID, id)
	case ActionDeactivate:
		acc, err = s.Accounts.Deactivate(ctx, c.Account.ID, id)
	}
	if err != nil {
		return AccountJSON{}, err
	}
	return s.view(ctx, acc)
}

// DeleteAccount deletes an account and ends its sessions.
func (s *Service) DeleteAccount(ctx context.Context, c authz.Caller, id string) (err error) {
	defer s.finish(ctx, c, OpAccountDelete, id, &err)
	if err = s.Permit(c, OpAccountDelete); err != nil {
		return
	}
	if _, err := s.wholeAccount(ctx, c, id); err != nil {
		return err
	}
	return s.Accounts.Delete(ctx, c.Account.ID, id)
}

// EndAccountSessions signs the account out everywhere and returns how many
// sessions ended.
func (s *Service) EndAccountSessions(ctx context.Context, c authz.Caller, id string) (_ int, err error) {
	defer s.finish(ctx, c, OpSessionsEnd, id, &err)
	if err = s.Permit(c, OpSessionsEnd); err != nil {
		return
	}
	if _, err := s.wholeAccount(ctx, c, id); err != nil {
		return 0, err
	}
	ids, err := s.Sessions.EndAccount(ctx, id)
	if err != nil {
		return 0, err
	}
	return len(ids), s.audit(ctx, c, "account.sessions.end", id, map[string]any{"sessions_ended": len(ids)})
}

// SetMembership gives an account the caller sees a role (and sites) in a
// company the caller administers: never the caller's own account, and
// never a role granting more than the caller's own role there.
func (s *Service) SetMembership(ctx context.Context, c authz.Caller, id string, m account.MembershipInput) (_ AccountJSON, err error) {
	defer s.finish(ctx, c, OpMembershipSet, id, &err)
	if err = s.Permit(c, OpMembershipSet); err != nil {
		return
	}
	acc, err := s.membershipTarget(ctx, c, id, m.Company)
	if err != nil {
		return AccountJSON{}, err
	}
	if !s.Policy.Grants(c, m.Company, m.Role) {
		return AccountJSON{}, errRoleBeyondOwn
	}
	if err := s.Accounts.SetMembership(ctx, c.Account.ID, id, m); err != nil {
		return AccountJSON{}, err
	}
	return s.view(ctx, acc)
}

// RemoveMembership takes an account out of a company the caller
// administers; this is all an administrator of only some of the
// account's companies may do to it.
func (s *Service) RemoveMembership(ctx context.Context, c authz.Caller, id, company string) (_ AccountJSON, err error) {
	defer s.finish(ctx, c, OpMembershipRemove, id, &err)
	if err = s.Permit(c, OpMembershipRemove); err != nil {
		return
	}
	acc, err := s.membershipTarget(ctx, c, id, company)
	if err != nil {
		return AccountJSON{}, err
	}
	if err := s.Accounts.RemoveMembership(ctx, c.Account.ID, id, company); err != nil {
		return AccountJSON{}, err
	}
	return s.view(ctx, acc)
}

// membershipTarget reads the account whose membership in company the
// caller changes. A company they do not administer is not found, like
// one that does not exist; their own memberships are not theirs to change.
func (s *Service) membershipTarget(ctx context.Context, c authz.Caller, id, company string) (store.Account, error) {
	acc, _, err := s.target(ctx, c, id)
	if err != nil {
		return store.Account{}, err
	}
	if !s.Policy.Manages(c, company) {
		return store.Account{}, hidden{authz.ErrForbidden}
	}
	if id == c.Account.ID {
		return store.Account{}, account.ErrSelfAction
	}
	return acc, nil
}

// errRoleBeyondOwn refuses a role granting what the caller's own role in
// the company does not.
var errRoleBeyondOwn = fmt.Errorf("%w: you may only give roles whose capabilities your own role in that company has", authz.ErrForbidden)
