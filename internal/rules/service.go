package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
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

// ---- definitions

// ListDefs lists the company's property definitions by key.
func (s *Service) ListDefs(ctx context.Context, company string) ([]store.PropertyDef, error) {
	defs, err := s.props.ListPropertyDefs(ctx, company)
	if defs == nil {
		defs = []store.PropertyDef{}
	}
	return defs, err
}

// GetDef returns one definition (store.ErrNotFound when there is none).
func (s *Service) GetDef(ctx context.Context, company, key string) (store.PropertyDef, error) {
	return s.props.GetPropertyDef(ctx, company, key)
}

// CreateDef validates and stores a new definition.
func (s *Service) CreateDef(ctx context.Context, actor Actor, d store.PropertyDef) (store.PropertyDef, error) {
	if err := ValidateDef(d); err != nil {
		return store.PropertyDef{}, err
	}
	now := s.now().UTC()
	d.CreatedAt, d.UpdatedAt = now, now
	if err := s.props.CreatePropertyDef(ctx, d); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.PropertyDef{}, &account.ConflictError{Field: "key", Message: fmt.Sprintf("property %q already exists in this company", d.Key)}
		}
		return store.PropertyDef{}, err
	}
	s.record(ctx, actor, "property.create", "property:"+d.CompanyID+"/"+d.Key, d.CompanyID, nil, defAudit(d))
	s.changed()
	return d, nil
}

// cloneDef copies d's choices and labels, so that editing the copy leaves
// d, the state before the change that the audit records, as it was.
func cloneDef(d store.PropertyDef) store.PropertyDef {
	d.Choices = slices.Clone(d.Choices)
	d.Labels = maps.Clone(d.Labels)
	return d
}

// UpdateDef renames a definition (labels) and, for choice types, replaces
// its choices. nil leaves a part unchanged. The key and type never change.
// A choice that rules or accounts still use cannot be removed.
func (s *Service) UpdateDef(ctx context.Context, actor Actor, company, key string, labels map[string]string, choices []string) (store.PropertyDef, error) {
	before, err := s.props.GetPropertyDef(ctx, company, key)
	if err != nil {
		return store.PropertyDef{}, err
	}
	after := cloneDef(before)
	if labels != nil {
		after.Labels = labels
	}
	var ps problems
	if choices != nil {
		if after.Type != store.PropertyChoice && after.Type != store.PropertyMultiChoice {
			ps.add("choices", "not_allowed", "only choice and multi_choice properties have choices")
		} else {
			after.Choices = choices
		}
	}
	validateDef(&ps, after)
	if err := ps.err(); err != nil {
		return store.PropertyDef{}, err
	}
	for _, removed := range before.Choices {
		if slices.Contains(after.Choices, removed) {
			continue
		}
		users, err := s.rulesUsing(ctx, company, key, removed)
		if err != nil {
			return store.PropertyDef{}, err
		}
		if len(users) > 0 {
			return store.PropertyDef{}, &InUseError{Key: key, Choice: removed, Rules: users}
		}
		holders, err := s.props.FindAccountsByValue(ctx, company, key, removed)
		if err != nil {
			return store.PropertyDef{}, err
		}
		if len(holders) > 0 {
			ps.add("choices", "in_use", "accounts still holding %[2]q: %[1]d; change their value first", len(holders), removed)
		}
	}
	if err := ps.err(); err != nil {
		return store.PropertyDef{}, err
	}
	after.UpdatedAt = s.now().UTC()
	if err := s.props.UpdatePropertyDef(ctx, after); err != nil {
		return store.PropertyDef{}, err
	}
	s.record(ctx, actor, "property.update", "property:"+company+"/"+key, company, defAudit(before), defAudit(after))
	s.changed()
	return after, nil
}

// DeleteDef removes a definition and its values, unless a rule reads it.
func (s *Service) DeleteDef(ctx context.Context, actor Actor, company, key string) error {
	before, err := s.props.GetPropertyDef(ctx, company, key)
	if err != nil {
		return err
	}
	users, err := s.rulesUsing(ctx, company, key, "")
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return &InUseError{Key: key, Rules: users}
	}
	if err := s.props.DeletePropertyDef(ctx, company, key); err != nil {
		return err
	}
	s.record(ctx, actor, "property.delete", "property:"+company+"/"+key, company, defAudit(before), nil)
	s.changed()
	return nil
}

// rulesUsing lists the company's rules (enabled or not) whose condition
// reads key, or compares key with choice when choice is set.
func (s *Service) rulesUsing(ctx context.Context, company, key, choice string) ([]RuleRef, error) {
	rules, err := s.props.ListAccessRules(ctx, company)
	if err != nil {
		return nil, err
	}
	var refs []RuleRef
	for _, r := range rules {
		cond, err := ParseCondition(r.Condition)
		if err != nil {
			continue
		}
		uses := slices.Contains(cond.Properties(), key)
		if choice != "" {
			uses = cond.usesChoice(key, choice)
		}
		if uses {
			refs = append(refs, RuleRef{ID: r.ID, Name: r.Name})
		}
	}
	return refs, nil
}

