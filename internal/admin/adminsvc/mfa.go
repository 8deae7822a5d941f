package adminsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrNoSecondFactor: the account has no second factor to reset.
var ErrNoSecondFactor = fmt.Errorf("%w: the account has no second factor", store.ErrNotFound)

// HasSecondFactor reports whether an account the caller sees has a
// confirmed second factor; the key itself is never shown to anyone.
func (s *Service) HasSecondFactor(ctx context.Context, c authz.Caller, id string) (bool, error) {
	if err := s.Permit(c, OpAccountGet); err != nil {
		return false, err
	}
	if _, _, err := s.target(ctx, c, id); err != nil {
		return false, err
	}
	t, err := s.Store.GetTOTP(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !t.ConfirmedAt.IsZero(), nil
}

// ResetSecondFactor removes the second factor (key and recovery codes) of
// an account the caller manages as a whole, for a person who lost their
// phone and their codes. Their next password sign-in asks for no code, or
// leads to a new set-up when their role requires one. Sessions stay.
func (s *Service) ResetSecondFactor(ctx context.Context, c authz.Caller, id string) (err error) {
	defer s.finish(ctx, c, OpMFAReset, id, &err)
	if err = s.Permit(c, OpMFAReset); err != nil {
		return err
	}
	acct, err := s.wholeAccount(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteSecondFactor(ctx, acct.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSecondFactor
		}
		return err
	}
	return s.audit(ctx, c, OpMFAReset.Action, acct.ID, nil)
}
