package adminsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Account properties and access rules belong to a company. The rules,
// the same whichever transport asks:
//   - definitions and access rules: admin_panel in that company;
//   - an account's values (read, set, import, explain, relations): also
//     manage_users there, and the account must be one the caller manages,
//     because values describe a person as much as their profile does;
//   - a rule of another company is not found, so its existence is not
//     revealed.

// hidden is a refusal answered as "not found", so that what the caller may
// not see is not revealed to exist; the audit log still records a refusal.
type hidden struct{ refusal error }

func (h hidden) Error() string { return "not found: " + h.refusal.Error() }

// Is makes a hidden refusal store.ErrNotFound to its callers; Refused
// recognises it as a refusal.
func (h hidden) Is(target error) bool { return target == store.ErrNotFound }

// Companies lists the companies where the caller may run op, for a
// transport to offer as choices.
func (s *Service) Companies(c authz.Caller, op Op) []string {
	var out []string
	for _, co := range s.Policy.Companies(c, capPanel) {
		if s.inCompany(c, op, co) == nil {
			out = append(out, co)
		}
	}
	return out
}

// Company is the company a properties or rules call concerns: the one
// named, which must be one where the caller may run op, or the caller's
// only such company. A refused change is recorded, as op would.
func (s *Service) Company(ctx context.Context, c authz.Caller, op Op, named string) (_ string, err error) {
	defer s.finish(ctx, c, op, named, &err)
	if named != "" {
		return named, s.inCompany(c, op, named)
	}
	cs := s.Companies(c, op)
	switch len(cs) {
	case 0:
		return "", authz.ErrForbidden
	case 1:
		return cs[0], nil
	}
	return "", apperr.ErrCompanyRequired
}

// inCompany checks the caller may run op in company: every capability op
// needs, held there.
func (s *Service) inCompany(c authz.Caller, op Op, company string) error {
	if company == "" {
		return authz.ErrForbidden
	}
	for _, capability := range op.Needs {
		if !s.Policy.HasIn(c, company, capability) {
			return fmt.Errorf("%w: needs %s in %s", authz.ErrForbidden, capability, company)
		}
	}
	return nil
}

// scope starts a properties or rules operation in company and returns the
// actor the rules service records.
func (s *Service) scope(ctx context.Context, c authz.Caller, op Op, company string) (rules.Actor, error) {
	if err := s.Permit(c, op); err != nil {
		return rules.Actor{}, err
	}
	if s.Rules == nil {
		return rules.Actor{}, fmt.Errorf("%w: account properties", apperr.ErrUnavailable)
	}
	if err := s.inCompany(c, op, company); err != nil {
		return rules.Actor{}, err
	}
	return rules.Actor{ID: c.Account.ID, IP: account.AuditIP(ctx)}, nil
}

// valuesScope is scope for an operation on one account's values.
func (s *Service) valuesScope(ctx context.Context, c authz.Caller, op Op, accountID, company string) (rules.Actor, error) {
	actor, err := s.scope(ctx, c, op, company)
	if err != nil {
		return rules.Actor{}, err
	}
	if _, _, err := s.target(ctx, c, accountID); err != nil {
		return rules.Actor{}, err
	}
	return actor, nil
}

// ---- definitions

// ListProperties lists the property definitions of company.
func (s *Service) ListProperties(ctx context.Context, c authz.Caller, company string) ([]store.PropertyDef, error) {
	if _, err := s.scope(ctx, c, OpPropertyList, company); err != nil {
		return nil, err
	}
	return s.Rules.ListDefs(ctx, company)
}

// GetProperty reads one property definition of company.
func (s *Service) GetProperty(ctx context.Context, c authz.Caller, company, key string) (store.PropertyDef, error) {
	if _, err := s.scope(ctx, c, OpPropertyGet, company); err != nil {
		return store.PropertyDef{}, err
	}
	return s.Rules.GetDef(ctx, company, key)
}

