package session

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// othersEnv is a Manager over a real SQLite store with two accounts, and
// a record of what it published.
type othersEnv struct {
	*harness
	st    store.Sessions
	mu    sync.Mutex
	ended [][]string
}

func newOthersEnv(t *testing.T) *othersEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	for _, id := range []string{"acc-alice", "acc-bob"} {
		a := store.Account{ID: id, Email: id + "@example.com", FirstName: "A", LastName: "B", Language: "en",
			DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal, SignIn: "password", Status: store.StatusActive}
		if err := st.CreateAccount(context.Background(), a); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
	}
	clk := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	m, err := NewManager(st, Options{HashKey: testKey, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour}, clk.Now, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &othersEnv{harness: &harness{t: t, m: m, clk: clk}, st: st}
	m.bus = publishFunc(func(ids []string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ended = append(e.ended, slices.Clone(ids))
	})
	return e
}

func (e *othersEnv) reported() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ended)
}

func ids(list []store.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

// List shows live sessions only, and this process's unflushed activity
// both in LastSeenAt and in deciding what is still live.
func TestListShowsLiveSessionsWithUnflushedLastSeen(t *testing.T) {
	e := newOthersEnv(t)
	ctx := context.Background()
	a1, c1 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"pwd"}, IDP: "local", UserAgent: "ua-1", IP: "192.0.2.1"})
	e.clk.Add(time.Second) // List is oldest first
	a2, _ := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"hwk"}, IDP: "local", UserAgent: "ua-2", IP: "192.0.2.2"})
	e.start(StartParams{AccountID: "acc-bob", AMR: []string{"pwd"}, IDP: "local"})

	e.clk.Add(20 * time.Minute)
	if _, err := e.m.Lookup(ctx, e.request(c1)); err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	seen := e.clk.Now()
	list, err := e.m.List(ctx, "acc-alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list); !slices.Equal(got, []string{a1.ID, a2.ID}) {
		t.Fatalf("List = %v, want %v", got, []string{a1.ID, a2.ID})
	}
	if !list[0].LastSeenAt.Equal(seen) {
		t.Errorf("last seen of the used session = %v, want the unflushed %v", list[0].LastSeenAt, seen)
	}
	if !list[1].LastSeenAt.Equal(a2.LastSeenAt) {
		t.Errorf("last seen of the idle session = %v, want %v", list[1].LastSeenAt, a2.LastSeenAt)
	}
	if list[0].IP != "192.0.2.1" || list[0].UserAgent != "ua-1" || !slices.Equal(list[1].AMR, []string{"hwk"}) {
		t.Errorf("List lost fields: %+v", list)
	}
	if stored, _ := e.st.GetSession(ctx, a1.ID); !stored.LastSeenAt.Before(seen) {
		t.Fatalf("the touch was already flushed (%v); the test proves nothing", stored.LastSeenAt)
	}

	// 35 minutes after it started, the unused one is past the idle timeout
	// although the purge has not deleted it; the used one was last seen 15
	// minutes ago here, whatever the store says.
	e.clk.Add(15*time.Minute - time.Second)
	list, err = e.m.List(ctx, "acc-alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list); !slices.Equal(got, []string{a1.ID}) {
		t.Fatalf("List = %v, want only %s", got, a1.ID)
	}
	if _, err := e.st.GetSession(ctx, a2.ID); err != nil {
		t.Fatalf("the expired record should still be stored: %v", err)
	}
}

