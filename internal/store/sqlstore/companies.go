package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CreateCompany stores c; a missing CreatedAt is set to now.
func (s *Store) CreateCompany(ctx context.Context, c store.Company) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO companies (id, name, created_at) VALUES ($1, $2, $3)`,
		c.ID, c.Name, micros(s.orNow(c.CreatedAt)))
	if err != nil {
		return s.fail(err, "create company %q", c.ID)
	}
	return nil
}

func scanCompany(row interface{ Scan(...any) error }) (store.Company, error) {
	var c store.Company
	var created int64
	err := row.Scan(&c.ID, &c.Name, &created)
	c.CreatedAt = fromMicros(created)
	return c, err
}

// GetCompany returns the company with id.
func (s *Store) GetCompany(ctx context.Context, id string) (store.Company, error) {
	c, err := scanCompany(s.r().QueryRowContext(ctx, `SELECT id, name, created_at FROM companies WHERE id = $1`, id))
	if err != nil {
		return store.Company{}, s.fail(err, "get company %q", id)
	}
	return c, nil
}

// ListCompanies returns every company ordered by id.
func (s *Store) ListCompanies(ctx context.Context) ([]store.Company, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT id, name, created_at FROM companies ORDER BY id`)
	if err != nil {
		return nil, s.fail(err, "list companies")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Company, error) { return scanCompany(r) })
	if err != nil {
		return nil, s.fail(err, "list companies")
	}
	return out, nil
}

// RenameCompany changes a company's display name.
func (s *Store) RenameCompany(ctx context.Context, id, name string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE companies SET name = $2 WHERE id = $1`, id, name)
	return s.mustAffect(res, err, "rename company %q", id)
}

// LockCompany reads the company's row for update: PostgreSQL then makes
// any other transaction locking it wait until this one ends. SQLite's
// write transactions are serialised already.
func (s *Store) LockCompany(ctx context.Context, id string) error {
	var got string
	err := s.w().QueryRowContext(ctx, `SELECT id FROM companies WHERE id = $1`+s.d.ForUpdate, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return s.fail(err, "lock company %q", id)
	}
	return nil
}

// CreateSite stores st; its company must exist (else ErrNotFound).
func (s *Store) CreateSite(ctx context.Context, st store.Site) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO sites (id, company_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		st.ID, st.CompanyID, st.Name, micros(s.orNow(st.CreatedAt)))
	if err != nil {
		return s.fail(err, "create site %q in company %q", st.ID, st.CompanyID)
	}
	return nil
}

func scanSite(row interface{ Scan(...any) error }) (store.Site, error) {
	var st store.Site
	var created int64
	err := row.Scan(&st.ID, &st.CompanyID, &st.Name, &created)
	st.CreatedAt = fromMicros(created)
	return st, err
}

// GetSite returns the site with id.
func (s *Store) GetSite(ctx context.Context, id string) (store.Site, error) {
	st, err := scanSite(s.r().QueryRowContext(ctx, `SELECT id, company_id, name, created_at FROM sites WHERE id = $1`, id))
	if err != nil {
		return store.Site{}, s.fail(err, "get site %q", id)
	}
	return st, nil
}

// ListSites returns the company's sites ordered by id.
func (s *Store) ListSites(ctx context.Context, companyID string) ([]store.Site, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT id, company_id, name, created_at FROM sites WHERE company_id = $1 ORDER BY id`, companyID)
	if err != nil {
		return nil, s.fail(err, "list sites of %q", companyID)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Site, error) { return scanSite(r) })
	if err != nil {
		return nil, s.fail(err, "list sites of %q", companyID)
	}
	return out, nil
}

