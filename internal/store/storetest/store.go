package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testTimestampsUTC(t *testing.T, s store.Store) {
	c := ctx(t)
	// Times far apart, in several zones, with sub-microsecond parts.
	times := []time.Time{
		t0,
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -9*3600-30*60)),
		time.Date(2100, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.Local),
	}
	for i, at := range times {
		id := fmt.Sprintf("t%d", i)
		a := account(id, id+"@x.test")
		a.CreatedAt, a.UpdatedAt = at, at.Add(time.Nanosecond*500)
		mustCreateAccount(t, s, a)
		got, err := s.GetAccount(c, id)
		noErr(t, "GetAccount", err)
		sameTime(t, "CreatedAt", got.CreatedAt, a.CreatedAt)
		sameTime(t, "UpdatedAt", got.UpdatedAt, a.UpdatedAt)

		ss := session("s"+id, id)
		ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = at, at, at.Add(time.Hour)
		noErr(t, "CreateSession", s.CreateSession(c, ss))
		gs, err := s.GetSession(c, ss.ID)
		noErr(t, "GetSession", err)
		sameSession(t, gs, ss)

		noErr(t, "AppendAudit", s.AppendAudit(c, audit(at, "u", "ts."+id, "", "admin")))
		ev, err := s.ListAudit(c, store.AuditQuery{Action: "ts." + id})
		noErr(t, "ListAudit", err)
		if len(ev) != 1 {
			t.Fatalf("ListAudit(ts.%s) = %d events", id, len(ev))
		}
		sameTime(t, "AuditEvent.Time", ev[0].Time, at)
	}
	// The Local zone of the last case is the test machine's; make sure a
	// zone that is not UTC was really exercised.
	if !strings.Contains(times[1].String(), "-0930") {
		t.Fatalf("test setup: %v", times[1])
	}
}

func testPing(t *testing.T, s store.Store) {
	noErr(t, "Ping", s.Ping(ctx(t)))
}
