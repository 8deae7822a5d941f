package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AppendAudit stores e; the store assigns its ID and a missing Time is set
// to now. Details are kept as JSON, so numbers come back as float64.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	var details sql.NullString
	if e.Details != nil {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("store: append audit %q: encode details: %w", e.Action, err)
		}
		details = sql.NullString{String: string(b), Valid: true}
	}
	_, err := s.w().ExecContext(ctx, `INSERT INTO audit (occurred_at, actor, action, target, ip, outcome, category, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		micros(s.orNow(e.Time)), e.Actor, e.Action, e.Target, e.IP, e.Outcome, e.Category, details)
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
	return out, nil
}
