package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.Properties = (*Store)(nil)

const propertyDefCols = `company_id, prop_key, labels, type, choices, created_at, updated_at`

func scanPropertyDef(row interface{ Scan(...any) error }) (store.PropertyDef, error) {
	var d store.PropertyDef
	var labels, choices string
	var created, updated int64
	if err := row.Scan(&d.CompanyID, &d.Key, &labels, &d.Type, &choices, &created, &updated); err != nil {
		return store.PropertyDef{}, err
	}
	if err := json.Unmarshal([]byte(labels), &d.Labels); err != nil {
		return store.PropertyDef{}, err
	}
	if err := json.Unmarshal([]byte(choices), &d.Choices); err != nil {
		return store.PropertyDef{}, err
	}
	if len(d.Labels) == 0 {
		d.Labels = nil
	}
	if len(d.Choices) == 0 {
		d.Choices = nil
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

// encodeDef gives the JSON columns of d; nil becomes an empty object or
// list so the columns never hold "null".
func encodeDef(d store.PropertyDef) (labels, choices string, err error) {
	l, c := d.Labels, d.Choices
	if l == nil {
		l = map[string]string{}
	}
	if c == nil {
		c = []string{}
	}
	lj, err := json.Marshal(l)
	if err != nil {
		return "", "", err
	}
	cj, err := json.Marshal(c)
	if err != nil {
		return "", "", err
	}
	return string(lj), string(cj), nil
}

// CreatePropertyDef stores d; missing times are now. ErrConflict when the
// company already has the key, ErrNotFound when the company does not exist.
func (s *Store) CreatePropertyDef(ctx context.Context, d store.PropertyDef) error {
	if d.CompanyID == "" || d.Key == "" {
		return errors.New("store: create property: empty company or key")
	}
	labels, choices, err := encodeDef(d)
	if err != nil {
		return s.fail(err, "create property %s/%s: encode", d.CompanyID, d.Key)
	}
	d.CreatedAt, d.UpdatedAt = s.newTimes(d.CreatedAt, d.UpdatedAt)
	_, err = s.w().ExecContext(ctx, `INSERT INTO property_defs (`+propertyDefCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.CompanyID, d.Key, labels, d.Type, choices, micros(d.CreatedAt), micros(d.UpdatedAt))
	if err != nil {
		return s.fail(err, "create property %s/%s", d.CompanyID, d.Key)
	}
	s.companyChanged(ctx, d.CompanyID)
	return nil
}

// UpdatePropertyDef replaces the labels, type and choices of the
// definition (company and key name it; CreatedAt is kept) and sets
// UpdatedAt, now when missing. Values already set are left as they are:
// what a changed type or choice list means for them is the domain's call.
func (s *Store) UpdatePropertyDef(ctx context.Context, d store.PropertyDef) error {
	labels, choices, err := encodeDef(d)
	if err != nil {
		return s.fail(err, "update property %s/%s: encode", d.CompanyID, d.Key)
	}
	res, err := s.w().ExecContext(ctx, `UPDATE property_defs SET labels = $3, type = $4, choices = $5, updated_at = $6
		WHERE company_id = $1 AND prop_key = $2`,
		d.CompanyID, d.Key, labels, d.Type, choices, micros(s.orNow(d.UpdatedAt)))
	if err := s.mustAffect(res, err, "update property %s/%s", d.CompanyID, d.Key); err != nil {
		return err
	}
	s.companyChanged(ctx, d.CompanyID)
	return nil
}

// GetPropertyDef returns the company's definition of key.
func (s *Store) GetPropertyDef(ctx context.Context, companyID, key string) (store.PropertyDef, error) {
	d, err := scanPropertyDef(s.r().QueryRowContext(ctx, `SELECT `+propertyDefCols+` FROM property_defs
		WHERE company_id = $1 AND prop_key = $2`, companyID, key))
	if err != nil {
		return store.PropertyDef{}, s.fail(err, "get property %s/%s", companyID, key)
	}
	return d, nil
}

// ListPropertyDefs returns the company's definitions ordered by key.
func (s *Store) ListPropertyDefs(ctx context.Context, companyID string) ([]store.PropertyDef, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+propertyDefCols+` FROM property_defs
		WHERE company_id = $1 ORDER BY prop_key`, companyID)
	if err != nil {
		return nil, s.fail(err, "list properties of %q", companyID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.PropertyDef, error) { return scanPropertyDef(r) })
	if err != nil {
		return nil, s.fail(err, "list properties of %q", companyID)
	}
	return out, nil
}

// DeletePropertyDef removes the definition and, by cascade, every
// account's value of it; ErrNotFound when there is no such definition.
func (s *Store) DeletePropertyDef(ctx context.Context, companyID, key string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM property_defs WHERE company_id = $1 AND prop_key = $2`, companyID, key)
	if err := s.mustAffect(res, err, "delete property %s/%s", companyID, key); err != nil {
		return err
	}
	s.companyChanged(ctx, companyID)
	return nil
}

// SetPropertyValue replaces the account's value of the property in one
// transaction; empty Values deletes it. A missing UpdatedAt is now.
// ErrNotFound when the account or the definition does not exist. Values
// are kept in the order given, duplicates included: normalising them is
// the domain's job.
func (s *Store) SetPropertyValue(ctx context.Context, v store.PropertyValue) error {
	at := micros(s.orNow(v.UpdatedAt))
	return s.inTx(ctx, func(tx *Store) error {
		if _, err := tx.w().ExecContext(ctx, `DELETE FROM property_values
			WHERE account_id = $1 AND company_id = $2 AND prop_key = $3`, v.AccountID, v.CompanyID, v.Key); err != nil {
			return tx.fail(err, "set property %s/%s of %q", v.CompanyID, v.Key, v.AccountID)
		}
		for i, val := range v.Values {
			if _, err := tx.w().ExecContext(ctx, `INSERT INTO property_values
				(account_id, company_id, prop_key, pos, val, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				v.AccountID, v.CompanyID, v.Key, i, val, at); err != nil {
				return tx.fail(err, "set property %s/%s of %q", v.CompanyID, v.Key, v.AccountID)
			}
		}
		tx.accountChanged(ctx, v.AccountID)
		return nil
	})
}

