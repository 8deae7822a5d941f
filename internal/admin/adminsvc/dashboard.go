package adminsvc

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// What the dashboard calls soon.
const (
	// DashboardFailureWindow is how far back sign-in failures are counted.
	DashboardFailureWindow = 24 * time.Hour
	// DashboardSoon is how close an expiry must be to need attention.
	DashboardSoon = 3 * 24 * time.Hour
	// dashboardListed bounds each list of the dashboard; the page links to
	// the full one.
	dashboardListed = 10
)

// Dashboard is the admin panel's first page: the numbers of the companies
// the caller administers and what needs their attention there. Each part
// is shown only to a caller whose capabilities reach it, and holds only
// what the rules of docs/authorization.md let them see: another company's
// accounts, sessions and sign-in failures never count.
type Dashboard struct {
	// Accounts counts the accounts of the caller's companies per status;
	// nil when the caller does not manage users.
	Accounts map[string]int
	// Sessions counts the live sessions of those accounts.
	Sessions int
	// Failures are the latest failed password sign-ins of the last
	// DashboardFailureWindow that the caller's audit reach admits, newest
	// first; FailureCount counts them all (up to the audit page size) and
	// MoreFailures says there were more than that.
	Failures     []AuditEventJSON
	FailureCount int
	MoreFailures bool
	// Providers are the configured identity providers and their status.
	Providers []ProviderStatus
	// Invitations are invited accounts whose set-password link expires
	// within DashboardSoon or has already.
	Invitations []store.PendingInvitation
	// Tokens are live API tokens in the caller's scope that were never
	// used or expire within DashboardSoon.
	Tokens []TokenJSON
	// ManagesUsers: the account parts above apply to the caller.
	ManagesUsers bool
}

// Dashboard gathers the caller's dashboard.
func (s *Service) Dashboard(ctx context.Context, c authz.Caller) (Dashboard, error) {
	if err := s.Permit(c, OpPanel); err != nil {
		return Dashboard{}, err
	}
	now := s.Now()
	var d Dashboard
	if s.Can(c, OpAccountList) {
		d.ManagesUsers = true
		companies := s.managed(c)
		var err error
		if d.Accounts, err = s.Store.CountAccountsByStatus(ctx, companies); err != nil {
			return Dashboard{}, err
		}
		if d.Sessions, err = s.Store.CountLiveSessions(ctx, companies, now); err != nil {
			return Dashboard{}, err
		}
		if d.Invitations, err = s.Store.ListPendingInvitations(ctx, companies, now.Add(DashboardSoon), dashboardListed); err != nil {
			return Dashboard{}, err
		}
	}
	failures, err := s.ListAudit(ctx, c, AuditFilter{Action: "login.failure", Since: now.Add(-DashboardFailureWindow), Limit: maxLimit})
	if err != nil {
		return Dashboard{}, err
	}
	d.FailureCount, d.MoreFailures = len(failures.Events), failures.Next != 0
	d.Failures = failures.Events[:min(len(failures.Events), dashboardListed)]
	if d.Providers, err = s.ListProviders(c); err != nil {
		return Dashboard{}, err
	}
	if s.Can(c, OpTokenList) && s.Tokens != nil {
		tokens, err := s.ListAPITokens(ctx, c)
		if err != nil {
			return Dashboard{}, err
		}
		for _, t := range tokens {
			live := t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now))
			soon := t.ExpiresAt != nil && t.ExpiresAt.Before(now.Add(DashboardSoon))
			if live && (t.LastUsedAt == nil || soon) && len(d.Tokens) < dashboardListed {
				d.Tokens = append(d.Tokens, t)
			}
		}
	}
	return d, nil
}

// managed lists the companies the caller administers.
func (s *Service) managed(c authz.Caller) []string {
	var out []string
	for _, m := range c.Memberships {
		if s.Policy.Manages(c, m.CompanyID) {
			out = append(out, m.CompanyID)
		}
	}
	return out
}
