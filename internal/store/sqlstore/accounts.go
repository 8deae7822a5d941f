package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// errFixedField refuses an update that would change an account's id or
// kind: a shared-computer account must never become a personal one.
var errFixedField = fmt.Errorf("id and kind are fixed at creation: %w", store.ErrConflict)

const accountCols = `id, email, first_name, last_name, language, date_format, kind, sign_in,
	status, password_hash, terms_version, created_at, updated_at, time_zone`

// emailKey is the form in which emails are compared: the same mailbox typed
// with other capitals or stray spaces is the same account.
func emailKey(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// searchKey is what ListAccounts' Search matches against. It is lowered in
// Go because SQLite's lower() only folds ASCII; the separator keeps a search
// from matching across two fields.
func searchKey(a store.Account) string {
	return strings.ToLower(a.Email + "\n" + a.FirstName + "\n" + a.LastName)
}

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var created, updated int64
	err := row.Scan(&a.ID, &a.Email, &a.FirstName, &a.LastName, &a.Language, &a.DateFormat,
		&a.Kind, &a.SignIn, &a.Status, &a.PasswordHash, &a.TermsVersion, &created, &updated, &a.TimeZone)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

// CreateAccount stores a; a missing CreatedAt or UpdatedAt is set to now.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	if a.ID == "" {
		return fmt.Errorf("store: create account: empty id")
	}
	a.CreatedAt, a.UpdatedAt = s.newTimes(a.CreatedAt, a.UpdatedAt)
	_, err := s.w().ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`, email_key, search_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		a.ID, a.Email, a.FirstName, a.LastName, a.Language, a.DateFormat, a.Kind, a.SignIn,
		a.Status, a.PasswordHash, a.TermsVersion, micros(a.CreatedAt), micros(a.UpdatedAt), a.TimeZone,
		emailKey(a.Email), searchKey(a))
	if err != nil {
		return s.fail(err, "create account %q (%s)", a.ID, a.Email)
	}
	s.accountChanged(ctx, a.ID)
	return nil
}

// GetAccount returns the account with id.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	a, err := scanAccount(s.r().QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if err != nil {
		return store.Account{}, s.fail(err, "get account %q", id)
	}
	return a, nil
}

// GetAccountByEmail finds an account by email, ignoring case and
// surrounding spaces.
func (s *Store) GetAccountByEmail(ctx context.Context, email string) (store.Account, error) {
	a, err := scanAccount(s.r().QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email_key = $1`, emailKey(email)))
	if err != nil {
		return store.Account{}, s.fail(err, "get account by email %q", email)
	}
	return a, nil
}

// UpdateAccount reads the account with a row lock, applies fn and writes
// the result. UpdatedAt is set to now unless fn set it. Changing the id or
// the kind is refused with an error wrapping store.ErrConflict.
func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*store.Account) error) (store.Account, error) {
	var out store.Account
	err := s.inTx(ctx, func(tx *Store) error {
		before, err := scanAccount(tx.tx.QueryRowContext(ctx,
			`SELECT `+accountCols+` FROM accounts WHERE id = $1`+tx.d.ForUpdate, id))
		if err != nil {
			return tx.fail(err, "update account %q", id)
		}
		a := before
		if err := fn(&a); err != nil {
			return err
		}
		if a.ID != before.ID || a.Kind != before.Kind {
			return fmt.Errorf("store: update account %q: %w", id, errFixedField)
		}
		if a.UpdatedAt.Equal(before.UpdatedAt) {
			a.UpdatedAt = tx.now()
		}
		_, err = tx.tx.ExecContext(ctx, `UPDATE accounts SET email = $2, first_name = $3, last_name = $4,
			language = $5, date_format = $6, sign_in = $7, status = $8, password_hash = $9,
			terms_version = $10, created_at = $11, updated_at = $12, email_key = $13, search_key = $14,
			time_zone = $15
			WHERE id = $1`,
			a.ID, a.Email, a.FirstName, a.LastName, a.Language, a.DateFormat, a.SignIn, a.Status,
			a.PasswordHash, a.TermsVersion, micros(a.CreatedAt), micros(a.UpdatedAt),
			emailKey(a.Email), searchKey(a), a.TimeZone)
		if err != nil {
			return tx.fail(err, "update account %q", id)
		}
		// Read back so the caller sees exactly what is stored (UTC, µs).
		out, err = scanAccount(tx.tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
		if err != nil {
			return tx.fail(err, "update account %q: read back", id)
		}
		// Only the time moved: nothing built from the account is stale,
		// and an update made on every sign-in does not empty caches.
		same := out
		same.UpdatedAt = before.UpdatedAt
		if same != before {
			tx.accountChanged(ctx, id)
		}
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return out, nil
}

// DeleteAccount removes the account; its memberships, site access,
// identity links, sessions and tokens go with it (ON DELETE CASCADE).
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, id)
	if err := s.mustAffect(res, err, "delete account %q", id); err != nil {
		return err
	}
	s.accountChanged(ctx, id)
	return nil
}

// likeEscape quotes LIKE wildcards; every LIKE here uses ESCAPE '\'.
func likeEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
}

// args numbers query parameters as they are added, for queries whose
// filters are optional.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// clampLimit applies a default and a ceiling to a page size.
func clampLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}

// ListAccounts returns accounts matching q, ordered by id.
func (s *Store) ListAccounts(ctx context.Context, q store.AccountQuery) ([]store.Account, error) {
	var a args
	where := []string{"1 = 1"}
	if q.Search != "" {
		where = append(where, `a.search_key LIKE `+a.add("%"+likeEscape(strings.ToLower(q.Search))+"%")+` ESCAPE '\'`)
	}
	if q.Status != "" {
		where = append(where, `a.status = `+a.add(q.Status))
	}
	if q.CompanyID != "" || q.Role != "" {
		// Company and role must hold in the same membership.
		cond := []string{"m.account_id = a.id"}
		if q.CompanyID != "" {
			cond = append(cond, "m.company_id = "+a.add(q.CompanyID))
		}
		if q.Role != "" {
			cond = append(cond, "m.role = "+a.add(q.Role))
		}
		where = append(where, `EXISTS (SELECT 1 FROM memberships m WHERE `+strings.Join(cond, " AND ")+`)`)
	}
	if q.SiteID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM site_access sa WHERE sa.account_id = a.id AND sa.site_id = `+a.add(q.SiteID)+`)`)
	}
	if q.After != "" {
		where = append(where, `a.id > `+a.add(q.After))
	}
	limit := clampLimit(q.Limit, 50, 1000)
	query := `SELECT ` + prefixCols("a.", accountCols) + ` FROM accounts a WHERE ` +
		strings.Join(where, " AND ") + fmt.Sprintf(` ORDER BY a.id LIMIT %d`, limit)
	rows, err := s.r().QueryContext(ctx, query, a...)
	if err != nil {
		return nil, s.fail(err, "list accounts")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, s.fail(err, "list accounts")
	}
	return out, nil
}

// prefixCols qualifies a column list with a table alias.
func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// CountAccounts returns how many accounts exist.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return 0, s.fail(err, "count accounts")
	}
	return n, nil
}

// prefixMatch is an exact, case-sensitive prefix test on both backends
// (SQLite's LIKE ignores ASCII case). The length is a literal so PostgreSQL
// can resolve substr's overload without a typed parameter.
func prefixMatch(col, prefix string, a *args) string {
	return fmt.Sprintf("substr(%s, 1, %d) = %s", col, utf8.RuneCountInString(prefix), a.add(prefix))
}