func TestEndAccountSessionEndsOnlyOwnSessions(t *testing.T) {
	e := newOthersEnv(t)
	ctx := context.Background()
	_, c1 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"pwd"}})
	a2, c2 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"pwd"}})
	b1, cb := e.start(StartParams{AccountID: "acc-bob", AMR: []string{"pwd"}})

	for _, id := range []string{b1.ID, "no-such-session", ""} {
		err := e.m.EndAccountSession(ctx, "acc-alice", id)
		if !errors.Is(err, ErrNotAccountSession) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EndAccountSession(alice, %q) = %v, want ErrNotAccountSession (a not-found)", id, err)
		}
	}
	if s, err := e.m.Lookup(ctx, e.request(cb)); err != nil || s.ID != b1.ID {
		t.Fatalf("bob's session after alice tried to end it: %q, %v", s.ID, err)
	}
	if got := e.reported(); len(got) != 0 {
		t.Fatalf("published %v although nothing ended", got)
	}

	if err := e.m.EndAccountSession(ctx, "acc-alice", a2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Lookup(ctx, e.request(c2)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("ended session still looks up: %v", err)
	}
	if _, err := e.m.Lookup(ctx, e.request(c1)); err != nil {
		t.Fatalf("the other session of the account ended too: %v", err)
	}
	if got := e.reported(); len(got) != 1 || !slices.Equal(got[0], []string{a2.ID}) {
		t.Fatalf("published %v, want [[%s]]", got, a2.ID)
	}
}

func TestEndOthersKeepsTheCurrentSession(t *testing.T) {
	e := newOthersEnv(t)
	ctx := context.Background()
	a1, c1 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"pwd"}})
	a2, c2 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"swk"}})
	a3, c3 := e.start(StartParams{AccountID: "acc-alice", AMR: []string{"fed"}, IDP: "google"})
	b1, cb := e.start(StartParams{AccountID: "acc-bob", AMR: []string{"pwd"}})

	ended, err := e.m.EndOthers(ctx, "acc-alice", a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a2.ID, a3.ID}
	slices.Sort(want)
	slices.Sort(ended)
	if !slices.Equal(ended, want) {
		t.Fatalf("EndOthers = %v, want %v", ended, want)
	}
	// Straight from the cache they were in: no wait for a revalidation.
	if _, err := e.m.Lookup(ctx, e.request(c2)); !errors.Is(err, ErrNoSession) {
		t.Errorf("ended session 2 still looks up: %v", err)
	}
	if _, err := e.m.Lookup(ctx, e.request(c3)); !errors.Is(err, ErrNoSession) {
		t.Errorf("ended session 3 still looks up: %v", err)
	}
	if s, err := e.m.Lookup(ctx, e.request(c1)); err != nil || s.ID != a1.ID {
		t.Errorf("current session: %q, %v", s.ID, err)
	}
	if s, err := e.m.Lookup(ctx, e.request(cb)); err != nil || s.ID != b1.ID {
		t.Errorf("another account's session: %q, %v", s.ID, err)
	}
	if got := e.reported(); len(got) != 1 || !slices.Equal(slices.Sorted(slices.Values(got[0])), want) {
		t.Fatalf("published %v, want one call with %v", got, want)
	}

	// Nothing left to end: no error, nothing reported.
	ended, err = e.m.EndOthers(ctx, "acc-alice", a1.ID)
	if err != nil || len(ended) != 0 {
		t.Fatalf("second EndOthers = %v, %v", ended, err)
	}
	if got := e.reported(); len(got) != 1 {
		t.Fatalf("published for nothing: %v", got)
	}
}

func TestMethod(t *testing.T) {
	cases := []struct {
		amr  []string
		idp  string
		want string
	}{
		{[]string{"pwd"}, "local", MethodPassword},
		{[]string{"hwk"}, "local", MethodPasskey},
		{[]string{"swk"}, "local", MethodPasskey},
		{[]string{"pwd", "hwk"}, "local", MethodPasskey},
		{[]string{"fed"}, "google", MethodSSO},
		{nil, "entra", MethodSSO},
		{[]string{"fed"}, "", MethodSSO},
		{nil, "local", ""},
		{nil, "", ""},
	}
	for _, c := range cases {
		if got := Method(store.Session{AMR: c.amr, IDP: c.idp}); got != c.want {
			t.Errorf("Method(amr %v, idp %q) = %q, want %q", c.amr, c.idp, got, c.want)
		}
	}
}
