package rules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrInUse: a property cannot be removed (or lose a choice) while access
// rules read it. The error returned is an *InUseError.
var ErrInUse = errors.New("rules: property in use")

// RuleRef names a rule in errors and explanations.
type RuleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InUseError lists the rules that keep a property (or a choice) alive.
type InUseError struct {
	Key    string
	Choice string // empty when the whole property is concerned
	Rules  []RuleRef
}

func (e *InUseError) Error() string {
	names := make([]string, len(e.Rules))
	for i, r := range e.Rules {
		names[i] = r.Name
	}
	what := fmt.Sprintf("property %q", e.Key)
	if e.Choice != "" {
		what = fmt.Sprintf("choice %q of property %q", e.Choice, e.Key)
	}
	return fmt.Sprintf("%s is used by access rules: %s", what, strings.Join(names, ", "))
}

// Is makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Directory is what the service reads about accounts.
type Directory interface {
	GetAccount(ctx context.Context, id string) (store.Account, error)
	GetAccountByEmail(ctx context.Context, email string) (store.Account, error)
	ListMemberships(ctx context.Context, accountID string) ([]store.Membership, error)
}

// Actor is who makes a change, for the audit log.
type Actor struct {
	ID string // account id, "cli" or "system"
	IP string
}

// Service validates and applies changes to property definitions, values
// and access rules, audits them, and evaluates rules for the gate.
type Service struct {
	props  store.Properties
	dir    Directory
	audit  store.Audit
	roles  *account.Model
	now    func() time.Time
	rand   io.Reader
	logger *slog.Logger

	// CacheTTL bounds how long an evaluation is reused. Changes do not
	// wait for it: the store announces every committed change, on every
	// process, and the server calls Forget; it only bounds the cost of an
	// announcement that was lost.
	CacheTTL time.Duration
	// GrantBudget is the size in bytes of JSON that props and grants may
	// take before grants are sent in the compact form (see Evaluate).
	GrantBudget int
	// Import bounds CSV imports of values.
	Import ImportLimits

	mu       sync.Mutex
	version  uint64
	compiled map[string]*companyRules
	results  map[evalKey]*evalEntry
}

// Defaults of the tunables.
const (
	DefaultCacheTTL    = 30 * time.Second
	DefaultGrantBudget = 2048
	maxCachedResults   = 50000
)

// NewService returns a service over the given stores. rand supplies rule ids.
func NewService(props store.Properties, dir Directory, audit store.Audit, roles *account.Model, now func() time.Time, rand io.Reader, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		props: props, dir: dir, audit: audit, roles: roles, now: now, rand: rand, logger: logger,
		CacheTTL: DefaultCacheTTL, GrantBudget: DefaultGrantBudget, Import: DefaultImportLimits,
		compiled: map[string]*companyRules{}, results: map[evalKey]*evalEntry{},
	}
}

// changed drops what this service cached once it changed something
// itself, so its own next evaluation is fresh whoever else is told.
func (s *Service) changed() { s.Forget() }

// Forget drops every cached evaluation and compiled rule set, after a
// committed change to definitions, values, rules or the accounts they
// are evaluated for. An evaluation in flight is not cached.
func (s *Service) Forget() {
	s.mu.Lock()
	s.version++
	clear(s.compiled)
	clear(s.results)
	s.mu.Unlock()
}

func (s *Service) record(ctx context.Context, actor Actor, action, target, company string, before, after any) {
	e := store.AuditEvent{
		Time: s.now(), Actor: actor.ID, Action: action, Target: target, IP: actor.IP,
		Outcome: "ok", Category: "admin",
		Details: map[string]any{"company": company, "before": before, "after": after},
		// Rules and values live in one company: the event concerns it alone.
		Companies: []string{company},
	}
	if e.Actor == "" {
		e.Actor = account.ActorSystem
	}
	if err := s.audit.AppendAudit(ctx, e); err != nil {
		// The change is made; losing its audit line is logged loudly
		// rather than reported as a failed change.
		s.logger.Error("audit append failed", "action", action, "target", target, "err", err)
	}
}
