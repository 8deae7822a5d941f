package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AuditLog is an in-memory store.Audit for unit tests of components that
// audit, where a database would only slow the test down.
type AuditLog struct {
	mu     sync.Mutex
	events []store.AuditEvent
}

var _ store.Audit = (*AuditLog)(nil)

// AppendAudit records e.
func (a *AuditLog) AppendAudit(_ context.Context, e store.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// ListAudit returns every recorded event, oldest first; the query is
// ignored.
func (a *AuditLog) ListAudit(context.Context, store.AuditQuery) ([]store.AuditEvent, error) {
	return a.Events(), nil
}

// Events returns a copy of the recorded events, oldest first.
func (a *AuditLog) Events() []store.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]store.AuditEvent(nil), a.events...)
}

func audit(at time.Time, actor, action, target, category string) store.AuditEvent {
	return store.AuditEvent{Time: at, Actor: actor, Action: action, Target: target, IP: "198.51.100.7",
		Outcome: "ok", Category: category}
}

func auditActions(es []store.AuditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

func testAudit(t *testing.T, s store.Store) {
	c := ctx(t)
	first := audit(t0, "admin1", "account.block", "u1", "admin")
	first.Details = map[string]any{"reason": "left", "count": 2.0, "list": []any{"a"}}
	events := []store.AuditEvent{
		first,
		audit(t0.Add(1*time.Minute), "u1", "login.success", "u1", "auth"),
		audit(t0.Add(2*time.Minute), "u2", "login.failure", "u2", "auth"),
		audit(t0.Add(3*time.Minute), "system", "logins.purge", "", "auth"),
		audit(t0.Add(4*time.Minute), "admin1", "account.unblock", "u1", "admin"),
		audit(t0.Add(5*time.Minute), "cli", "LOGIN.success", "u3", "auth"),
		audit(t0.Add(6*time.Minute), "cli", "login%x", "u3", "integration"),
	}
	for _, e := range events {
		noErr(t, "AppendAudit", s.AppendAudit(c, e))
	}
	all, err := s.ListAudit(c, store.AuditQuery{})
	noErr(t, "ListAudit", err)
	if len(all) != len(events) {
		t.Fatalf("ListAudit has %d events, want %d", len(all), len(events))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("ListAudit not newest first: ids %d then %d", all[i-1].ID, all[i].ID)
		}
	}
	oldest := all[len(all)-1]
	if oldest.ID <= 0 || oldest.Actor != "admin1" || oldest.Action != "account.block" || oldest.Target != "u1" ||
		oldest.IP != "198.51.100.7" || oldest.Outcome != "ok" || oldest.Category != "admin" {
		t.Fatalf("oldest event = %+v", oldest)
	}
	sameTime(t, "AuditEvent.Time", oldest.Time, t0)
	if fmt.Sprint(oldest.Details) != fmt.Sprint(first.Details) {
		t.Fatalf("Details = %v, want %v", oldest.Details, first.Details)
	}
	if all[0].Details != nil {
		t.Fatalf("Details of an event without = %v", all[0].Details)
	}

	cases := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"actor", store.AuditQuery{Actor: "admin1"}, []string{"account.unblock", "account.block"}},
		{"target", store.AuditQuery{Target: "u1"}, []string{"account.unblock", "login.success", "account.block"}},
		{"action prefix", store.AuditQuery{Action: "login."}, []string{"login.failure", "login.success"}},
		{"action prefix is case-sensitive", store.AuditQuery{Action: "LOGIN"}, []string{"LOGIN.success"}},
		{"action prefix with wildcard", store.AuditQuery{Action: "login%"}, []string{"login%x"}},
		{"action exact", store.AuditQuery{Action: "logins.purge"}, []string{"logins.purge"}},
		{"category", store.AuditQuery{Category: "auth"}, []string{"LOGIN.success", "logins.purge", "login.failure", "login.success"}},
		{"since inclusive", store.AuditQuery{Since: t0.Add(5 * time.Minute)}, []string{"login%x", "LOGIN.success"}},
		{"until exclusive", store.AuditQuery{Until: t0.Add(2 * time.Minute)}, []string{"login.success", "account.block"}},
		{"since and until", store.AuditQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"login.failure", "login.success"}},
		{"limit", store.AuditQuery{Limit: 2}, []string{"login%x", "LOGIN.success"}},
		{"combined", store.AuditQuery{Actor: "admin1", Category: "admin", Action: "account.", Target: "u1",
			Since: t0, Until: t0.Add(time.Hour), Limit: 1}, []string{"account.unblock"}},
		{"nothing", store.AuditQuery{Actor: "nobody"}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListAudit(c, tc.q)
		noErr(t, "ListAudit "+tc.name, err)
		if acts := auditActions(got); !slices.Equal(acts, tc.want) && !(len(acts) == 0 && len(tc.want) == 0) {
			t.Errorf("ListAudit %s = %v, want %v", tc.name, acts, tc.want)
		}
	}

	// A missing time is filled in.
	noErr(t, "AppendAudit(no time)", s.AppendAudit(c, store.AuditEvent{Actor: "system", Action: "x", Outcome: "ok", Category: "admin"}))
	got, err := s.ListAudit(c, store.AuditQuery{Limit: 1})
	noErr(t, "ListAudit", err)
	if got[0].Time.IsZero() {
		t.Fatal("AppendAudit without Time stored the zero time")
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	c := ctx(t)
	const total = 230
	noErr(t, "InTx", s.InTx(c, func(tx store.Store) error {
		for i := 0; i < total; i++ {
			if err := tx.AppendAudit(c, audit(t0.Add(time.Duration(i)*time.Second), "u", fmt.Sprintf("e.%03d", i), "", "auth")); err != nil {
				return err
			}
		}
		return nil
	}))
	page, err := s.ListAudit(c, store.AuditQuery{})
	noErr(t, "ListAudit", err)
	if len(page) != 100 {
		t.Fatalf("default audit page has %d events, want 100", len(page))
	}
	page, err = s.ListAudit(c, store.AuditQuery{Limit: 5000})
	noErr(t, "ListAudit(5000)", err)
	if len(page) != total {
		t.Fatalf("Limit 5000 gave %d events, want %d", len(page), total)
	}
	var seen []string
	var before int64
	for i := 0; i < 100; i++ {
		page, err := s.ListAudit(c, store.AuditQuery{BeforeID: before, Limit: 40})
		noErr(t, "ListAudit page", err)
		if len(page) == 0 {
			break
		}
		seen = append(seen, auditActions(page)...)
		before = page[len(page)-1].ID
	}
	if len(seen) != total {
		t.Fatalf("paging saw %d events, want %d", len(seen), total)
	}
	for i, a := range seen {
		if want := fmt.Sprintf("e.%03d", total-1-i); a != want {
			t.Fatalf("paging position %d = %s, want %s", i, a, want)
		}
	}
}
