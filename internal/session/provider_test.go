package session

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// sqliteScenario is a scenario on a real SQLite store, which can end
// sessions by provider.
func sqliteScenario(t *testing.T) *scenario {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	for _, id := range []string{"acc-alice", "acc-bob"} {
		a := store.Account{ID: id, Email: id + "@example.com", FirstName: "A", LastName: "B", Language: "en",
			DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal, SignIn: "sso:corp", Status: store.StatusActive}
		if err := st.CreateAccount(context.Background(), a); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
	}
	s := &scenario{t: t, st: st, reopen: func() store.Sessions { return st }, clk: clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	s.m = s.manager(st)
	return s
}

func TestEndProviderSessions(t *testing.T) {
	s := sqliteScenario(t)
	sso := func(account, sid, subject string) StartParams {
		return StartParams{AccountID: account, AMR: []string{"fed"}, IDP: "corp", ProviderSID: sid, ProviderSubject: subject}
	}
	a, ac := s.start(s.m, sso("acc-alice", "sid-1", "sub-alice"))
	b, bc := s.start(s.m, sso("acc-alice", "sid-2", "sub-alice"))
	pw, pwc := s.start(s.m, alice) // a password session of the same account
	bob, bobc := s.start(s.m, sso("acc-bob", "sid-3", "sub-bob"))
	if got, err := s.st.GetSession(context.Background(), a.ID); err != nil || got.ProviderSID != "sid-1" || got.ProviderSubject != "sub-alice" {
		t.Fatalf("stored session %+v, %v; want the provider's sid and subject", got, err)
	}

	// Another process with every session in its cache hears of the end
	// only through the bus.
	other := s.manager(s.st)
	s.ok(other, ac, a.ID)
	s.ok(other, bc, b.ID)
	s.ok(other, pwc, pw.ID)
	var published [][]string
	s.m.bus = publishFunc(func(ids []string) {
		published = append(published, ids)
		other.Forget(ids)
	})

	ids, err := s.m.EndProviderSessions(context.Background(), "corp", "sid-1", "")
	if err != nil || !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("EndProviderSessions(sid-1) = %v, %v; want [%s]", ids, err, a.ID)
	}
	s.gone(s.m, ac)
	s.gone(other, ac)
	s.ok(other, bc, b.ID)

	ids, err = s.m.EndProviderSessions(context.Background(), "corp", "", "sub-alice")
	if err != nil || !slices.Equal(ids, []string{b.ID}) {
		t.Fatalf("EndProviderSessions(sub-alice) = %v, %v; want [%s]", ids, err, b.ID)
	}
	s.gone(s.m, bc)
	s.gone(other, bc)
	s.ok(s.m, pwc, pw.ID) // not signed in through the provider
	s.ok(other, pwc, pw.ID)
	s.ok(s.m, bobc, bob.ID)

	// Nothing matched: nothing to publish.
	if ids, err := s.m.EndProviderSessions(context.Background(), "corp", "sid-1", ""); err != nil || len(ids) != 0 {
		t.Fatalf("EndProviderSessions(again) = %v, %v", ids, err)
	}
	if len(published) != 2 || !slices.Equal(published[0], []string{a.ID}) || !slices.Equal(published[1], []string{b.ID}) {
		t.Fatalf("published %v", published)
	}
	if _, err := s.m.EndProviderSessions(context.Background(), "corp", "", ""); err == nil {
		t.Fatal("EndProviderSessions without sid or subject succeeded")
	}
}

func TestEndProviderSessionsNeedsTheCapability(t *testing.T) {
	h := newHarness(t, Options{})
	if _, err := h.m.EndProviderSessions(context.Background(), "corp", "sid", ""); !errors.Is(err, ErrNoProviderSessions) {
		t.Fatalf("EndProviderSessions on a store without it = %v", err)
	}
}
