package rules

import (
	"context"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

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