// ---- values

// Values returns the account's property values in the company, shaped for
// JSON: a string for text and choice, a list for multi_choice and relation.
func (s *Service) Values(ctx context.Context, accountID, company string) (map[string]any, error) {
	if _, err := s.dir.GetAccount(ctx, accountID); err != nil {
		return nil, err
	}
	defs, err := s.defMap(ctx, company)
	if err != nil {
		return nil, err
	}
	vals, err := s.props.ListPropertyValues(ctx, accountID, company)
	if err != nil {
		return nil, err
	}
	return shapeValues(defs, vals), nil
}

func shapeValues(defs map[string]store.PropertyDef, vals []store.PropertyValue) map[string]any {
	out := make(map[string]any, len(vals))
	for _, v := range vals {
		d, ok := defs[v.Key]
		if !ok || len(v.Values) == 0 {
			continue
		}
		out[v.Key] = shapeValue(d, v.Values)
	}
	return out
}

func shapeValue(d store.PropertyDef, values []string) any {
	if d.Type == store.PropertyText || d.Type == store.PropertyChoice {
		if len(values) == 0 {
			return nil
		}
		return values[0]
	}
	if values == nil {
		return []string{}
	}
	return values
}

func (s *Service) defMap(ctx context.Context, company string) (map[string]store.PropertyDef, error) {
	defs, err := s.props.ListPropertyDefs(ctx, company)
	if err != nil {
		return nil, err
	}
	m := make(map[string]store.PropertyDef, len(defs))
	for _, d := range defs {
		m[d.Key] = d
	}
	return m, nil
}

// SetValues sets some of an account's values in a company: each key maps
// to its new values, an empty list clearing it; keys not given are left
// alone. Everything is validated first; on any problem nothing changes.
func (s *Service) SetValues(ctx context.Context, actor Actor, accountID, company string, values map[string][]string) error {
	acc, defs, err := s.checkValues(ctx, accountID, company, values)
	if err != nil {
		return err
	}
	return s.applyValues(ctx, actor, acc.ID, company, defs, values, "property.values.set")
}

// SetValuesIn is SetValues as one step of the caller's transaction tx:
// its writes and its audit event commit, or roll back, with the caller's
// own. The caller calls Changed once tx has committed.
func (s *Service) SetValuesIn(ctx context.Context, tx store.Store, actor Actor, accountID, company string, values map[string][]string) error {
	// A service over tx alone, without caches: dropping them before the
	// commit could let a reader cache the old values again.
	in := &Service{props: tx, dir: tx, audit: tx, roles: s.roles, now: s.now, rand: s.rand, logger: s.logger}
	return in.SetValues(ctx, actor, accountID, company, values)
}

// Changed drops every cached evaluation and tells the gate, after a
// caller's transaction changed values through SetValuesIn.
func (s *Service) Changed() { s.changed() }

// CheckValues validates values exactly as SetValues does, changing
// nothing, for callers that must know a change will pass before they
// make others alongside it.
func (s *Service) CheckValues(ctx context.Context, accountID, company string, values map[string][]string) error {
	_, _, err := s.checkValues(ctx, accountID, company, values)
	return err
}

func (s *Service) checkValues(ctx context.Context, accountID, company string, values map[string][]string) (store.Account, map[string]store.PropertyDef, error) {
	acc, err := s.dir.GetAccount(ctx, accountID)
	if err != nil {
		return store.Account{}, nil, err
	}
	defs, err := s.defMap(ctx, company)
	if err != nil {
		return store.Account{}, nil, err
	}
	var ps problems
	if err := s.checkMember(ctx, &ps, acc.ID, company); err != nil {
		return store.Account{}, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		d, ok := defs[k]
		if !ok {
			ps.add(k, "unknown", "no property %q in this company", k)
			continue
		}
		validateValues(&ps, d, k, values[k])
	}
	if err := ps.err(); err != nil {
		return store.Account{}, nil, err
	}
	return acc, defs, nil
}

func (s *Service) checkMember(ctx context.Context, ps *problems, accountID, company string) error {
	ms, err := s.dir.ListMemberships(ctx, accountID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.CompanyID == company {
			return nil
		}
	}
	ps.add("account", "not_member", "the account does not belong to company %q", company)
	return nil
}

