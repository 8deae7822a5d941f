package api

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/rules"
)

// PropertyValues reads, checks and sets account property values; the
// rules service (rules.Service) is one, and the one the gate evaluates,
// so a change reaches the next assertion.
type PropertyValues interface {
	CheckValues(ctx context.Context, accountID, company string, values map[string][]string) error
	SetValues(ctx context.Context, actor rules.Actor, accountID, company string, values map[string][]string) error
	Values(ctx context.Context, accountID, company string) (map[string]any, error)
}

// PropertiesUpdate sets some of an account's property values in one
// company, as PATCH accounts/{id}/properties does: each key maps to its
// new values, an empty list clearing it; keys not given stay.
type PropertiesUpdate struct {
	Company string
	Values  map[string][]string
}

// PropertiesJSON is an account's property values in one company.
type PropertiesJSON struct {
	Company string         `json:"company"`
	Values  map[string]any `json:"values"`
}

// AccountUpdated is the answer to an update: the account and, when the
// update set properties, their values in that company afterwards.
type AccountUpdated struct {
	AccountJSON
	Properties *PropertiesJSON `json:"properties,omitempty"`
}

var errNoProperties = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "account properties are not available on this gateway"}

// UpdateAccountAndProperties changes the profile as UpdateAccount does
// and, when p is given, the account's property values in p.Company, which
// needs admin_panel there, as the properties API does. Everything is
// checked before anything is written, so a refused update changes nothing.
func (s *Service) UpdateAccountAndProperties(ctx context.Context, c authz.Caller, id string, u account.ProfileUpdate, p *PropertiesUpdate) (AccountUpdated, error) {
	acc, err := s.target(ctx, c, id)
	if err != nil {
		return AccountUpdated{}, err
	}
	if p != nil {
		if err := s.checkProperties(ctx, c, id, p); err != nil {
			return AccountUpdated{}, err
		}
	}
	if u != (account.ProfileUpdate{}) {
		if acc, err = s.Accounts.UpdateProfile(ctx, c.Account.ID, id, u); err != nil {
			return AccountUpdated{}, err
		}
	}
	var out AccountUpdated
	if p != nil {
		actor := rules.Actor{ID: c.Account.ID, IP: account.AuditIP(ctx)}
		if err := s.Properties.SetValues(ctx, actor, id, p.Company, p.Values); err != nil {
			return AccountUpdated{}, propertyFields(err)
		}
		vals, err := s.Properties.Values(ctx, id, p.Company)
		if err != nil {
			return AccountUpdated{}, err
		}
		out.Properties = &PropertiesJSON{Company: p.Company, Values: vals}
	}
	if out.AccountJSON, err = s.view(ctx, acc); err != nil {
		return AccountUpdated{}, err
	}
	return out, nil
}

func (s *Service) checkProperties(ctx context.Context, c authz.Caller, id string, p *PropertiesUpdate) error {
	if s.Properties == nil {
		return errNoProperties
	}
	if p.Company == "" {
		return problem("properties.company", "required", "name the company whose properties these are")
	}
	if !s.Policy.HasIn(c, p.Company, account.CapAdminPanel) {
		return authz.ErrForbidden
	}
	return propertyFields(s.Properties.CheckValues(ctx, id, p.Company, p.Values))
}

// propertyFields names the rules service's problems by their place in the
// PATCH body: a key's problem under properties.values, membership of the
// company under properties.company.
func propertyFields(err error) error {
	var ve *account.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &account.ValidationError{Problems: make([]account.FieldProblem, len(ve.Problems))}
	for i, p := range ve.Problems {
		if p.Field == "account" {
			p.Field = "properties.company"
		} else {
			p.Field = "properties.values." + p.Field
		}
		out.Problems[i] = p
	}
	return out
}