// ListPropertyValues returns the account's values in the company ordered
// by key, or in every company (ordered by company, then key) when
// companyID is empty.
func (s *Store) ListPropertyValues(ctx context.Context, accountID, companyID string) ([]store.PropertyValue, error) {
	q := `SELECT company_id, prop_key, val, updated_at FROM property_values WHERE account_id = $1`
	a := args{accountID}
	if companyID != "" {
		q += ` AND company_id = ` + a.add(companyID)
	}
	rows, err := s.r().QueryContext(ctx, q+` ORDER BY company_id, prop_key, pos`, a...)
	if err != nil {
		return nil, s.fail(err, "list property values of %q", accountID)
	}
	defer rows.Close()
	var out []store.PropertyValue
	for rows.Next() {
		var company, key, val string
		var updated int64
		if err := rows.Scan(&company, &key, &val, &updated); err != nil {
			return nil, s.fail(err, "list property values of %q", accountID)
		}
		if n := len(out); n == 0 || out[n-1].CompanyID != company || out[n-1].Key != key {
			out = append(out, store.PropertyValue{AccountID: accountID, CompanyID: company, Key: key,
				UpdatedAt: fromMicros(updated)})
		}
		last := &out[len(out)-1]
		last.Values = append(last.Values, val)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list property values of %q", accountID)
	}
	return out, nil
}

