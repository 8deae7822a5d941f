// Package adminsvc is the admin service: every administrative operation
// (accounts, invitations, companies and sites, properties and access rules,
// passkeys and workstation enrolment, API tokens, audit and export), each
// taking the caller and deciding itself whether they may. The JSON API and
// the HTML panel are transports over it: they parse, call and render.
package adminsvc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ProviderStatus is the read-only view of one configured identity provider.
type ProviderStatus struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"display_name"`
	Issuer      string `json:"issuer"`
	Status      string `json:"status"` // e.g. "ok", "unreachable", "unknown"
	Detail      string `json:"detail,omitempty"`
	JIT         bool   `json:"jit"`
}

// Sessions is what the service does with sign-in sessions;
// session.Manager is one, and it tells every process and cache of each
// session it ends.
type Sessions interface {
	// Lookup finds the request's session.
	Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	// List lists an account's live sessions with their latest last-seen times.
	List(ctx context.Context, accountID string) ([]store.Session, error)
	// EndAccount ends every session of an account.
	EndAccount(ctx context.Context, accountID string) ([]string, error)
	// EndAccountSession ends one session of an account; an id that is not
	// the account's is not found.
	EndAccountSession(ctx context.Context, accountID, sessionID string) error
}

// Service is the admin logic, each method taking the caller.
type Service struct {
	Store    store.Store
	Accounts *account.Service
	Policy   authz.Policy
	Sessions Sessions
	// Rules is the properties and access-rules service the gate evaluates,
	// so a change reaches the next assertion; nil: the property and rule
	// operations answer apperr.ErrUnavailable.
	Rules *rules.Service
	// Passkeys lists, revokes and enrols passkeys; nil: those operations
	// answer apperr.ErrUnavailable.
	Passkeys Passkeys
	// Tokens stores API tokens; nil when the store has none yet.
	Tokens store.APITokens
	// SendInvitation mails the "set your password" link
	// ((*reset.Handler).SendInvitation); nil: no mail is sent.
	SendInvitation func(ctx context.Context, a store.Account) error
	// InvitationLimits bound the invitation mails sent per hour.
	InvitationLimits InvitationLimits
	// NotifyEmailChanged mails the old address of an account whose email
	// an administrator changed; nil: no mail is sent.
	NotifyEmailChanged func(ctx context.Context, a store.Account, oldEmail string) error
	// NotifyAdded mails an existing account that an administrator added
	// it to a company; nil: no mail is sent.
	NotifyAdded func(ctx context.Context, a store.Account, company string) error
	// Providers reports the configured identity providers; nil: none.
	Providers func() []ProviderStatus
	// Integrations manages identity providers; nil: they are read-only.
	Integrations *Integrations
	Now          func() time.Time
	Rand         io.Reader
	Logger       *slog.Logger
}

// LoadCaller reads the account and memberships of an authenticated caller.
// An account that is gone or not active is unauthenticated.
func (s *Service) LoadCaller(ctx context.Context, accountID, via, tokenID string) (authz.Caller, error) {
	acc, err := s.Store.GetAccount(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	if err != nil {
		return authz.Caller{}, err
	}
	if acc.Status != store.StatusActive {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	ms, err := s.Store.ListMemberships(ctx, accountID)
	if err != nil {
		return authz.Caller{}, err
	}
	return authz.Caller{Account: acc, Memberships: ms, Via: via, TokenID: tokenID}, nil
}

// audit records an action the account service does not record itself.
func (s *Service) audit(ctx context.Context, c authz.Caller, action, target string, details map[string]any) error {
	return s.Store.AppendAudit(ctx, s.event(ctx, c, action, target, "ok", details))
}

func (s *Service) event(ctx context.Context, c authz.Caller, action, target, outcome string, details map[string]any) store.AuditEvent {
	if details == nil {
		details = map[string]any{}
	}
	details["via"] = c.Via
	if c.TokenID != "" {
		details["token"] = c.TokenID
	}
	return store.AuditEvent{
		Time: s.Now().UTC(), Actor: c.Account.ID, Action: action, Target: target,
		IP: account.AuditIP(ctx), Outcome: outcome, Category: "admin", Details: details,
	}
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// ListProviders reports the configured identity providers and how their
// discovery fares.
func (s *Service) ListProviders(c authz.Caller) ([]ProviderStatus, error) {
	if err := s.Permit(c, OpProviderList); err != nil {
		return nil, err
	}
	if s.Providers == nil {
		return []ProviderStatus{}, nil
	}
	return s.Providers(), nil
}
