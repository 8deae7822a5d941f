package account

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Lifecycle actions, as named in errors and audit events ("account.block").
const (
	actionActivate    = "activate"
	actionBlock       = "block"
	actionUnblock     = "unblock"
	actionDeactivate  = "deactivate"
	actionDelete      = "delete"
	actionSetPassword = "set_password"
)

// transitions lists, per action, the statuses it may start from and the
// status it leads to. Deactivated appears in no "from" list: it is final.
var transitions = map[string]struct {
	from []string
	to   string
}{
	actionActivate:   {[]string{store.StatusInvited}, store.StatusActive},
	actionBlock:      {[]string{store.StatusActive}, store.StatusBlocked},
	actionUnblock:    {[]string{store.StatusBlocked}, store.StatusActive},
	actionDeactivate: {[]string{store.StatusInvited, store.StatusActive, store.StatusBlocked}, store.StatusDeactivated},
}

// Activate turns an invited account active (after it sets a password or
// links an SSO identity). An account already active is left as it is.
func (s *Service) Activate(ctx context.Context, actor, id string) (store.Account, error) {
	return s.transition(ctx, actor, id, actionActivate)
}

// Block suspends an active account and ends its sessions.
func (s *Service) Block(ctx context.Context, actor, id string) (store.Account, error) {
	return s.transition(ctx, actor, id, actionBlock)
}

// Unblock restores a blocked account.
func (s *Service) Unblock(ctx context.Context, actor, id string) (store.Account, error) {
	return s.transition(ctx, actor, id, actionUnblock)
}

// Deactivate closes an account for good and ends its sessions.
func (s *Service) Deactivate(ctx context.Context, actor, id string) (store.Account, error) {
	return s.transition(ctx, actor, id, actionDeactivate)
}

