package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func session(id, account string) store.Session {
	return store.Session{
		ID: id, TokenHash: []byte("hash-" + id), AccountID: account, AMR: []string{"pwd", "hwk"},
		IDP: "local", IDTokenHint: "eyJ.hint." + id, UserAgent: "Mozilla/5.0", IP: "192.0.2.1",
		CreatedAt: t0, LastSeenAt: t0.Add(time.Minute), ExpiresAt: t0.Add(12 * time.Hour),
	}
}

func sameSession(t *testing.T, got, want store.Session) {
	t.Helper()
	sameTime(t, "Session.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "Session.LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, "Session.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	if got.ID != want.ID || !bytes.Equal(got.TokenHash, want.TokenHash) || got.AccountID != want.AccountID ||
		!slices.Equal(got.AMR, want.AMR) || got.IDP != want.IDP || got.IDTokenHint != want.IDTokenHint ||
		got.UserAgent != want.UserAgent || got.IP != want.IP || !bytes.Equal(got.CredentialID, want.CredentialID) ||
		got.IdleTimeout != want.IdleTimeout || got.ProviderSID != want.ProviderSID || got.ProviderSubject != want.ProviderSubject {
		t.Fatalf("session:\n got %+v\nwant %+v", got, want)
	}
}

func testSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	s1 := session("s1", "u1")
	s2 := session("s2", "u1")
	s2.CreatedAt = t0.Add(time.Second)
	s2.AMR, s2.IDP = []string{"fed"}, "google"
	s2.ProviderSID, s2.ProviderSubject = "google-sid-1", "google-sub-1"
	s2.CredentialID, s2.IdleTimeout = []byte{0x00, 0xff, 'k'}, 10*time.Minute+time.Microsecond
	s3 := session("s3", "u2")
	s3.AMR = nil
	for _, ss := range []store.Session{s1, s2, s3} {
		noErr(t, "CreateSession "+ss.ID, s.CreateSession(c, ss))
	}
	dup := session("s4", "u1")
	dup.TokenHash = s1.TokenHash
	wantErr(t, "CreateSession(same token)", s.CreateSession(c, dup), store.ErrConflict)
	wantErr(t, "CreateSession(same id)", s.CreateSession(c, session("s1", "u2")), store.ErrConflict)
	wantErr(t, "CreateSession(unknown account)", s.CreateSession(c, session("s5", "nope")), store.ErrNotFound)

	got, err := s.GetSessionByToken(c, []byte("hash-s1"))
	noErr(t, "GetSessionByToken", err)
	sameSession(t, got, s1)
	got, err = s.GetSession(c, "s2")
	noErr(t, "GetSession", err)
	sameSession(t, got, s2)
	got, err = s.GetSession(c, "s3")
	noErr(t, "GetSession", err)
	if len(got.AMR) != 0 {
		t.Fatalf("AMR of a session created without = %v", got.AMR)
	}
	_, err = s.GetSessionByToken(c, []byte("nope"))
	wantErr(t, "GetSessionByToken(missing)", err, store.ErrNotFound)
	_, err = s.GetSession(c, "nope")
	wantErr(t, "GetSession(missing)", err, store.ErrNotFound)

	list, err := s.ListAccountSessions(c, "u1")
	noErr(t, "ListAccountSessions", err)
	if len(list) != 2 {
		t.Fatalf("ListAccountSessions(u1) has %d sessions", len(list))
	}
	sameSession(t, list[0], s1)
	sameSession(t, list[1], s2)

	n, err := s.CountSessions(c)
	noErr(t, "CountSessions", err)
	if n != 3 {
		t.Fatalf("CountSessions = %d, want 3", n)
	}
	noErr(t, "DeleteSession", s.DeleteSession(c, "s3"))
	wantErr(t, "DeleteSession(again)", s.DeleteSession(c, "s3"), store.ErrNotFound)

	ids, err := s.DeleteAccountSessions(c, "u1")
	noErr(t, "DeleteAccountSessions", err)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"s1", "s2"}) {
		t.Fatalf("DeleteAccountSessions = %v, want s1 s2", ids)
	}
	ids, err = s.DeleteAccountSessions(c, "u1")
	noErr(t, "DeleteAccountSessions(again)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteAccountSessions(again) = %v", ids)
	}
	n, err = s.CountSessions(c)
	noErr(t, "CountSessions", err)
	if n != 0 {
		t.Fatalf("CountSessions after deletes = %d", n)
	}
}

func testTouchSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	for _, id := range []string{"a", "b", "c"} {
		noErr(t, "CreateSession", s.CreateSession(c, session(id, "u1")))
	}
	base := t0.Add(time.Minute) // LastSeenAt of every session
	noErr(t, "TouchSessions(empty)", s.TouchSessions(c, nil))
	noErr(t, "TouchSessions", s.TouchSessions(c, map[string]time.Time{
		"a":       base.Add(5 * time.Minute),
		"b":       base.Add(-5 * time.Minute), // older than stored: ignored
		"gone":    base.Add(time.Hour),        // ended meanwhile: ignored
		"c":       base.Add(7 * time.Minute),
		"also-no": base,
	}))
	want := map[string]time.Time{"a": base.Add(5 * time.Minute), "b": base, "c": base.Add(7 * time.Minute)}
	for id, w := range want {
		got, err := s.GetSession(c, id)
		noErr(t, "GetSession", err)
		sameTime(t, "LastSeenAt of "+id, got.LastSeenAt, w)
	}
	_, err := s.GetSession(c, "gone")
	wantErr(t, "GetSession(touched but never created)", err, store.ErrNotFound)

	// Many sessions in one batch.
	seen := map[string]time.Time{}
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("bulk-%03d", i)
		noErr(t, "CreateSession", s.CreateSession(c, session(id, "u1")))
		seen[id] = base.Add(time.Duration(i) * time.Second)
	}
	noErr(t, "TouchSessions(bulk)", s.TouchSessions(c, seen))
	got, err := s.GetSession(c, "bulk-199")
	noErr(t, "GetSession", err)
	sameTime(t, "LastSeenAt of bulk-199", got.LastSeenAt, seen["bulk-199"])
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1")
	now := t0.Add(24 * time.Hour)
	mkIdle := func(id string, lastSeen, expires time.Time, idle time.Duration) {
		ss := session(id, "u1")
		ss.LastSeenAt, ss.ExpiresAt, ss.IdleTimeout = lastSeen, expires, idle
		noErr(t, "CreateSession "+id, s.CreateSession(c, ss))
	}
	mk := func(id string, lastSeen, expires time.Time) { mkIdle(id, lastSeen, expires, 0) }
	mk("fresh", now.Add(-time.Minute), now.Add(time.Hour))
	mk("expired", now.Add(-time.Minute), now.Add(-time.Second))
	mk("expires-now", now.Add(-time.Minute), now)
	mk("idle", now.Add(-31*time.Minute), now.Add(time.Hour))
	mk("idle-edge", now.Add(-30*time.Minute), now.Add(time.Hour))
	// A session with its own idle timeout is judged by it, not idleBefore.
	mkIdle("own-idle", now.Add(-11*time.Minute), now.Add(time.Hour), 10*time.Minute)
	mkIdle("own-idle-edge", now.Add(-10*time.Minute), now.Add(time.Hour), 10*time.Minute)
	mkIdle("own-long", now.Add(-31*time.Minute), now.Add(time.Hour), 2*time.Hour)
	mkIdle("own-expired", now.Add(-time.Minute), now, 2*time.Hour)
	n, err := s.DeleteExpiredSessions(c, now, now.Add(-30*time.Minute))
	noErr(t, "DeleteExpiredSessions", err)
	if n != 5 {
		t.Fatalf("DeleteExpiredSessions removed %d sessions, want 5", n)
	}
	list, err := s.ListAccountSessions(c, "u1")
	noErr(t, "ListAccountSessions", err)
	var ids []string
	for _, ss := range list {
		ids = append(ids, ss.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"fresh", "idle-edge", "own-idle-edge", "own-long"}) {
		t.Fatalf("sessions left = %v, want fresh, idle-edge, own-idle-edge, own-long", ids)
	}
}
