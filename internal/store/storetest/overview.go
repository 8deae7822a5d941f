package storetest

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testOverview: the dashboard's counts take in only the accounts of the
// companies asked for, each account once, and nothing for no company.
func testOverview(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "a")
	mustCompany(t, s, "b")
	mk := func(id, status string, companies ...string) {
		t.Helper()
		acc := account(id, id+"@x.test")
		acc.Status = status
		mustCreateAccount(t, s, acc)
		for _, co := range companies {
			noErr(t, "SetMembership", s.SetMembership(c, store.Membership{AccountID: id, CompanyID: co, Role: "viewer", CreatedAt: t0}))
		}
	}
	mk("u1", store.StatusActive, "a")
	mk("u2", store.StatusBlocked, "a", "b")
	mk("u3", store.StatusInvited, "b")
	mk("u4", store.StatusInvited, "a")
	mk("u5", store.StatusInvited, "a")
	mk("u6", store.StatusInvited, "a")
	mk("u7", store.StatusActive) // no company: nobody's numbers

	for _, tc := range []struct {
		companies []string
		want      map[string]int
	}{
		{[]string{"a"}, map[string]int{store.StatusActive: 1, store.StatusBlocked: 1, store.StatusInvited: 3}},
		{[]string{"b"}, map[string]int{store.StatusBlocked: 1, store.StatusInvited: 1}},
		{[]string{"a", "b"}, map[string]int{store.StatusActive: 1, store.StatusBlocked: 1, store.StatusInvited: 4}},
		{nil, map[string]int{}},
	} {
		got, err := s.CountAccountsByStatus(c, tc.companies)
		noErr(t, "CountAccountsByStatus", err)
		if !maps.Equal(got, tc.want) {
			t.Errorf("CountAccountsByStatus(%v) = %v, want %v", tc.companies, got, tc.want)
		}
	}

	live1, live2, gone := session("s1", "u1"), session("s2", "u2"), session("s3", "u1")
	gone.ExpiresAt = t0.Add(-time.Minute)
	for _, ss := range []store.Session{live1, live2, gone} {
		noErr(t, "CreateSession", s.CreateSession(c, ss))
	}
	for _, tc := range []struct {
		companies []string
		want      int
	}{{[]string{"a"}, 2}, {[]string{"b"}, 1}, {[]string{"a", "b"}, 2}, {nil, 0}} {
		got, err := s.CountLiveSessions(c, tc.companies, t0)
		noErr(t, "CountLiveSessions", err)
		if got != tc.want {
			t.Errorf("CountLiveSessions(%v) = %d, want %d", tc.companies, got, tc.want)
		}
	}

	token := func(n int, kind, accountID string, expires time.Time) store.Token {
		tk := store.Token{Hash: fmt.Appendf(nil, "overview-%d", n), Kind: kind, AccountID: accountID, CreatedAt: t0, ExpiresAt: expires}
		noErr(t, "CreateToken", s.CreateToken(c, tk, false))
		return tk
	}
	token(1, store.TokenInvitation, "u3", t0.Add(time.Hour))         // company b
	token(2, store.TokenInvitation, "u4", t0.Add(time.Hour))         // expires soon
	token(3, store.TokenInvitation, "u5", t0.Add(10*24*time.Hour))   // not soon
	token(4, store.TokenPasswordReset, "u5", t0.Add(time.Minute))    // another kind
	used := token(5, store.TokenInvitation, "u6", t0.Add(time.Hour)) // used: none left
	_, err := s.ConsumeToken(c, store.TokenInvitation, used.Hash, t0)
	noErr(t, "ConsumeToken", err)

	got, err := s.ListPendingInvitations(c, []string{"a"}, t0.Add(72*time.Hour), 10)
	noErr(t, "ListPendingInvitations", err)
	if len(got) != 2 || got[0].AccountID != "u6" || !got[0].ExpiresAt.IsZero() || got[0].Email != "u6@x.test" ||
		got[1].AccountID != "u4" || !got[1].ExpiresAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("ListPendingInvitations(a) = %+v, want u6 (none left) then u4 (in an hour)", got)
	}
	got, err = s.ListPendingInvitations(c, []string{"a"}, t0.Add(72*time.Hour), 1)
	noErr(t, "ListPendingInvitations(limit 1)", err)
	if len(got) != 1 || got[0].AccountID != "u6" {
		t.Fatalf("ListPendingInvitations(a, limit 1) = %+v, want u6", got)
	}
	got, err = s.ListPendingInvitations(c, nil, t0.Add(72*time.Hour), 10)
	noErr(t, "ListPendingInvitations(none)", err)
	if len(got) != 0 {
		t.Fatalf("ListPendingInvitations(no company) = %+v, want none", got)
	}
}