func (s *Service) transition(ctx context.Context, actor, id, action string) (store.Account, error) {
	t := transitions[action]
	endsSessions := t.to == store.StatusBlocked || t.to == store.StatusDeactivated
	var (
		acc   store.Account
		ended []string
	)
	err := s.st.InTx(ctx, func(tx store.Store) error {
		cur, err := tx.GetAccount(ctx, id)
		if err != nil {
			return err
		}
		if action == actionActivate && cur.Status == store.StatusActive {
			acc = cur
			return nil
		}
		if !slices.Contains(t.from, cur.Status) {
			return &TransitionError{Action: action, From: cur.Status}
		}
		if endsSessions {
			if err := s.guard(ctx, tx, actor, cur); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		acc, err = tx.UpdateAccount(ctx, id, func(a *store.Account) error {
			// Re-checked on the row the update holds.
			if !slices.Contains(t.from, a.Status) {
				return &TransitionError{Action: action, From: a.Status}
			}
			a.Status = t.to
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if endsSessions {
			if ended, err = tx.DeleteAccountSessions(ctx, id); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, s.event(ctx, now, actor, "account."+action, id, map[string]any{
			"email": acc.Email, "from": cur.Status, "to": acc.Status, "sessions_ended": len(ended),
		}))
	})
	if err != nil {
		return store.Account{}, err
	}
	s.sessionsEnded(ctx, ended)
	return acc, nil
}

// Delete removes an account, its memberships, site access and sessions.
// It is allowed from any status, a deactivated one included; the id is
// random, so it is never given to another account.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	var ended []string
	err := s.st.InTx(ctx, func(tx store.Store) error {
		cur, err := tx.GetAccount(ctx, id)
		if err != nil {
			return err
		}
		if err := s.guard(ctx, tx, actor, cur); err != nil {
			return err
		}
		if ended, err = tx.DeleteAccountSessions(ctx, id); err != nil {
			return err
		}
		ms, err := tx.ListMemberships(ctx, id)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := tx.RemoveMembership(ctx, id, m.CompanyID); err != nil {
				return err
			}
		}
		sites, err := tx.ListSiteAccess(ctx, id)
		if err != nil {
			return err
		}
		for _, site := range sites {
			if err := tx.RevokeSite(ctx, id, site); err != nil {
				return err
			}
		}
		if err := tx.DeleteAccount(ctx, id); err != nil {
			return err
		}
		// The memberships are gone by now: name the companies they were in.
		return tx.AppendAudit(ctx, s.event(ctx, s.now().UTC(), actor, "account."+actionDelete, id, map[string]any{
			"email": cur.Email, "status": cur.Status, "sessions_ended": len(ended),
		}).In(store.CompaniesOf(ms)...))
	})
	if err != nil {
		return err
	}
	s.sessionsEnded(ctx, ended)
	return nil
}

// guard refuses to let an actor block, deactivate or delete their own
// account, or an account that is the last active administrator of one of
// its companies.
func (s *Service) guard(ctx context.Context, tx store.Store, actor string, target store.Account) error {
	if actor == target.ID {
		return ErrSelfAction
	}
	if target.Status != store.StatusActive {
		return nil
	}
	ms, err := tx.ListMemberships(ctx, target.ID)
	if err != nil {
		return err
	}
	var administered []string
	for _, m := range ms {
		if s.roles.IsAdmin(m.Role) {
			administered = append(administered, m.CompanyID)
		}
	}
	// One order for every transaction, so two of them never wait on
	// each other's locks.
	slices.Sort(administered)
	for _, company := range administered {
		if err := s.keepsAdmin(ctx, tx, company, target.ID); err != nil {
			return err
		}
	}
	return nil
}

// keepsAdmin locks company and refuses with ErrLastAdmin unless an active
// account other than leaving administers it. The lock makes the check and
// the change that follows one step: a concurrent change to the company's
// administrators waits, then sees this one.
func (s *Service) keepsAdmin(ctx context.Context, tx store.Store, company, leaving string) error {
	if err := tx.LockCompany(ctx, company); err != nil {
		return err
	}
	members, err := tx.ListCompanyMembers(ctx, company)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.AccountID == leaving || !s.roles.IsAdmin(m.Role) {
			continue
		}
		a, err := tx.GetAccount(ctx, m.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if a.Status == store.StatusActive {
			return nil
		}
	}
	return ErrLastAdmin
}

// SetPassword checks pw against the policy, stores its hash, activates an
// invited account and ends the account's sessions (a reset must log out
// whoever else knew the old password). A blocked account stays blocked;
// a deactivated one is refused. Policy failures are the
// hasher's (*password.PolicyError).
func (s *Service) SetPassword(ctx context.Context, id, pw string) error {
	return s.SetPasswordWithNames(ctx, id, pw, Names{})
}

// Names are the given and family names the holder of an account gives on
// the set-password page when their invitation came without them.
type Names struct{ First, Last string }

// CheckNames validates names as SetPasswordWithNames will: the given name
// is required, the family name may stay empty (not everyone has one).
func CheckNames(n Names) error {
	var ps validation.Problems
	checkName(&ps, "first_name", termFirstName, strings.TrimSpace(n.First))
	checkOptionalName(&ps, "last_name", termLastName, strings.TrimSpace(n.Last))
	return ps.Err()
}

// SetPasswordWithNames is SetPassword that also fills the account's empty
// names from n (see CheckNames); names already set are never replaced, so
// a holder cannot rename what an admin wrote.
func (s *Service) SetPasswordWithNames(ctx context.Context, id, pw string, n Names) error {
	n.First, n.Last = strings.TrimSpace(n.First), strings.TrimSpace(n.Last)
	if n != (Names{}) {
		if err := CheckNames(n); err != nil {
			return err
		}
	}
	cur, err := s.st.GetAccount(ctx, id)
	if err != nil {
		return err
	}
	if err := checkSetPassword(cur); err != nil {
		return err
	}
	if err := s.hasher.CheckPolicy(pw, cur.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	var ended []string
	err = s.st.InTx(ctx, func(tx store.Store) error {
		now := s.now().UTC()
		var from string
		acc, err := tx.UpdateAccount(ctx, id, func(a *store.Account) error {
			if err := checkSetPassword(*a); err != nil {
				return err
			}
			from = a.Status
			a.PasswordHash = hash
			if a.FirstName == "" {
				a.FirstName = n.First
			}
			if a.LastName == "" {
				a.LastName = n.Last
			}
			if a.Status == store.StatusInvited {
				a.Status = store.StatusActive
			}
			a.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if ended, err = tx.DeleteAccountSessions(ctx, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, store.AuditEvent{
			Time: now, Actor: id, Action: "account.set_password", Target: id,
			Outcome: "ok", Category: "auth",
			Details: map[string]any{"from": from, "to": acc.Status, "sessions_ended": len(ended)},
		})
	})
	if err != nil {
		return err
	}
	s.sessionsEnded(ctx, ended)
	return nil
}

func checkSetPassword(a store.Account) error {
	if !UsesPassword(a) {
		return ErrNotPasswordAccount
	}
	if a.Status == store.StatusDeactivated {
		return &TransitionError{Action: actionSetPassword, From: a.Status}
	}
	return nil
}

// sessionsEnded announces the sessions a committed transaction deleted;
// see Sessions.
func (s *Service) sessionsEnded(ctx context.Context, ids []string) {
	if len(ids) > 0 && s.sessions != nil {
		s.sessions.Ended(ctx, ids)
	}
}