// RenameSite changes a site's display name.
func (s *Store) RenameSite(ctx context.Context, id, name string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE sites SET name = $2 WHERE id = $1`, id, name)
	return s.mustAffect(res, err, "rename site %q", id)
}

// SetMembership creates or replaces the account's role in the company,
// keeping the original CreatedAt when replacing.
func (s *Store) SetMembership(ctx context.Context, m store.Membership) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO memberships (account_id, company_id, role, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, company_id) DO UPDATE SET role = excluded.role`,
		m.AccountID, m.CompanyID, m.Role, micros(s.orNow(m.CreatedAt)))
	if err != nil {
		return s.fail(err, "set membership of %q in %q", m.AccountID, m.CompanyID)
	}
	s.accountChanged(ctx, m.AccountID)
	return nil
}

// RemoveMembership removes the account from the company.
func (s *Store) RemoveMembership(ctx context.Context, accountID, companyID string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM memberships WHERE account_id = $1 AND company_id = $2`, accountID, companyID)
	if err := s.mustAffect(res, err, "remove membership of %q in %q", accountID, companyID); err != nil {
		return err
	}
	s.accountChanged(ctx, accountID)
	return nil
}

func scanMembership(row interface{ Scan(...any) error }) (store.Membership, error) {
	var m store.Membership
	var created int64
	err := row.Scan(&m.AccountID, &m.CompanyID, &m.Role, &created)
	m.CreatedAt = fromMicros(created)
	return m, err
}

func (s *Store) listMemberships(ctx context.Context, where, order, arg string) ([]store.Membership, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT account_id, company_id, role, created_at FROM memberships
		WHERE `+where+` = $1 ORDER BY `+order, arg)
	if err != nil {
		return nil, s.fail(err, "list memberships by %s %q", where, arg)
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Membership, error) { return scanMembership(r) })
	if err != nil {
		return nil, s.fail(err, "list memberships by %s %q", where, arg)
	}
	return out, nil
}

// ListMemberships returns the account's memberships ordered by company.
func (s *Store) ListMemberships(ctx context.Context, accountID string) ([]store.Membership, error) {
	return s.listMemberships(ctx, "account_id", "company_id", accountID)
}

// ListCompanyMembers returns the company's memberships ordered by account.
func (s *Store) ListCompanyMembers(ctx context.Context, companyID string) ([]store.Membership, error) {
	return s.listMemberships(ctx, "company_id", "account_id", companyID)
}

// GrantSite gives the account access to the site; granting twice is a no-op.
func (s *Store) GrantSite(ctx context.Context, accountID, siteID string) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO site_access (account_id, site_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, site_id) DO NOTHING`, accountID, siteID, micros(s.now()))
	if err != nil {
		return s.fail(err, "grant site %q to %q", siteID, accountID)
	}
	s.accountChanged(ctx, accountID)
	return nil
}

// RevokeSite removes the account's access to the site.
func (s *Store) RevokeSite(ctx context.Context, accountID, siteID string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM site_access WHERE account_id = $1 AND site_id = $2`, accountID, siteID)
	if err := s.mustAffect(res, err, "revoke site %q from %q", siteID, accountID); err != nil {
		return err
	}
	s.accountChanged(ctx, accountID)
	return nil
}

func (s *Store) listStrings(ctx context.Context, query, arg, what string) ([]string, error) {
	rows, err := s.r().QueryContext(ctx, query, arg)
	if err != nil {
		return nil, s.fail(err, "%s %q", what, arg)
	}
	out, err := collect(rows, func(r *sql.Rows) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
	if err != nil {
		return nil, s.fail(err, "%s %q", what, arg)
	}
	return out, nil
}

// ListSiteAccess returns the ids of the sites the account was given.
func (s *Store) ListSiteAccess(ctx context.Context, accountID string) ([]string, error) {
	return s.listStrings(ctx, `SELECT site_id FROM site_access WHERE account_id = $1 ORDER BY site_id`,
		accountID, "list site access of")
}

// ListSiteMembers returns the ids of the accounts given the site.
func (s *Store) ListSiteMembers(ctx context.Context, siteID string) ([]string, error) {
	return s.listStrings(ctx, `SELECT account_id FROM site_access WHERE site_id = $1 ORDER BY account_id`,
		siteID, "list members of site")
}
