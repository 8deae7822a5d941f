package adminsvc

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
)

// InvitationLimits bound the invitation mails admins may trigger in an
// hour, so that a stolen admin session or token cannot turn the gateway
// into a mail cannon under the company's name. They are counted in the
// store (store.Throttle), shared by every replica. Zero is no limit.
type InvitationLimits struct {
	PerAdmin   int // mails one admin may trigger in an hour
	PerCompany int // mails all admins together may trigger into one company in an hour
}

// invitationWindow is the period of InvitationLimits.
const invitationWindow = time.Hour

// checkInvitations refuses n invitation mails into the companies of ms
// when the caller's or one company's hourly allowance has not room for
// them all, counting nothing. It returns the allowances to count the mails
// actually sent against (countInvitations). Two admins racing may
// overshoot by one request.
func (s *Service) checkInvitations(ctx context.Context, c authz.Caller, ms []account.MembershipInput, n int) ([]string, error) {
	type allowance struct {
		key, what string
		limit     int
	}
	var all []allowance
	if l := s.InvitationLimits.PerAdmin; l > 0 {
		all = append(all, allowance{"invite:admin:" + c.Account.ID, fmt.Sprintf("%d invitation mails an hour per admin", l), l})
	}
	if l := s.InvitationLimits.PerCompany; l > 0 {
		seen := map[string]bool{}
		for _, m := range ms {
			if m.Company != "" && !seen[m.Company] {
				seen[m.Company] = true
				all = append(all, allowance{"invite:company:" + m.Company, fmt.Sprintf("%d invitation mails an hour into company %s", l, m.Company), l})
			}
		}
	}
	now := s.Now()
	keys := make([]string, 0, len(all))
	for _, a := range all {
		used, resetAt, err := s.Store.Count(ctx, a.key, now)
		if err != nil {
			return nil, err
		}
		if used+n > a.limit {
			wait := max(resetAt.Sub(now), time.Second)
			msg := fmt.Sprintf("too many invitations: at most %s, %d used; try again in %s", a.what, used, roundUp(wait))
			if n > 1 && used < a.limit {
				msg = fmt.Sprintf("too many invitations: at most %s, %d used, so these %d cannot be sent now; send fewer or try again in %s", a.what, used, n, roundUp(wait))
			}
			return nil, &apperr.RateLimitError{Message: msg, RetryAfter: wait}
		}
		keys = append(keys, a.key)
	}
	return keys, nil
}

// countInvitations counts n mails sent against the allowances keys. The
// mails are gone already, so a failure is logged, not returned.
func (s *Service) countInvitations(ctx context.Context, keys []string, n int) {
	now := s.Now()
	for _, k := range keys {
		for range n {
			if _, _, err := s.Store.Hit(ctx, k, invitationWindow, now); err != nil {
				s.Logger.Error("counting invitation mails", "key", k, "err", err)
				return
			}
		}
	}
}

func roundUp(d time.Duration) time.Duration {
	return ((d + time.Minute - 1) / time.Minute) * time.Minute
}
