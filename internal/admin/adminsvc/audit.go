package adminsvc

import (
	"context"
	"errors"
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
}

// AuditPage is a page of events, newest first; Next is the cursor (an id)
// of the next page, 0 on the last one.
type AuditPage struct {
	Events []AuditEventJSON `json:"events"`
	Next   int64            `json:"next"`
}

// ListAudit searches the audit log. Integration events are left out unless
// the caller holds integration_logs; asking for them without it is refused.
func (s *Service) ListAudit(ctx context.Context, c authz.Caller, f AuditFilter) (_ AuditPage, err error) {
	if err = s.Permit(c, OpAuditList); err != nil {
		return
	}
	integration := s.SeesIntegrationLogs(c)
	if f.Category == CategoryIntegration && !integration {
		return AuditPage{}, authz.ErrForbidden
	}
	if f.Limit <= 0 {
		f.Limit = defaultLimit
	}
	f.Limit = min(f.Limit, maxLimit)
	q := store.AuditQuery{Actor: f.Actor, Target: f.Target, Action: f.Action, Category: f.Category,
		Since: f.Since, Until: f.Until, BeforeID: f.Before, Limit: f.Limit + 1}
	page := AuditPage{Events: []AuditEventJSON{}}
	for {
		batch, err := s.Store.ListAudit(ctx, q)
		if err != nil {
			return AuditPage{}, err
		}
		for _, e := range batch {
			if e.Category == CategoryIntegration && !integration {
				continue
			}
			if len(page.Events) == f.Limit {
				page.Next = page.Events[len(page.Events)-1].ID
				return page, nil
			}
			d := e.Details
			if d == nil {
				d = map[string]any{}
			}
			page.Events = append(page.Events, AuditEventJSON{ID: e.ID, Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action,
				Target: e.Target, IP: e.IP, Outcome: e.Outcome, Category: e.Category, Details: d})
		}
		if len(batch) < q.Limit {
			return page, nil
		}
		q.BeforeID = batch[len(batch)-1].ID
	}
}

// Emails names accounts by their email for a page that lists ids (audit
// events, API tokens): an id that is no account's stays as it is. The
// caller must be one who reads such lists.
func (s *Service) Emails(ctx context.Context, c authz.Caller, ids []string) (map[string]string, error) {
	if err := s.Permit(c, OpPanel); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || id == "" {
			continue
		}
		out[id] = id
		if a, err := s.Store.GetAccount(ctx, id); err == nil {
			out[id] = a.Email
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}

// AccountRef turns what a search box holds into the account id the audit
// log and the rules record: an email becomes its account's id; anything
// else, an unknown email included, is searched as typed.
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