// CreateProperty defines a property in d.CompanyID.
func (s *Service) CreateProperty(ctx context.Context, c authz.Caller, d store.PropertyDef) (_ store.PropertyDef, err error) {
	defer s.finish(ctx, c, OpPropertyCreate, d.Key, &err)
	actor, err := s.scope(ctx, c, OpPropertyCreate, d.CompanyID)
	if err != nil {
		return store.PropertyDef{}, err
	}
	return s.Rules.CreateDef(ctx, actor, d)
}

// UpdateProperty changes the labels and choices of a property.
func (s *Service) UpdateProperty(ctx context.Context, c authz.Caller, company, key string, labels map[string]string, choices []string) (_ store.PropertyDef, err error) {
	defer s.finish(ctx, c, OpPropertyUpdate, key, &err)
	actor, err := s.scope(ctx, c, OpPropertyUpdate, company)
	if err != nil {
		return store.PropertyDef{}, err
	}
	return s.Rules.UpdateDef(ctx, actor, company, key, labels, choices)
}

// DeleteProperty deletes a property and its values; one an access rule
// uses is refused with *rules.InUseError.
func (s *Service) DeleteProperty(ctx context.Context, c authz.Caller, company, key string) (err error) {
	defer s.finish(ctx, c, OpPropertyDelete, key, &err)
	actor, err := s.scope(ctx, c, OpPropertyDelete, company)
	if err != nil {
		return err
	}
	return s.Rules.DeleteDef(ctx, actor, company, key)
}

// ---- values

// PropertyValues reads an account's property values in company.
func (s *Service) PropertyValues(ctx context.Context, c authz.Caller, accountID, company string) (map[string]any, error) {
	if _, err := s.valuesScope(ctx, c, OpValuesGet, accountID, company); err != nil {
		return nil, err
	}
	return s.Rules.Values(ctx, accountID, company)
}

// SetPropertyValues sets some of an account's values in company: each key
// maps to its new values, an empty list clearing it; keys not given stay.
// It returns the values afterwards.
func (s *Service) SetPropertyValues(ctx context.Context, c authz.Caller, accountID, company string, values map[string][]string) (_ map[string]any, err error) {
	defer s.finish(ctx, c, OpValuesSet, accountID, &err)
	actor, err := s.valuesScope(ctx, c, OpValuesSet, accountID, company)
	if err != nil {
		return nil, err
	}
	if err := s.Rules.SetValues(ctx, actor, accountID, company, values); err != nil {
		return nil, err
	}
	return s.Rules.Values(ctx, accountID, company)
}

// ValueDefinitions lists the properties of company for a form that sets
// an account's values there: it is refused, and recorded, as setting them
// would be.
func (s *Service) ValueDefinitions(ctx context.Context, c authz.Caller, accountID, company string) (_ []store.PropertyDef, err error) {
	defer s.finish(ctx, c, OpValuesSet, accountID, &err)
	if _, err := s.valuesScope(ctx, c, OpValuesSet, accountID, company); err != nil {
		return nil, err
	}
	return s.Rules.ListDefs(ctx, company)
}

// PreviewImport checks a CSV of values for company without applying it.
func (s *Service) PreviewImport(ctx context.Context, c authz.Caller, company string, data []byte) (rules.ImportReport, error) {
	if _, err := s.scope(ctx, c, OpValuesImportPreview, company); err != nil {
		return rules.ImportReport{}, err
	}
	return s.Rules.PreviewImport(ctx, company, data)
}

// ApplyImport applies a previewed CSV of values (confirm is the preview's
// token). Every account it names is a member of company, so one the
// caller manages.
func (s *Service) ApplyImport(ctx context.Context, c authz.Caller, company string, data []byte, confirm string) (_ rules.ImportReport, err error) {
	defer s.finish(ctx, c, OpValuesImport, company, &err)
	actor, err := s.scope(ctx, c, OpValuesImport, company)
	if err != nil {
		return rules.ImportReport{}, err
	}
	return s.Rules.ApplyImport(ctx, actor, company, data, confirm)
}

