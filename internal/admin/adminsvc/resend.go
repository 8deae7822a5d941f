package adminsvc

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ResendInvitation mails an invited password account a new set-password
// link, which replaces the ones sent before. The link is how the person
// will sign in, so it is the account's as a whole: the caller must
// administer every company it belongs to. It counts against the same
// hourly invitation allowances as the first mail.
func (s *Service) ResendInvitation(ctx context.Context, c authz.Caller, id string) (err error) {
	defer s.finish(ctx, c, OpInvitationResend, id, &err)
	if err = s.Permit(c, OpInvitationResend); err != nil {
		return
	}
	acc, err := s.wholeAccount(ctx, c, id)
	if err != nil {
		return err
	}
	if acc.Status != store.StatusInvited || !account.UsesPassword(acc) {
		return validation.One("status", "not_invited", "only an invited account that signs in with a password is sent an invitation")
	}
	if s.SendInvitation == nil {
		return fmt.Errorf("%w: invitation mail", apperr.ErrUnavailable)
	}
	ms, err := s.Store.ListMemberships(ctx, id)
	if err != nil {
		return err
	}
	in := make([]account.MembershipInput, len(ms))
	for i, m := range ms {
		in[i] = account.MembershipInput{Company: m.CompanyID}
	}
	limits, err := s.checkInvitations(ctx, c, in, 1)
	if err != nil {
		return err
	}
	if err := s.SendInvitation(ctx, acc); err != nil {
		return err
	}
	s.countInvitations(ctx, limits, 1)
	return s.Store.AppendAudit(ctx, s.event(ctx, c, OpInvitationResend.Action, id, "ok", nil).In(store.CompaniesOf(ms)...))
}
