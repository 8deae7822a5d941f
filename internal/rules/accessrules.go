package rules

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

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
	var ps validation.Problems
	for field, missing := range map[string]bool{"name": in.Name == nil, "capability": in.Capability == nil, "tag": in.Tag == nil, "condition": len(in.Condition) == 0} {
		if missing {
			ps.Add(field, "required", "this field is required")
		}
	}
	if err := ps.Err(); err != nil {
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
func ruleAudit(r store.AccessRule) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "position": r.Position, "enabled": r.Enabled,
		"condition": json.RawMessage(r.Condition), "capability": r.Capability, "tag": r.Tag,
	}
}

// prepareRule applies in to r and validates the result.
func (s *Service) prepareRule(ctx context.Context, r store.AccessRule, in RuleInput) (store.AccessRule, error) {
	var ps validation.Problems
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
		ps.Add("position", "invalid", "positions start at 1")
	}
	var cond Condition
	if len(in.Condition) > 0 {
		c, err := ParseCondition(in.Condition)
		if err != nil {
			ps.Add("condition", "invalid", "the condition is not valid JSON of the expected shape: %v", err)
			return r, ps.Err()
		}
		cond = c
	} else {
		c, err := ParseCondition(r.Condition)
		if err != nil {
			ps.Add("condition", "invalid", "the stored condition is damaged; submit a new one")
			return r, ps.Err()
		}
		cond = c
	}
	defs, err := s.defMap(ctx, r.CompanyID)
	if err != nil {
		return r, err
	}
	validateRule(&ps, r, cond, defs, s.roles)
	if err := ps.Err(); err != nil {
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