// Relations lists, in each company given, the accounts linked to object
// or, when accountID is set instead, the objects that account is linked
// to. No company means every company where the caller may.
func (s *Service) Relations(ctx context.Context, c authz.Caller, companies []string, object, accountID, key string) ([]rules.Link, error) {
	if len(companies) == 0 {
		if err := s.Permit(c, OpRelationList); err != nil {
			return nil, err
		}
		if companies = s.Companies(c, OpRelationList); len(companies) == 0 {
			return nil, authz.ErrForbidden
		}
	}
	links := []rules.Link{}
	for _, co := range companies {
		var found []rules.Link
		var err error
		if accountID != "" {
			if _, err = s.valuesScope(ctx, c, OpRelationList, accountID, co); err == nil {
				found, err = s.Rules.LinkedObjects(ctx, accountID, co, key)
			}
		} else if _, err = s.scope(ctx, c, OpRelationList, co); err == nil {
			found, err = s.Rules.LinkedAccounts(ctx, object, co, key)
		}
		if err != nil {
			return nil, err
		}
		links = append(links, found...)
	}
	return links, nil
}

// ---- access rules

// ListRules lists the access rules of company in evaluation order.
func (s *Service) ListRules(ctx context.Context, c authz.Caller, company string) ([]store.AccessRule, error) {
	if _, err := s.scope(ctx, c, OpRuleList, company); err != nil {
		return nil, err
	}
	return s.Rules.ListRules(ctx, company)
}

// rule reads a rule for op: not found when it is another company's.
func (s *Service) rule(ctx context.Context, c authz.Caller, op Op, id string) (store.AccessRule, rules.Actor, error) {
	if err := s.Permit(c, op); err != nil {
		return store.AccessRule{}, rules.Actor{}, err
	}
	if s.Rules == nil {
		return store.AccessRule{}, rules.Actor{}, fmt.Errorf("%w: access rules", apperr.ErrUnavailable)
	}
	rl, err := s.Rules.GetRule(ctx, id)
	if err != nil {
		return store.AccessRule{}, rules.Actor{}, err
	}
	actor, err := s.scope(ctx, c, op, rl.CompanyID)
	if errors.Is(err, authz.ErrForbidden) {
		return store.AccessRule{}, rules.Actor{}, hidden{err}
	}
	return rl, actor, err
}

// GetRule reads one access rule.
func (s *Service) GetRule(ctx context.Context, c authz.Caller, id string) (store.AccessRule, error) {
	rl, _, err := s.rule(ctx, c, OpRuleGet, id)
	return rl, err
}

// CreateRule adds an access rule to company.
func (s *Service) CreateRule(ctx context.Context, c authz.Caller, company string, in rules.RuleInput) (_ store.AccessRule, err error) {
	defer s.finish(ctx, c, OpRuleCreate, company, &err)
	actor, err := s.scope(ctx, c, OpRuleCreate, company)
	if err != nil {
		return store.AccessRule{}, err
	}
	return s.Rules.CreateRule(ctx, actor, company, in)
}

// UpdateRule replaces an access rule.
func (s *Service) UpdateRule(ctx context.Context, c authz.Caller, id string, in rules.RuleInput) (_ store.AccessRule, err error) {
	defer s.finish(ctx, c, OpRuleUpdate, id, &err)
	_, actor, err := s.rule(ctx, c, OpRuleUpdate, id)
	if err != nil {
		return store.AccessRule{}, err
	}
	return s.Rules.UpdateRule(ctx, actor, id, in)
}

// DeleteRule deletes an access rule and returns what it was.
func (s *Service) DeleteRule(ctx context.Context, c authz.Caller, id string) (_ store.AccessRule, err error) {
	defer s.finish(ctx, c, OpRuleDelete, id, &err)
	rl, actor, err := s.rule(ctx, c, OpRuleDelete, id)
	if err != nil {
		return store.AccessRule{}, err
	}
	return rl, s.Rules.DeleteRule(ctx, actor, id)
}

// Explain shows how company's rules decide capability (or tag) for an
// account, rule by rule.
func (s *Service) Explain(ctx context.Context, c authz.Caller, accountID, company, capability, tag string) (rules.Explanation, error) {
	if _, err := s.valuesScope(ctx, c, OpRuleExplain, accountID, company); err != nil {
		return rules.Explanation{}, err
	}
	return s.Rules.Explain(ctx, accountID, company, capability, tag)
}
