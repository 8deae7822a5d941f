package adminsvc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// CategoryIntegration is the audit category only integration_logs reveals.
const CategoryIntegration = "integration"

// AuditFilter selects audit events.
type AuditFilter struct {
	Actor    string
	Target   string
	Action   string // prefix
	Category string
	Since    time.Time
	Until    time.Time
	Before   int64 // cursor: events with a smaller id
	Limit    int
}

// AuditEventJSON is an audit event as the API shows it.
type AuditEventJSON struct {
	ID       int64          `json:"id"`
	Time     time.Time      `json:"time"`
	Actor    string         `json:"actor"`
	Action   string         `json:"action"`
	Target   string         `json:"target"`
	IP       string         `json:"ip"`
	Outcome  string         `json:"outcome"`
	Category string         `json:"category"`
	Details  map[string]any `json:"details"`
	// Companies the event concerns, of those the caller administers.
	Companies []string `json:"companies"`
}

// AuditPage is a page of events, newest first; Next is the cursor (an id)
// of the next page, 0 on the last one.
type AuditPage struct {
	Events []AuditEventJSON `json:"events"`
	Next   int64            `json:"next"`
}

// ListAudit searches the audit log, showing the caller only what their
// reach admits (see reach). Asking for integration events without
// integration_logs is refused.
func (s *Service) ListAudit(ctx context.Context, c authz.Caller, f AuditFilter) (_ AuditPage, err error) {
	if err = s.Permit(c, OpAuditList); err != nil {
		return
	}
	if f.Category == CategoryIntegration && !s.SeesIntegrationLogs(c) {
		return AuditPage{}, authz.ErrForbidden
	}
	if f.Limit <= 0 {
		f.Limit = defaultLimit
	}
	f.Limit = min(f.Limit, maxLimit)
	r, err := s.reach(ctx, c)
	if err != nil {
		return AuditPage{}, err
	}
	q := store.AuditQuery{Actor: f.Actor, Target: f.Target, Action: f.Action, Category: f.Category,
		Since: f.Since, Until: f.Until, BeforeID: f.Before, Limit: f.Limit + 1, Scope: r.panel}
	if r.integration != nil {
		q.ByCategory = map[string]store.AuditScope{CategoryIntegration: *r.integration}
	}
	batch, err := s.Store.ListAudit(ctx, q)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Events: []AuditEventJSON{}}
	for _, e := range batch {
		if len(page.Events) == f.Limit {
			page.Next = page.Events[len(page.Events)-1].ID
			break
		}
		d := e.Details
		if d == nil {
			d = map[string]any{}
		}
		// Only the companies the caller administers: the others an
		// account belongs to are not theirs to learn.
		companies := []string{}
		for _, co := range e.Companies {
			if r.administers(co) {
				companies = append(companies, co)
			}
		}
		page.Events = append(page.Events, AuditEventJSON{ID: e.ID, Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action,
			Target: e.Target, IP: e.IP, Outcome: e.Outcome, Category: e.Category, Details: d, Companies: companies})
	}
	return page, nil
}

// auditReach is what of the audit log one caller may read. A nil scope
// admits every event: the caller holds what it takes in every company,
// so events of no company too.
type auditReach struct {
	// panel: the events of the companies where the caller holds
	// admin_panel.
	panel *store.AuditScope
	// integration: the same for integration events, where the caller
	// must also hold integration_logs.
	integration *store.AuditScope
}

// reach works out the caller's audit reach. An event that concerns no
// company (a sign-in attempt for an unknown address, a provider's
// malformed request, a refused change to something that is no account) is
// shown only to a caller who administers every company, since nothing
// says whose it is.
func (s *Service) reach(ctx context.Context, c authz.Caller) (auditReach, error) {
	panel := s.Policy.Companies(c, account.CapAdminPanel)
	var integration []string
	for _, co := range s.Policy.Companies(c, account.CapIntegrationLogs) {
		if slices.Contains(panel, co) {
			integration = append(integration, co)
		}
	}
	all, err := s.Store.ListCompanies(ctx)
	if err != nil {
		return auditReach{}, err
	}
	scope := func(held []string) *store.AuditScope {
		if len(held) > 0 && !slices.ContainsFunc(all, func(co store.Company) bool { return !slices.Contains(held, co.ID) }) {
			return nil
		}
		return &store.AuditScope{Companies: held}
	}
	return auditReach{panel: scope(panel), integration: scope(integration)}, nil
}

// administers reports whether company is in the caller's reach.
func (r auditReach) administers(company string) bool {
	return r.panel == nil || slices.Contains(r.panel.Companies, company)
}

// sees reports whether an account with memberships ms is within the
// caller's audit reach, so that its id may be shown as its email.
func (r auditReach) sees(ms []store.Membership) bool {
	return r.panel == nil || slices.ContainsFunc(ms, func(m store.Membership) bool { return r.administers(m.CompanyID) })
}

// Emails names accounts by their email for a page that lists ids (audit
// events, API tokens). Only accounts in the caller's reach are named: any
// other id, like an id that is no account's, stays as it is, so an event
// never tells the caller who in another company did or underwent what.
func (s *Service) Emails(ctx context.Context, c authz.Caller, ids []string) (map[string]string, error) {
	if err := s.Permit(c, OpPanel); err != nil {
		return nil, err
	}
	r, err := s.reach(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || id == "" {
			continue
		}
		out[id] = id
		a, err := s.Store.GetAccount(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		ms, err := s.Store.ListMemberships(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.sees(ms) {
			out[id] = a.Email
		}
	}
	return out, nil
}

// AccountRef turns what a search box holds into the account id the audit
// log and the rules record: an email of an account in the caller's reach
// becomes its id; anything else, an unknown email or one of another
// company's accounts included, is searched as typed.
func (s *Service) AccountRef(ctx context.Context, c authz.Caller, v string) (string, error) {
	if err := s.Permit(c, OpPanel); err != nil {
		return "", err
	}
	if !strings.Contains(v, "@") {
		return v, nil
	}
	a, err := s.Store.GetAccountByEmail(ctx, v)
	if errors.Is(err, store.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return "", err
	}
	r, err := s.reach(ctx, c)
	if err != nil {
		return "", err
	}
	ms, err := s.Store.ListMemberships(ctx, a.ID)
	if err != nil {
		return "", err
	}
	if !r.sees(ms) {
		return v, nil
	}
	return a.ID, nil
}

// SeesIntegrationLogs reports whether the caller may read integration
// events in the audit log.
func (s *Service) SeesIntegrationLogs(c authz.Caller) bool {
	return s.Policy.Has(c, account.CapIntegrationLogs)
}

// CreatesCompanies reports whether the caller may create companies: only
// full administrators may.
func (s *Service) CreatesCompanies(c authz.Caller) bool {
	return s.Can(c, OpCompanyCreate) && s.Policy.IsFullAdmin(c)
}
