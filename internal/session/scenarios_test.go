package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// backend opens a store.Sessions for one test and creates the accounts the
// scenarios sign in (a real store refuses sessions of unknown accounts).
type backend func(t *testing.T) (st store.Sessions, reopen func() store.Sessions)

// The scenarios run against the in-memory fake and the real SQLite store,
// through the store.Sessions interface only.
func TestScenariosFake(t *testing.T) {
	runScenarios(t, func(t *testing.T) (store.Sessions, func() store.Sessions) {
		st := newFakeStore()
		return st, func() store.Sessions { return st }
	})
}

func TestScenariosSQLite(t *testing.T) {
	runScenarios(t, func(t *testing.T) (store.Sessions, func() store.Sessions) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		open := func() store.Sessions {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		st := open()
		for _, id := range []string{"acc-alice", "acc-bob"} {
			a := store.Account{ID: id, Email: id + "@example.com", FirstName: "A", LastName: "B", Language: "en",
				DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal, SignIn: "password", Status: store.StatusActive}
			if err := st.(store.Accounts).CreateAccount(context.Background(), a); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
		}
		return st, open
	})
}

type scenario struct {
	t      *testing.T
	st     store.Sessions
	reopen func() store.Sessions
	clk    *clocktest.Clock
	m      *Manager
}