func (s *Service) applyValues(ctx context.Context, actor Actor, accountID, company string, defs map[string]store.PropertyDef, values map[string][]string, action string) error {
	old, err := s.props.ListPropertyValues(ctx, accountID, company)
	if err != nil {
		return err
	}
	before := shapeValues(defs, old)
	now := s.now().UTC()
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v := store.PropertyValue{AccountID: accountID, CompanyID: company, Key: k, Values: values[k], UpdatedAt: now}
		if err := s.props.SetPropertyValue(ctx, v); err != nil {
			return err
		}
	}
	after := make(map[string]any, len(before)+len(values))
	for k, v := range before {
		after[k] = v
	}
	for k, v := range values {
		if len(v) == 0 {
			delete(after, k)
		} else {
			after[k] = shapeValue(defs[k], v)
		}
	}
	s.record(ctx, actor, action, accountID, company, before, after)
	s.changed()
	return nil
}

// ---- relations

// Link is one relation between an account and an app's object.
type Link struct {
	Company string `json:"company"`
	Key     string `json:"key"`
	Account string `json:"account"`
	Object  string `json:"object"`
}

// LinkedObjects lists the objects the account is linked to through the
// company's relation properties (only key when it is set).
func (s *Service) LinkedObjects(ctx context.Context, accountID, company, key string) ([]Link, error) {
	defs, err := s.relationDefs(ctx, company, key)
	if err != nil {
		return nil, err
	}
	vals, err := s.props.ListPropertyValues(ctx, accountID, company)
	if err != nil {
		return nil, err
	}
	links := []Link{}
	for _, v := range vals {
		if !slices.ContainsFunc(defs, func(d store.PropertyDef) bool { return d.Key == v.Key }) {
			continue
		}
		for _, obj := range v.Values {
			links = append(links, Link{Company: company, Key: v.Key, Account: accountID, Object: obj})
		}
	}
	return links, nil
}

// LinkedAccounts lists the accounts linked to object through the company's
// relation properties (only key when it is set).
func (s *Service) LinkedAccounts(ctx context.Context, object, company, key string) ([]Link, error) {
	defs, err := s.relationDefs(ctx, company, key)
	if err != nil {
		return nil, err
	}
	links := []Link{}
	for _, d := range defs {
		ids, err := s.props.FindAccountsByValue(ctx, company, d.Key, object)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			links = append(links, Link{Company: company, Key: d.Key, Account: id, Object: object})
		}
	}
	return links, nil
}

func (s *Service) relationDefs(ctx context.Context, company, key string) ([]store.PropertyDef, error) {
	defs, err := s.props.ListPropertyDefs(ctx, company)
	if err != nil {
		return nil, err
	}
	var out []store.PropertyDef
	for _, d := range defs {
		if d.Type == store.PropertyRelation && (key == "" || d.Key == key) {
			out = append(out, d)
		}
	}
	return out, nil
}

// ---- rules

// RuleInput is a rule as an admin submits it. On update, nil fields are
// left unchanged. Position is 1-based; nil on create appends the rule.
type RuleInput struct {
	Name       *string         `json:"name"`
	Enabled    *bool           `json:"enabled"`
	Condition  json.RawMessage `json:"condition"`
	Capability *string         `json:"capability"`
	Tag        *string         `json:"tag"`
	Position   *int            `json:"position"`
}

// ListRules lists the company's rules in evaluation order.
func (s *Service) ListRules(ctx context.Context, company string) ([]store.AccessRule, error) {
	rules, err := s.props.ListAccessRules(ctx, company)
	if rules == nil {
		rules = []store.AccessRule{}
	}
	return rules, err
}

// GetRule returns one rule (store.ErrNotFound when there is none).
func (s *Service) GetRule(ctx context.Context, id string) (store.AccessRule, error) {
	return s.props.GetAccessRule(ctx, id)
}

// CreateRule validates and stores a new rule of the company.
func (s *Service) CreateRule(ctx context.Context, actor Actor, company string, in RuleInput) (store.AccessRule, error) {
	id, err := account.NewID(s.rand, "rule_")
	if err != nil {
		return store.AccessRule{}, err
	}
	now := s.now().UTC()
	r := store.AccessRule{ID: id, CompanyID: company, Enabled: true, CreatedAt: now, UpdatedAt: now}
	var ps problems
	for field, missing := range map[string]bool{"name": in.Name == nil, "capability": in.Capability == nil, "tag": in.Tag == nil, "condition": len(in.Condition) == 0} {
		if missing {
			ps.add(field, "required", "this field is required")
		}
	}
	if err := ps.err(); err != nil {
		return store.AccessRule{}, err
	}
	r, err = s.prepareRule(ctx, r, in)
	if err != nil {
		return store.AccessRule{}, err
	}
	existing, err := s.props.ListAccessRules(ctx, company)
	if err != nil {
		return store.AccessRule{}, err
	}
	pos := len(existing) + 1
	if in.Position != nil {
		pos = *in.Position
	}
	r.Position = len(existing) + 1 // appended, then moved into place
	if err := s.props.CreateAccessRule(ctx, r); err != nil {
		return store.AccessRule{}, err
	}
	r, err = s.place(ctx, r, pos)
	if err != nil {
		return store.AccessRule{}, err
	}
	s.record(ctx, actor, "access_rule.create", "access_rule:"+r.ID, company, nil, ruleAudit(r))
	s.changed()
	return r, nil
}

