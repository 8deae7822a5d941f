package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestAuditRetention: the gateway's maintenance deletes the audit events
// older than audit.retention by its clock, and keeps the rest with the
// companies they concern, on both stores.
func TestAuditRetention(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			clock := clocktest.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			g := servertest.Start(t, servertest.Options{Postgres: pg, Now: clock.Now, Configure: func(c *config.Config) {
				c.Audit.Retention = config.Duration(30 * 24 * time.Hour)
			}})
			ctx := context.Background()
			alice := g.CreateUser(t, account.NewAccount{Email: "alice@acme.test", Password: pw, CompanyID: "acme", Role: "viewer"})
			for _, e := range []store.AuditEvent{
				{Time: clock.Now().Add(-31 * 24 * time.Hour), Actor: alice.ID, Action: "login.long_ago", Target: alice.ID, Category: "auth"},
				{Time: clock.Now().Add(-29 * 24 * time.Hour), Actor: alice.ID, Action: "login.recent", Target: alice.ID, Category: "auth"},
			} {
				if err := g.Store.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			actions := func() []string {
				t.Helper()
				es, err := g.Store.ListAudit(ctx, store.AuditQuery{Scope: &store.AuditScope{Companies: []string{"acme"}}})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range es {
					out = append(out, e.Action)
				}
				slices.Sort(out)
				return out
			}
			g.Server.Maintain(ctx)
			if got, want := actions(), []string{"account.create", "company.create", "login.recent"}; !slices.Equal(got, want) {
				t.Fatalf("after maintenance: %q, want %q", got, want)
			}
			// Two days on, the recent event is past retention too; the
			// company's and the account's creation, stamped by the
			// gateway's clock, stay.
			clock.Add(2 * 24 * time.Hour)
			g.Server.Maintain(ctx)
			if got, want := actions(), []string{"account.create", "company.create"}; !slices.Equal(got, want) {
				t.Fatalf("two days later: %q, want %q", got, want)
			}
			clock.Add(30 * 24 * time.Hour)
			g.Server.Maintain(ctx)
			if got := actions(); len(got) != 0 {
				t.Fatalf("after the retention: %q, want nothing", got)
			}
		})
	}
}
