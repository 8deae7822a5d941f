package rules

import (
	"context"
	"maps"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

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
	var ps validation.Problems
	if err := s.checkMember(ctx, &ps, acc.ID, company); err != nil {
		return store.Account{}, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		d, ok := defs[k]
		if !ok {
			ps.Add(k, "unknown", "no property %q in this company", k)
			continue
		}
		validateValues(&ps, d, k, values[k])
	}
	if err := ps.Err(); err != nil {
		return store.Account{}, nil, err
	}
	return acc, defs, nil
}

func (s *Service) checkMember(ctx context.Context, ps *validation.Problems, accountID, company string) error {
	ms, err := s.dir.ListMemberships(ctx, accountID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.CompanyID == company {
			return nil
		}
	}
	ps.Add("account", "not_member", "the account does not belong to company %q", company)
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