// UpdateRule applies the given fields to a rule.
func (s *Service) UpdateRule(ctx context.Context, actor Actor, id string, in RuleInput) (store.AccessRule, error) {
	before, err := s.props.GetAccessRule(ctx, id)
	if err != nil {
		return store.AccessRule{}, err
	}
	r, err := s.prepareRule(ctx, before, in)
	if err != nil {
		return store.AccessRule{}, err
	}
	r.UpdatedAt = s.now().UTC()
	if err := s.props.UpdateAccessRule(ctx, r); err != nil {
		return store.AccessRule{}, err
	}
	if in.Position != nil {
		if r, err = s.place(ctx, r, *in.Position); err != nil {
			return store.AccessRule{}, err
		}
	}
	s.record(ctx, actor, "access_rule.update", "access_rule:"+id, r.CompanyID, ruleAudit(before), ruleAudit(r))
	s.changed()
	return r, nil
}

// DeleteRule removes a rule and closes the gap in the order.
func (s *Service) DeleteRule(ctx context.Context, actor Actor, id string) error {
	before, err := s.props.GetAccessRule(ctx, id)
	if err != nil {
		return err
	}
	if err := s.props.DeleteAccessRule(ctx, id); err != nil {
		return err
	}
	if err := s.renumber(ctx, before.CompanyID, "", 0); err != nil {
		return err
	}
	s.record(ctx, actor, "access_rule.delete", "access_rule:"+id, before.CompanyID, ruleAudit(before), nil)
	s.changed()
	return nil
}

// ruleAudit shows the condition as JSON rather than bytes in audit details.
// defAudit is a property definition as the audit log keeps it: named
// fields, as the API shows them, never the Go struct's field names.
func defAudit(d store.PropertyDef) map[string]any {
	return map[string]any{"key": d.Key, "type": d.Type, "labels": d.Labels, "choices": d.Choices}
}

func ruleAudit(r store.AccessRule) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "position": r.Position, "enabled": r.Enabled,
		"condition": json.RawMessage(r.Condition), "capability": r.Capability, "tag": r.Tag,
	}
}

// prepareRule applies in to r and validates the result.
func (s *Service) prepareRule(ctx context.Context, r store.AccessRule, in RuleInput) (store.AccessRule, error) {
	var ps problems
	if in.Name != nil {
		r.Name = strings.TrimSpace(*in.Name)
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if in.Capability != nil {
		r.Capability = *in.Capability
	}
	if in.Tag != nil {
		r.Tag = *in.Tag
	}
	if in.Position != nil && *in.Position < 1 {
		ps.add("position", "invalid", "positions start at 1")
	}
	var cond Condition
	if len(in.Condition) > 0 {
		c, err := ParseCondition(in.Condition)
		if err != nil {
			ps.add("condition", "invalid", "the condition is not valid JSON of the expected shape: %v", err)
			return r, ps.err()
		}
		cond = c
	} else {
		c, err := ParseCondition(r.Condition)
		if err != nil {
			ps.add("condition", "invalid", "the stored condition is damaged; submit a new one")
			return r, ps.err()
		}
		cond = c
	}
	defs, err := s.defMap(ctx, r.CompanyID)
	if err != nil {
		return r, err
	}
	validateRule(&ps, r, cond, defs, s.roles)
	if err := ps.err(); err != nil {
		return r, err
	}
	// Stored in a canonical form, whatever spacing was submitted.
	if r.Condition, err = json.Marshal(cond); err != nil {
		return r, err
	}
	return r, nil
}

// place moves r to the 1-based position pos (clamped) and renumbers the
// company's rules 1..n.
func (s *Service) place(ctx context.Context, r store.AccessRule, pos int) (store.AccessRule, error) {
	if err := s.renumber(ctx, r.CompanyID, r.ID, pos); err != nil {
		return r, err
	}
	return s.props.GetAccessRule(ctx, r.ID)
}

func (s *Service) renumber(ctx context.Context, company, moveID string, pos int) error {
	rules, err := s.props.ListAccessRules(ctx, company)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(rules, func(r store.AccessRule) bool { return r.ID == moveID }); i >= 0 {
		moved := rules[i]
		rules = slices.Delete(rules, i, i+1)
		at := min(max(pos, 1), len(rules)+1) - 1
		rules = slices.Insert(rules, at, moved)
	}
	for i, r := range rules {
		if r.Position == i+1 {
			continue
		}
		r.Position = i + 1
		if err := s.props.UpdateAccessRule(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