// FindAccountsByValue lists, sorted and once each, the accounts whose
// property key in the company holds value among its values. The match is
// exact (case-sensitive).
func (s *Store) FindAccountsByValue(ctx context.Context, companyID, key, value string) ([]string, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT DISTINCT account_id FROM property_values
		WHERE company_id = $1 AND prop_key = $2 AND val = $3 ORDER BY account_id`, companyID, key, value)
	if err != nil {
		return nil, s.fail(err, "find accounts by property %s/%s", companyID, key)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, s.fail(err, "find accounts by property %s/%s", companyID, key)
	}
	return ids, nil
}

const accessRuleCols = `id, company_id, name, pos, enabled, condition, capability, tag, created_at, updated_at`

func scanAccessRule(row interface{ Scan(...any) error }) (store.AccessRule, error) {
	var r store.AccessRule
	var pos, created, updated int64
	err := row.Scan(&r.ID, &r.CompanyID, &r.Name, &pos, &r.Enabled, &r.Condition, &r.Capability, &r.Tag,
		&created, &updated)
	if len(r.Condition) == 0 {
		r.Condition = nil
	}
	r.Position = int(pos)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, err
}

// CreateAccessRule stores r; missing times are now. ErrConflict when the
// id is taken, ErrNotFound when the company does not exist. The condition
// is stored as given; the rules package validates it.
func (s *Store) CreateAccessRule(ctx context.Context, r store.AccessRule) error {
	if r.ID == "" {
		return errors.New("store: create access rule: empty id")
	}
	r.CreatedAt, r.UpdatedAt = s.newTimes(r.CreatedAt, r.UpdatedAt)
	_, err := s.w().ExecContext(ctx, `INSERT INTO access_rules (`+accessRuleCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.CompanyID, r.Name, int64(r.Position), r.Enabled, orEmpty(r.Condition), r.Capability, r.Tag,
		micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return s.fail(err, "create access rule %q in %q", r.ID, r.CompanyID)
	}
	s.companyChanged(ctx, r.CompanyID)
	return nil
}

// UpdateAccessRule replaces every field but the id, company and CreatedAt
// and sets UpdatedAt, now when missing. The rule must belong to
// r.CompanyID, else ErrNotFound: an admin of one company cannot edit
// another's rule by id, and a rule never moves between companies.
func (s *Store) UpdateAccessRule(ctx context.Context, r store.AccessRule) error {
	res, err := s.w().ExecContext(ctx, `UPDATE access_rules SET name = $3, pos = $4, enabled = $5, condition = $6,
		capability = $7, tag = $8, updated_at = $9 WHERE id = $1 AND company_id = $2`,
		r.ID, r.CompanyID, r.Name, int64(r.Position), r.Enabled, orEmpty(r.Condition), r.Capability, r.Tag,
		micros(s.orNow(r.UpdatedAt)))
	if err := s.mustAffect(res, err, "update access rule %q in %q", r.ID, r.CompanyID); err != nil {
		return err
	}
	s.companyChanged(ctx, r.CompanyID)
	return nil
}

// GetAccessRule returns the rule with id.
func (s *Store) GetAccessRule(ctx context.Context, id string) (store.AccessRule, error) {
	r, err := scanAccessRule(s.r().QueryRowContext(ctx, `SELECT `+accessRuleCols+` FROM access_rules WHERE id = $1`, id))
	if err != nil {
		return store.AccessRule{}, s.fail(err, "get access rule %q", id)
	}
	return r, nil
}

// ListAccessRules returns the company's rules, disabled ones included, in
// evaluation order: by Position, then by id when two share a position.
func (s *Store) ListAccessRules(ctx context.Context, companyID string) ([]store.AccessRule, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+accessRuleCols+` FROM access_rules
		WHERE company_id = $1 ORDER BY pos, id`, companyID)
	if err != nil {
		return nil, s.fail(err, "list access rules of %q", companyID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.AccessRule, error) { return scanAccessRule(r) })
	if err != nil {
		return nil, s.fail(err, "list access rules of %q", companyID)
	}
	return out, nil
}

// DeleteAccessRule removes the rule; ErrNotFound when it does not exist.
func (s *Store) DeleteAccessRule(ctx context.Context, id string) error {
	// RETURNING names the company whose accounts the rule applied to.
	var company string
	err := s.w().QueryRowContext(ctx, `DELETE FROM access_rules WHERE id = $1 RETURNING company_id`, id).Scan(&company)
	if err != nil {
		return s.fail(err, "delete access rule %q", id)
	}
	s.companyChanged(ctx, company)
	return nil
}
