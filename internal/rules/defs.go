package rules

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

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
	var ps validation.Problems
	if choices != nil {
		if after.Type != store.PropertyChoice && after.Type != store.PropertyMultiChoice {
			ps.Add("choices", "not_allowed", "only choice and multi_choice properties have choices")
		} else {
			after.Choices = choices
		}
	}
	validateDef(&ps, after)
	if err := ps.Err(); err != nil {
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
			ps.Add("choices", "in_use", "accounts still holding %[2]q: %[1]d; change their value first", len(holders), removed)
		}
	}
	if err := ps.Err(); err != nil {
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

// defAudit is a property definition as the audit log keeps it: named
// fields, as the API shows them, never the Go struct's field names.
func defAudit(d store.PropertyDef) map[string]any {
	return map[string]any{"key": d.Key, "type": d.Type, "labels": d.Labels, "choices": d.Choices}
}