func (s *scenario) manager(st store.Sessions) *Manager {
	s.t.Helper()
	m, err := NewManager(st, Options{HashKey: testKey, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour}, s.clk.Now, rand.Reader, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

func (s *scenario) start(m *Manager, p StartParams, carried ...*http.Cookie) (store.Session, *http.Cookie) {
	s.t.Helper()
	h := &harness{t: s.t, m: m, clk: s.clk}
	return h.start(p, carried...)
}

func (s *scenario) lookup(m *Manager, c *http.Cookie) (store.Session, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return m.Lookup(context.Background(), r)
}

func (s *scenario) ok(m *Manager, c *http.Cookie, id string) {
	s.t.Helper()
	got, err := s.lookup(m, c)
	if err != nil || got.ID != id {
		s.t.Fatalf("Lookup = %q, %v; want %q", got.ID, err, id)
	}
}

func (s *scenario) gone(m *Manager, c *http.Cookie) {
	s.t.Helper()
	if got, err := s.lookup(m, c); !errors.Is(err, ErrNoSession) {
		s.t.Fatalf("Lookup = %q, %v; want ErrNoSession", got.ID, err)
	}
}

func (s *scenario) stored(id string) bool {
	s.t.Helper()
	_, err := s.st.GetSession(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.t.Fatal(err)
	}
	return err == nil
}

func runScenarios(t *testing.T, open backend) {
	cases := map[string]func(s *scenario){
		"survives restart": func(s *scenario) {
			sess, c := s.start(s.m, alice)
			s.ok(s.m, c, sess.ID)
			m2 := s.manager(s.reopen())
			s.ok(m2, c, sess.ID)
		},
		"shared idle timeout survives restart": func(s *scenario) {
			ws := alice
			ws.Shared = true
			sess, c := s.start(s.m, ws)
			s.clk.Add(9 * time.Minute)
			m2 := s.manager(s.reopen())
			s.ok(m2, c, sess.ID)
			if err := m2.Flush(context.Background()); err != nil {
				s.t.Fatal(err)
			}
			s.clk.Add(11 * time.Minute)
			s.gone(s.manager(s.reopen()), c)
		},
		"revoked passkey ends its sessions": func(s *scenario) {
			pk := alice
			pk.CredentialID = []byte{0x00, 0xff, 'k'}
			a, ac := s.start(s.m, pk)
			b, bc := s.start(s.m, alice)
			m2 := s.manager(s.reopen())
			if got, err := s.lookup(m2, ac); err != nil || !bytes.Equal(got.CredentialID, pk.CredentialID) {
				s.t.Fatalf("Lookup after restart = %+v, %v; want the passkey kept", got, err)
			}
			ids, err := s.m.EndCredential(context.Background(), alice.AccountID, pk.CredentialID)
			if err != nil || len(ids) != 1 || ids[0] != a.ID {
				s.t.Fatalf("EndCredential = %v, %v; want [%s]", ids, err, a.ID)
			}
			s.gone(s.m, ac)
			s.ok(s.m, bc, b.ID)
		},
		"no fixation": func(s *scenario) {
			old, oc := s.start(s.m, alice)
			fresh, nc := s.start(s.m, alice, oc)
			if fresh.ID == old.ID || nc.Value == oc.Value || s.stored(old.ID) {
				s.t.Fatal("old session survived a new sign-in")
			}
			s.gone(s.m, oc)
			s.ok(s.m, nc, fresh.ID)
		},
		"idle expiry and sliding": func(s *scenario) {
			sess, c := s.start(s.m, alice)
			for range 4 {
				s.clk.Add(20 * time.Minute)
				s.ok(s.m, c, sess.ID)
				if err := s.m.Flush(context.Background()); err != nil {
					s.t.Fatal(err)
				}
			}
			got, err := s.st.GetSession(context.Background(), sess.ID)
			if err != nil || !got.LastSeenAt.Equal(s.clk.Now()) {
				s.t.Fatalf("flushed last seen = %v, %v; want %v", got.LastSeenAt, err, s.clk.Now())
			}
			// A fresh process sees the flushed time and keeps it alive.
			s.clk.Add(25 * time.Minute)
			s.ok(s.manager(s.st), c, sess.ID)
			s.clk.Add(31 * time.Minute)
			s.gone(s.m, c)
			if s.stored(sess.ID) {
				s.t.Fatal("idle session left in the store")
			}
		},
		"absolute expiry": func(s *scenario) {
			sess, c := s.start(s.m, alice)
			for range 11 {
				s.clk.Add(10 * time.Minute)
				s.ok(s.m, c, sess.ID)
			}
			s.clk.Add(10 * time.Minute)
			s.gone(s.m, c)
		},
		"replay after end": func(s *scenario) {
			sess, c := s.start(s.m, alice)
			s.ok(s.m, c, sess.ID)
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.AddCookie(c)
			if err := s.m.End(context.Background(), httptest.NewRecorder(), r); err != nil {
				s.t.Fatal(err)
			}
			s.gone(s.m, c)
			s.gone(s.manager(s.st), c)
		},
		"end account": func(s *scenario) {
			var cs []*http.Cookie
			for range 3 {
				sess, c := s.start(s.m, alice)
				s.ok(s.m, c, sess.ID)
				cs = append(cs, c)
			}
			bob, bc := s.start(s.m, StartParams{AccountID: "acc-bob"})
			ids, err := s.m.EndAccount(context.Background(), alice.AccountID)
			if err != nil || len(ids) != 3 {
				s.t.Fatalf("EndAccount = %v, %v", ids, err)
			}
			for _, c := range cs {
				s.gone(s.m, c)
			}
			s.ok(s.m, bc, bob.ID)
		},
		"purge uses each session's idle timeout": func(s *scenario) {
			ws := alice
			ws.Shared = true
			shared, _ := s.start(s.m, ws)
			personal, _ := s.start(s.m, StartParams{AccountID: "acc-bob"})
			s.clk.Add(11 * time.Minute)
			s.m.purge(context.Background())
			if s.stored(shared.ID) || !s.stored(personal.ID) {
				s.t.Fatalf("after 11 idle minutes: shared stored %v, personal stored %v; want false, true",
					s.stored(shared.ID), s.stored(personal.ID))
			}
		},
		"purge": func(s *scenario) {
			keep, kc := s.start(s.m, alice)
			drop, _ := s.start(s.m, StartParams{AccountID: "acc-bob"})
			s.clk.Add(20 * time.Minute)
			s.ok(s.m, kc, keep.ID)
			s.clk.Add(15 * time.Minute)
			s.m.purge(context.Background())
			if s.stored(drop.ID) || !s.stored(keep.ID) || s.m.ActiveCount() != 1 {
				s.t.Fatalf("after purge: idle stored %v, active stored %v, count %d", s.stored(drop.ID), s.stored(keep.ID), s.m.ActiveCount())
			}
			// Run flushes on the way out even though its context is done.
			s.clk.Add(time.Minute)
			s.ok(s.m, kc, keep.ID)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.m.Run(ctx)
			if got, err := s.st.GetSession(context.Background(), keep.ID); err != nil || !got.LastSeenAt.Equal(s.clk.Now()) {
				s.t.Fatalf("after Run: last seen %v, %v; want %v", got.LastSeenAt, err, s.clk.Now())
			}
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			st, reopen := open(t)
			s := &scenario{t: t, st: st, reopen: reopen, clk: clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
			s.m = s.manager(st)
			run(s)
		})
	}
}
