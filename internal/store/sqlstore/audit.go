package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AppendAudit stores e; the store assigns its ID and a missing Time is set
// to now. Details are kept as JSON, so numbers come back as float64. The
// event and the companies it concerns are written in one transaction, so
// no reader ever sees an event without them.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	var details sql.NullString
	if e.Details != nil {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("store: append audit %q: encode details: %w", e.Action, err)
		}
		details = sql.NullString{String: string(b), Valid: true}
	}
	err := s.inTx(ctx, func(t *Store) error {
		var id int64
		err := t.w().QueryRowContext(ctx, `INSERT INTO audit (occurred_at, actor, action, target, ip, outcome, category, details)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			micros(s.orNow(e.Time)), e.Actor, e.Action, e.Target, e.IP, e.Outcome, e.Category, details).Scan(&id)
		if err != nil {
			return err
		}
		if len(e.Companies) > 0 {
			for _, c := range sortedUnique(e.Companies) {
				if _, err := t.w().ExecContext(ctx, `INSERT INTO audit_companies (audit_id, company_id) VALUES ($1, $2)`, id, c); err != nil {
					return err
				}
			}
			return nil
		}
		if e.Target == "" {
			return nil
		}
		// Read here rather than by each caller, so no event can forget
		// them and they are those of the moment the event is written.
		_, err = t.w().ExecContext(ctx, `INSERT INTO audit_companies (audit_id, company_id)
			SELECT DISTINCT CAST($1 AS BIGINT), m.company_id FROM memberships m JOIN accounts a ON a.id = m.account_id
			WHERE a.id = $2 OR a.email_key = $3`, id, e.Target, emailKey(e.Target))
		return err
	})
	if err != nil {
		return s.fail(err, "append audit %q", e.Action)
	}
	return nil
}

// ListAudit returns events matching q, newest (highest ID) first. Since is
// inclusive, Until exclusive; Action matches as a case-sensitive prefix.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var a args
	where := []string{"1 = 1"}
	if q.Actor != "" {
		where = append(where, "actor = "+a.add(q.Actor))
	}
	if q.Target != "" {
		where = append(where, "target = "+a.add(q.Target))
	}
	if q.Action != "" {
		where = append(where, prefixMatch("action", q.Action, &a))
	}
	if q.Category != "" {
		where = append(where, "category = "+a.add(q.Category))
	}
	if !q.Since.IsZero() {
		where = append(where, "occurred_at >= "+a.add(micros(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, "occurred_at < "+a.add(micros(q.Until)))
	}
	if q.BeforeID > 0 {
		where = append(where, "id < "+a.add(q.BeforeID))
	}
	if cond := auditScope(q, &a); cond != "" {
		where = append(where, cond)
	}
	limit := clampLimit(q.Limit, 100, 1000)
	rows, err := s.r().QueryContext(ctx, `SELECT id, occurred_at, actor, action, target, ip, outcome, category, details
		FROM audit WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit), a...)
	if err != nil {
		return nil, s.fail(err, "list audit")
	}
	out, err := collect(rows, func(r *sql.Rows) (store.AuditEvent, error) {
		var e store.AuditEvent
		var t int64
		var details sql.NullString
		if err := r.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Outcome, &e.Category, &details); err != nil {
			return e, err
		}
		e.Time = fromMicros(t)
		if details.Valid {
			if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
				return e, fmt.Errorf("decode details of event %d: %w", e.ID, err)
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, s.fail(err, "list audit")
	}
	if err := s.auditCompanies(ctx, out); err != nil {
		return nil, s.fail(err, "list audit companies")
	}
	return out, nil
}

// auditScope is the condition that keeps the events q's scopes admit, or
// "" when q has none. Each category scope (and q.Scope for the other
// categories) admits its companies' events through one EXISTS on
// audit_companies, not one per scope joined by OR: alone in the WHERE
// clause, PostgreSQL runs it as a semi-join and a page read newest first
// probes each event by key, instead of hashing every event of the
// companies first.
func auditScope(q store.AuditQuery, a *args) string {
	if q.Scope == nil && len(q.ByCategory) == 0 {
		return ""
	}
	// A branch's condition on the category is written only where it is
	// used, so that every placeholder added is one the statement uses.
	type branch struct {
		category func() string // "" for every category
		scope    *store.AuditScope
	}
	cats := slices.Sorted(maps.Keys(q.ByCategory))
	var branches []branch
	if len(cats) == 0 {
		branches = append(branches, branch{func() string { return "" }, q.Scope})
	} else {
		others := func() string {
			ph := make([]string, len(cats))
			for i, c := range cats {
				ph[i] = a.add(c)
			}
			return "audit.category NOT IN (" + strings.Join(ph, ", ") + ")"
		}
		branches = append(branches, branch{others, q.Scope})
		for _, c := range cats {
			sc := q.ByCategory[c]
			branches = append(branches, branch{func() string { return "audit.category = " + a.add(c) }, &sc})
		}
	}
	and := func(category func() string, cond string) string {
		if c := category(); c != "" {
			return "(" + c + " AND " + cond + ")"
		}
		return cond
	}
	var attached, admitted []string
	for _, b := range branches {
		if b.scope == nil {
			admitted = append(admitted, and(b.category, "1 = 1"))
			continue
		}
		if companies := sortedUnique(b.scope.Companies); len(companies) > 0 {
			ph := make([]string, len(companies))
			for i, c := range companies {
				ph[i] = a.add(c)
			}
			attached = append(attached, and(b.category, "ac.company_id IN ("+strings.Join(ph, ", ")+")"))
		}
		if b.scope.Unattached {
			admitted = append(admitted, and(b.category, "NOT EXISTS (SELECT 1 FROM audit_companies ac WHERE ac.audit_id = audit.id)"))
		}
	}
	if len(attached) > 0 {
		admitted = append([]string{"EXISTS (SELECT 1 FROM audit_companies ac WHERE ac.audit_id = audit.id AND (" +
			strings.Join(attached, " OR ") + "))"}, admitted...)
	}
	if len(admitted) == 0 {
		return "1 = 0"
	}
	if len(admitted) == 1 {
		return admitted[0]
	}
	return "(" + strings.Join(admitted, " OR ") + ")"
}

// auditCompanies fills the Companies of events with one query.
func (s *Store) auditCompanies(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	var a args
	ph := make([]string, len(events))
	at := make(map[int64]int, len(events))
	for i, e := range events {
		ph[i] = a.add(e.ID)
		at[e.ID] = i
	}
	rows, err := s.r().QueryContext(ctx, `SELECT audit_id, company_id FROM audit_companies
		WHERE audit_id IN (`+strings.Join(ph, ", ")+`) ORDER BY audit_id, company_id`, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			return err
		}
		e := &events[at[id]]
		e.Companies = append(e.Companies, c)
	}
	return rows.Err()
}

// auditPurgeBatch bounds one delete, so a first purge of years of events
// never holds the writer long.
const auditPurgeBatch = 1000

// PurgeAudit deletes events older than cutoff, a batch per statement, until
// none is left. Concurrent purges are harmless: a batch another replica
// already deleted simply affects fewer rows.
func (s *Store) PurgeAudit(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		res, err := s.w().ExecContext(ctx, fmt.Sprintf(`DELETE FROM audit WHERE id IN
			(SELECT id FROM audit WHERE occurred_at < $1 LIMIT %d)`, auditPurgeBatch), micros(cutoff))
		if err != nil {
			return total, s.fail(err, "purge audit")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.fail(err, "purge audit")
		}
		total += int(n)
		if n < auditPurgeBatch {
			return total, nil
		}
	}
}

// sortedUnique returns the distinct non-empty values of in, sorted.
func sortedUnique(in []string) []string {
	out := slices.DeleteFunc(slices.Clone(in), func(v string) bool { return v == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
