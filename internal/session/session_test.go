package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clocktest"
	"github.com/gatehouse/gatehouse/internal/cookies"
	"github.com/gatehouse/gatehouse/internal/store"
)

var testKey = bytes.Repeat([]byte("k"), 32)

type harness struct {
	t   testing.TB
	m   *Manager
	st  *fakeStore
	clk *clocktest.Clock
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.HashKey == nil {
		opts.HashKey = testKey
	}
	st := newFakeStore()
	clk := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	m, err := NewManager(st, opts, clk.Now, rand.Reader, nil)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return &harness{t: t, m: m, st: st, clk: clk}
}

func (h *harness) request(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// start signs in account and returns the session and the cookie set.
func (h *harness) start(p StartParams, carried ...*http.Cookie) (store.Session, *http.Cookie) {
	h.t.Helper()
	rec := httptest.NewRecorder()
	s, err := h.m.Start(context.Background(), rec, h.request(carried...), p)
	if err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	return s, h.sessionCookie(rec)
}

func (h *harness) sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	h.t.Helper()
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == h.m.CookieName() {
			if found != nil {
				h.t.Fatalf("two session cookies set")
			}
			found = c
		}
	}
	if found == nil {
		h.t.Fatalf("no %s cookie set", h.m.CookieName())
	}
	return found
}

func (h *harness) lookup(c *http.Cookie) (store.Session, error) {
	return h.m.Lookup(context.Background(), h.request(c))
}

func (h *harness) mustLookup(c *http.Cookie, wantID string) {
	h.t.Helper()
	s, err := h.lookup(c)
	if err != nil {
		h.t.Fatalf("Lookup: %v", err)
	}
	if s.ID != wantID {
		h.t.Fatalf("Lookup: session %q, want %q", s.ID, wantID)
	}
}

func (h *harness) mustFail(c *http.Cookie, want error) {
	h.t.Helper()
	s, err := h.lookup(c)
	if !errors.Is(err, want) {
		h.t.Fatalf("Lookup: got session %q, err %v; want %v", s.ID, err, want)
	}
}

// mustBeGone fails with msg while the store still holds the session id.
func (h *harness) mustBeGone(id, msg string) {
	h.t.Helper()
	if _, ok := h.st.session(id); ok {
		h.t.Fatal(msg)
	}
}

var alice = StartParams{AccountID: "acc-alice", AMR: []string{"pwd"}, IDP: "local", UserAgent: "test", IP: "192.0.2.1"}

func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		name      string
		secure    bool
	}{
		{"http://localhost:8080", "gatehouse_session", false},
		{"https://gate.example.com", "__Host-gatehouse_session", true},
	} {
		t.Run(tc.publicURL, func(t *testing.T) {
			u, _ := url.Parse(tc.publicURL)
			h := newHarness(t, Options{PublicURL: u, AbsoluteTimeout: 2 * time.Hour})
			if got := h.m.CookieName(); got != tc.name {
				t.Fatalf("CookieName = %q, want %q", got, tc.name)
			}
			_, c := h.start(alice)
			if c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Fatalf("cookie attributes: %+v", c)
			}
			if c.MaxAge != 7200 {
				t.Fatalf("personal session cookie MaxAge = %d, want 7200", c.MaxAge)
			}
			_, shared := h.start(StartParams{AccountID: "ws-1", Shared: true})
			if shared.MaxAge != 0 || !shared.Expires.IsZero() {
				t.Fatalf("shared-computer cookie should end with the browser: %+v", shared)
			}

			rec := httptest.NewRecorder()
			h.m.ClearCookie(rec)
			cl := h.sessionCookie(rec)
			if cl.MaxAge >= 0 || cl.Value != "" || cl.Secure != tc.secure || cl.Path != "/" {
				t.Fatalf("cleared cookie: %+v", cl)
			}
		})
	}
}

func TestStartStoresOnlyTheTokenHash(t *testing.T) {
	h := newHarness(t, Options{})
	s, c := h.start(alice)
	token, ok := h.m.ReadToken(h.request(c))
	if !ok || len(token) != 32 {
		t.Fatalf("ReadToken = %x, %v", token, ok)
	}
	stored, ok := h.st.session(s.ID)
	if !ok {
		t.Fatal("session not in the store")
	}
	want := sha256.Sum256(token)
	if !bytes.Equal(stored.TokenHash, want[:]) {
		t.Fatal("store does not hold SHA-256 of the token")
	}
	if bytes.Contains([]byte(fmt.Sprintf("%+v", stored)), token) || strings.Contains(fmt.Sprintf("%+v", stored), c.Value) {
		t.Fatal("store record contains the token or the cookie")
	}
	if s.ID == "" || strings.Contains(c.Value, s.ID) {
		t.Fatalf("session id %q must be set and unrelated to the cookie", s.ID)
	}
	if !s.ExpiresAt.Equal(h.clk.Now().Add(DefaultAbsoluteTimeout)) || s.AccountID != alice.AccountID || s.IDP != "local" {
		t.Fatalf("record: %+v", s)
	}
	h.mustLookup(c, s.ID)
}

func TestNoFixation(t *testing.T) {
	h := newHarness(t, Options{})
	old, oldCookie := h.start(alice)
	fresh, newCookie := h.start(alice, oldCookie)
	if fresh.ID == old.ID || newCookie.Value == oldCookie.Value || bytes.Equal(fresh.TokenHash, old.TokenHash) {
		t.Fatal("Start reused the session the request carried")
	}
	h.mustBeGone(old.ID, "the session the request carried was not ended")
	h.mustFail(oldCookie, ErrNoSession)
	h.mustLookup(newCookie, fresh.ID)

	// A planted garbage cookie is simply replaced.
	planted := &http.Cookie{Name: h.m.CookieName(), Value: "attacker-chosen"}
	s, c := h.start(alice, planted)
	if c.Value == planted.Value {
		t.Fatal("planted cookie value kept")
	}
	h.mustLookup(c, s.ID)
}

func TestIdleExpiry(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 30 * time.Minute, SharedIdleTimeout: 10 * time.Minute})
	s, c := h.start(alice)

	// Sliding: a request every 20 minutes keeps it alive well past 30.
	for range 5 {
		h.clk.Add(20 * time.Minute)
		h.mustLookup(c, s.ID)
	}
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.clk.Add(31 * time.Minute)
	h.mustFail(c, ErrNoSession)
	h.mustBeGone(s.ID, "idle-expired session not deleted from the store")

	// Shared-computer sessions use the shorter idle timeout, also after a
	// restart (a new manager over the same store) whose configuration has
	// changed since: the timeout is fixed on the record when it starts.
	ws, wc := h.start(StartParams{AccountID: "ws-1", Shared: true})
	if ws.IdleTimeout != 10*time.Minute || strings.Contains(ws.ID, ".") {
		t.Fatalf("shared session: IdleTimeout %s, ID %q; want 10m and a plain random id", ws.IdleTimeout, ws.ID)
	}
	if rec, _ := h.st.session(ws.ID); rec.IdleTimeout != 10*time.Minute {
		t.Fatalf("stored shared session IdleTimeout = %s, want 10m", rec.IdleTimeout)
	}
	h.clk.Add(9 * time.Minute)
	h.mustLookup(wc, ws.ID)
	m2, err := NewManager(h.st, Options{HashKey: testKey, IdleTimeout: 30 * time.Minute, SharedIdleTimeout: 20 * time.Minute}, h.clk.Now, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.clk.Add(11 * time.Minute)
	if _, err := m2.Lookup(context.Background(), h.request(wc)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("shared session after 11 idle minutes on a fresh manager: %v", err)
	}
}

func TestIdleTimeoutFixedAtStart(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 30 * time.Minute, SharedIdleTimeout: 10 * time.Minute})
	s, c := h.start(alice)
	if s.IdleTimeout != 30*time.Minute {
		t.Fatalf("personal session IdleTimeout = %s, want 30m", s.IdleTimeout)
	}
	// A manager configured with a shorter timeout later still honours the
	// one the session started with.
	m2, err := NewManager(h.st, Options{HashKey: testKey, IdleTimeout: 5 * time.Minute}, h.clk.Now, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.clk.Add(20 * time.Minute)
	if got, err := m2.Lookup(context.Background(), h.request(c)); err != nil || got.ID != s.ID {
		t.Fatalf("Lookup on a manager with a shorter default = %s, %v", got.ID, err)
	}

	// A record without one (written before the field existed) takes the
	// manager's default.
	legacy := store.Session{ID: "legacy", TokenHash: make([]byte, 32), AccountID: "u-legacy",
		CreatedAt: h.clk.Now(), LastSeenAt: h.clk.Now(), ExpiresAt: h.clk.Now().Add(time.Hour)}
	if err := h.st.CreateSession(context.Background(), legacy); err != nil {
		t.Fatal(err)
	}
	if got := h.m.idleFor(legacy); got != 30*time.Minute {
		t.Fatalf("idleFor(record without a timeout) = %s, want the 30m default", got)
	}
	legacy.IdleTimeout = 10 * time.Minute
	if got := h.m.idleFor(legacy); got != 10*time.Minute {
		t.Fatalf("idleFor(record with 10m) = %s", got)
	}
}

func TestEndCredential(t *testing.T) {
	h := newHarness(t, Options{})
	key, other := []byte{0x00, 0xff, 'k', '1'}, []byte{0x00, 0xff, 'k', '2'}
	pk := alice
	pk.CredentialID = key
	s1, c1 := h.start(pk)
	if !bytes.Equal(s1.CredentialID, key) {
		t.Fatalf("session CredentialID = %x, want %x", s1.CredentialID, key)
	}
	if rec, _ := h.st.session(s1.ID); !bytes.Equal(rec.CredentialID, key) {
		t.Fatalf("stored CredentialID = %x, want %x", rec.CredentialID, key)
	}
	// The caller's slice is not kept: changing it later changes nothing.
	pk.CredentialID = bytes.Clone(key)
	s2, c2 := h.start(pk)
	pk.CredentialID[0] = 'X'
	if rec, _ := h.st.session(s2.ID); !bytes.Equal(rec.CredentialID, key) {
		t.Fatalf("stored CredentialID changed with the caller's slice: %x", rec.CredentialID)
	}
	pk.CredentialID = other
	s3, c3 := h.start(pk)
	s4, c4 := h.start(alice)
	for _, v := range []struct {
		c  *http.Cookie
		id string
	}{{c1, s1.ID}, {c2, s2.ID}, {c3, s3.ID}, {c4, s4.ID}} {
		h.mustLookup(v.c, v.id) // now cached
	}

	ids, err := h.m.EndCredential(context.Background(), alice.AccountID, key)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	want := []string{s1.ID, s2.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("EndCredential = %v, want %v", ids, want)
	}
	// Ended at once, cache or not; the others live on.
	h.mustFail(c1, ErrNoSession)
	h.mustFail(c2, ErrNoSession)
	h.mustLookup(c3, s3.ID)
	h.mustLookup(c4, s4.ID)

	h.st.setDown(true)
	if _, err := h.m.EndCredential(context.Background(), alice.AccountID, other); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("EndCredential with the store down = %v, want ErrUnavailable", err)
	}
	// The account's cached sessions were dropped, so nothing is served
	// from memory while the store cannot confirm.
	if _, err := h.m.Lookup(context.Background(), h.request(c4)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Lookup after a failed EndCredential = %v, want ErrUnavailable", err)
	}
}

// TestEveryEndIsPublished: each way the Manager ends sessions publishes
// exactly the sessions it ended, so other processes drop them
// within the invalidation's delay, not the cache's 5 s.
func TestEveryEndIsPublished(t *testing.T) {
	h := newHarness(t, Options{})
	var published [][]string
	h.m.bus = publishFunc(func(ids []string) { published = append(published, slices.Sorted(slices.Values(ids))) })
	key := []byte("passkey-1")
	pk := alice
	pk.CredentialID = key
	byPasskey, _ := h.start(pk)
	plain, plainCookie := h.start(alice)
	another, _ := h.start(alice)
	bob := alice
	bob.AccountID = "acc-bob"
	bobs, _ := h.start(bob)
	ctx := context.Background()

	if _, err := h.m.EndCredential(ctx, alice.AccountID, key); err != nil {
		t.Fatal(err)
	}
	if err := h.m.End(ctx, httptest.NewRecorder(), h.request(plainCookie)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.EndAccount(ctx, alice.AccountID); err != nil {
		t.Fatal(err)
	}
	if err := h.m.EndSession(ctx, bobs.ID); err != nil {
		t.Fatal(err)
	}
	// Ending sessions that are already gone publishes nothing new.
	if _, err := h.m.EndCredential(ctx, alice.AccountID, key); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{byPasskey.ID}, {plain.ID}, {another.ID}, {bobs.ID}}
	if !slices.EqualFunc(published, want, slices.Equal[[]string]) {
		t.Fatalf("published %v, want %v", published, want)
	}
}

// TestEndedAnnouncesCommittedEnds: sessions deleted in someone else's
// transaction (an account blocked) are dropped here and published on the
// bus given in Options once announced, and nothing empty is published.
func TestEndedAnnouncesCommittedEnds(t *testing.T) {
	var published [][]string
	h := newHarness(t, Options{Bus: publishFunc(func(ids []string) { published = append(published, ids) })})
	s, c := h.start(alice)
	h.mustLookup(c, s.ID)
	ctx := context.Background()
	if _, err := h.st.DeleteAccountSessions(ctx, alice.AccountID); err != nil {
		t.Fatal(err)
	}
	h.mustLookup(c, s.ID) // still cached: nobody announced the delete
	h.m.Ended(ctx, []string{s.ID})
	h.m.Ended(ctx, nil)
	h.mustFail(c, ErrNoSession)
	if want := [][]string{{s.ID}}; !slices.EqualFunc(published, want, slices.Equal[[]string]) {
		t.Fatalf("published %v, want %v", published, want)
	}
}

func TestIdleUsesStoredLastSeen(t *testing.T) {
	// Another replica's flushed touch keeps the session alive here.
	h := newHarness(t, Options{IdleTimeout: 30 * time.Minute})
	s, c := h.start(alice)
	h.clk.Add(25 * time.Minute)
	if err := h.st.TouchSessions(context.Background(), map[string]time.Time{s.ID: h.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	h.clk.Add(25 * time.Minute)
	h.mustLookup(c, s.ID)
}

func TestAbsoluteExpiry(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour})
	s, c := h.start(alice)
	for range 11 {
		h.clk.Add(10 * time.Minute)
		h.mustLookup(c, s.ID)
	}
	h.clk.Add(10 * time.Minute) // exactly 2h
	h.mustFail(c, ErrNoSession)
	h.mustBeGone(s.ID, "expired session not deleted from the store")
}

func TestBadCookies(t *testing.T) {
	h := newHarness(t, Options{})
	_, good := h.start(alice)
	other, err := NewManager(newFakeStore(), Options{HashKey: bytes.Repeat([]byte("x"), 32)}, h.clk.Now, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, foreign := (&harness{t: t, m: other, st: other.st.(*fakeStore), clk: h.clk}).start(alice)

	flipped := []byte(good.Value)
	flipped[len(flipped)/2] ^= 1
	name := h.m.CookieName()
	cases := map[string][]string{
		"none":           nil,
		"empty":          {name + "="},
		"garbage":        {name + "=%%%garbage%%%"},
		"truncated":      {name + "=" + good.Value[:len(good.Value)-4]},
		"half":           {name + "=" + good.Value[:len(good.Value)/2]},
		"bit flipped":    {name + "=" + string(flipped)},
		"other key":      {name + "=" + foreign.Value},
		"oversized":      {name + "=" + good.Value + strings.Repeat("A", 4096)},
		"duplicate":      {name + "=" + good.Value + "; " + name + "=" + good.Value},
		"duplicate line": {name + "=" + good.Value, name + "=x"},
		"other name":     {"gatehouse_sessionx=" + good.Value},
		"binary":         {name + "=\x00\xff\xfe"},
	}
	before := h.st.getCalls()
	for label, lines := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, l := range lines {
			r.Header.Add("Cookie", l)
		}
		if tok, ok := h.m.ReadToken(r); ok {
			t.Errorf("%s: ReadToken accepted %x", label, tok)
		}
		if _, err := h.m.Lookup(context.Background(), r); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Lookup err = %v, want ErrNoSession", label, err)
		}
	}
	if n := h.st.getCalls() - before; n != 0 {
		t.Errorf("bad cookies caused %d store lookups", n)
	}

	// The good cookie still works, quoted or among other cookies.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Add("Cookie", "app=1; "+name+"=\""+good.Value+"\" ;other=2")
	if _, ok := h.m.ReadToken(r); !ok {
		t.Error("quoted cookie among others refused")
	}
}

func TestHostPrefixRequired(t *testing.T) {
	u, _ := url.Parse("https://gate.example.com")
	h := newHarness(t, Options{PublicURL: u})
	_, c := h.start(alice)
	// The same value under the unprefixed name (which a subdomain could
	// set) is not accepted.
	h.mustFail(&http.Cookie{Name: cookies.Session, Value: c.Value}, ErrNoSession)
}

func TestReplayAfterEnd(t *testing.T) {
	h := newHarness(t, Options{})
	s, c := h.start(alice)
	h.mustLookup(c, s.ID)

	rec := httptest.NewRecorder()
	if err := h.m.End(context.Background(), rec, h.request(c)); err != nil {
		t.Fatalf("End: %v", err)
	}
	if cl := h.sessionCookie(rec); cl.MaxAge >= 0 {
		t.Fatalf("End did not clear the cookie: %+v", cl)
	}
	h.mustBeGone(s.ID, "End left the session in the store")
	// Same instant: the cache must not serve it.
	h.mustFail(c, ErrNoSession)
	h.clk.Add(time.Hour)
	h.mustFail(c, ErrNoSession)

	// End without a session only clears the cookie.
	rec = httptest.NewRecorder()
	if err := h.m.End(context.Background(), rec, h.request()); err != nil {
		t.Fatalf("End without session: %v", err)
	}
	h.sessionCookie(rec)
}

func TestEndWhenStoreDownKeepsCookie(t *testing.T) {
	h := newHarness(t, Options{})
	s, c := h.start(alice)
	h.st.setDown(true)
	rec := httptest.NewRecorder()
	if err := h.m.End(context.Background(), rec, h.request(c)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("End with store down: %v", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Fatal("cookie cleared although the session could not be ended")
	}
	h.st.setDown(false)
	h.clk.Add(MaxCacheTTL)
	h.mustLookup(c, s.ID)
}

func TestEndSessionAndForget(t *testing.T) {
	h := newHarness(t, Options{})
	s1, c1 := h.start(alice)
	s2, c2 := h.start(alice)
	h.mustLookup(c1, s1.ID)
	h.mustLookup(c2, s2.ID)

	if err := h.m.EndSession(context.Background(), s1.ID); err != nil {
		t.Fatal(err)
	}
	h.mustFail(c1, ErrNoSession)
	if err := h.m.EndSession(context.Background(), s1.ID); err != nil {
		t.Fatalf("ending an ended session: %v", err)
	}

	// Deleted behind the manager's back: cached until Forget.
	if err := h.st.DeleteSession(context.Background(), s2.ID); err != nil {
		t.Fatal(err)
	}
	h.m.Forget([]string{s2.ID})
	h.mustFail(c2, ErrNoSession)
}

func TestEndAccountEndsEverySessionAtOnce(t *testing.T) {
	h := newHarness(t, Options{})
	var cookies []*http.Cookie
	for range 3 {
		s, c := h.start(alice)
		h.mustLookup(c, s.ID)
		cookies = append(cookies, c)
	}
	bob, bc := h.start(StartParams{AccountID: "acc-bob"})
	h.mustLookup(bc, bob.ID)

	ids, err := h.m.EndAccount(context.Background(), alice.AccountID)
	if err != nil || len(ids) != 3 {
		t.Fatalf("EndAccount = %v, %v", ids, err)
	}
	for _, c := range cookies {
		h.mustFail(c, ErrNoSession)
	}
	h.mustLookup(bc, bob.ID)
}

func TestStoreDown(t *testing.T) {
	h := newHarness(t, Options{CacheTTL: 5 * time.Second})
	s, c := h.start(alice)
	h.mustLookup(c, s.ID)

	h.st.setDown(true)
	h.clk.Add(4 * time.Second)
	h.mustLookup(c, s.ID) // still within the cache TTL
	h.clk.Add(time.Second)
	h.mustFail(c, store.ErrUnavailable)
	h.clk.Add(10 * time.Second)
	h.mustFail(c, store.ErrUnavailable)

	// A cookie the cache has never seen also reports the outage.
	h.st.setDown(false)
	s2, c2 := h.start(alice)
	h.m.Forget([]string{s2.ID})
	h.st.setDown(true)
	h.mustFail(c2, store.ErrUnavailable)

	h.st.setDown(false)
	h.mustLookup(c, s.ID)
}

func TestStoreErrorsAreUnavailable(t *testing.T) {
	h := newHarness(t, Options{})
	_, c := h.start(alice)
	h.m.st = errStore{h.st}
	h.clk.Add(MaxCacheTTL)
	_, err := h.lookup(c)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, errBroken) {
		t.Fatalf("Lookup with a broken store: %v", err)
	}
}

var errBroken = errors.New("broken pipe")

type errStore struct{ *fakeStore }

func (errStore) GetSessionByToken(context.Context, []byte) (store.Session, error) {
	return store.Session{}, errBroken
}

func TestRevocationDuringLookupIsNotCached(t *testing.T) {
	h := newHarness(t, Options{})
	s, c := h.start(alice)
	h.m.Forget([]string{s.ID}) // force the next lookup to the store
	h.st.afterGet = func() {
		h.st.afterGet = nil
		if err := h.m.EndSession(context.Background(), s.ID); err != nil {
			t.Errorf("EndSession: %v", err)
		}
	}
	// This lookup read the store before the session ended; it may answer,
	// but must not leave a trusted cache entry behind.
	if _, err := h.lookup(c); err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	h.mustFail(c, ErrNoSession)
}

func TestTouchBatching(t *testing.T) {
	h := newHarness(t, Options{})
	var ids []string
	var cookies []*http.Cookie
	for range 3 {
		s, c := h.start(alice)
		ids = append(ids, s.ID)
		cookies = append(cookies, c)
	}
	for range 50 {
		h.clk.Add(time.Second)
		for i, c := range cookies {
			h.mustLookup(c, ids[i])
		}
	}
	if n := len(h.st.touchCalls()); n != 0 {
		t.Fatalf("%d TouchSessions calls before any flush", n)
	}
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := h.st.touchCalls()
	if len(calls) != 1 || len(calls[0]) != 3 {
		t.Fatalf("TouchSessions calls = %v, want one with 3 sessions", calls)
	}
	for _, id := range ids {
		if got := calls[0][id]; !got.Equal(h.clk.Now()) {
			t.Errorf("touch of %s = %v, want %v", id, got, h.clk.Now())
		}
	}
	// Nothing new: no write.
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.st.touchCalls()); n != 1 {
		t.Fatalf("an idle flush wrote: %d calls", n)
	}

	// A failed flush is retried by the next one.
	h.clk.Add(time.Minute)
	h.mustLookup(cookies[0], ids[0])
	h.st.setDown(true)
	if err := h.m.Flush(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Flush with store down: %v", err)
	}
	h.st.setDown(false)
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls = h.st.touchCalls()
	if len(calls) != 2 || len(calls[1]) != 1 || !calls[1][ids[0]].Equal(h.clk.Now()) {
		t.Fatalf("retried flush = %v", calls)
	}
}

func TestCacheBound(t *testing.T) {
	h := newHarness(t, Options{CacheSize: 3})
	var sessions []store.Session
	var cookies []*http.Cookie
	for range 10 {
		s, c := h.start(alice)
		sessions = append(sessions, s)
		cookies = append(cookies, c)
		if n := h.m.cache.len(); n > 3 {
			t.Fatalf("cache holds %d entries, bound 3", n)
		}
	}
	h.clk.Add(time.Minute)
	for round := range 3 {
		for i, c := range cookies {
			h.mustLookup(c, sessions[i].ID)
			if n := h.m.cache.len(); n > 3 {
				t.Fatalf("round %d: cache holds %d entries, bound 3", round, n)
			}
		}
	}
	// Touches of evicted sessions are not lost.
	if err := h.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		got, _ := h.st.session(s.ID)
		if !got.LastSeenAt.Equal(h.clk.Now()) {
			t.Errorf("session %s last seen %v, want %v", s.ID, got.LastSeenAt, h.clk.Now())
		}
	}
}

func TestCacheHitDoesNoIO(t *testing.T) {
	h := newHarness(t, Options{})
	s, c := h.start(alice)
	before := h.st.getCalls()
	for range 100 {
		h.mustLookup(c, s.ID)
	}
	if n := h.st.getCalls() - before; n != 0 {
		t.Fatalf("%d store reads for cached lookups", n)
	}
	r := h.request(c)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := h.m.Lookup(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("cache hit allocates %.1f times, want at most 2", allocs)
	}
	// After the TTL it is confirmed once, then cached again.
	h.clk.Add(MaxCacheTTL)
	h.mustLookup(c, s.ID)
	h.mustLookup(c, s.ID)
	if n := h.st.getCalls() - before; n != 1 {
		t.Fatalf("%d store reads after the TTL, want 1", n)
	}
}

// TestRecheckAsksTheStoreAgain: after Recheck every cached session is
// confirmed by the store once before it is trusted from memory again, and
// one the store no longer has is refused.
func TestRecheckAsksTheStoreAgain(t *testing.T) {
	h := newHarness(t, Options{})
	kept, keptCookie := h.start(alice)
	gone, goneCookie := h.start(alice)
	h.mustLookup(keptCookie, kept.ID)
	h.mustLookup(goneCookie, gone.ID)
	// Another process ended this one; its notification was lost.
	if err := h.st.DeleteSession(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	h.mustLookup(goneCookie, gone.ID) // still trusted from memory
	before := h.st.getCalls()
	h.m.Recheck()
	h.mustFail(goneCookie, ErrNoSession)
	h.mustLookup(keptCookie, kept.ID)
	h.mustLookup(keptCookie, kept.ID)
	if n := h.st.getCalls() - before; n != 2 {
		t.Fatalf("%d store reads after Recheck, want 2 (one per session, then from memory)", n)
	}
}

// TestHungStoreGivesUnavailableInTime: a store that never answers costs
// a lookup StoreTimeout, then the request is told the store is
// unavailable (503), never that it has no session.
func TestHungStoreGivesUnavailableInTime(t *testing.T) {
	h := newHarness(t, Options{StoreTimeout: 50 * time.Millisecond})
	s, c := h.start(alice)
	h.mustLookup(c, s.ID)
	h.st.mu.Lock()
	h.st.hang = true
	h.st.mu.Unlock()
	h.clk.Add(MaxCacheTTL) // the cached copy needs confirming
	start := time.Now()
	_, err := h.m.Lookup(context.Background(), h.request(c))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("lookup against a hung store: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("lookup against a hung store took %v with a 50ms store timeout", d)
	}
	fresh := &http.Cookie{Name: c.Name, Value: c.Value}
	h.m.Forget([]string{s.ID}) // not cached: the lookup reads the store
	if _, err := h.m.Lookup(context.Background(), h.request(fresh)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("uncached lookup against a hung store: %v, want ErrUnavailable", err)
	}
	h.st.mu.Lock()
	h.st.hang = false
	h.st.mu.Unlock()
	h.mustLookup(c, s.ID)
}

func TestRunFlushesAndPurges(t *testing.T) {
	h := newHarness(t, Options{IdleTimeout: 30 * time.Minute})
	s, c := h.start(alice)
	old, _ := h.start(StartParams{AccountID: "acc-bob"})
	h.clk.Add(20 * time.Minute)
	h.mustLookup(c, s.ID)
	h.clk.Add(15 * time.Minute) // bob idle 35 min, alice 15

	// With its context already done, Run does its start-up purge and the
	// final flush, then returns: no goroutine and no waiting on tickers.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.m.Run(ctx)
	if n := h.m.ActiveCount(); n != 1 {
		t.Fatalf("ActiveCount = %d, want 1", n)
	}
	h.mustBeGone(old.ID, "idle session not purged")
	if _, ok := h.st.session(s.ID); !ok {
		t.Fatal("active session purged")
	}
	h.clk.Add(time.Minute)
	h.mustLookup(c, s.ID)
	h.m.Run(ctx)
	got, _ := h.st.session(s.ID)
	if !got.LastSeenAt.Equal(h.clk.Now()) {
		t.Fatalf("Run did not flush: last seen %v, want %v", got.LastSeenAt, h.clk.Now())
	}
}

func TestNewManagerRejectsBadOptions(t *testing.T) {
	st := newFakeStore()
	for label, o := range map[string]Options{
		"short key":    {HashKey: []byte("short")},
		"long TTL":     {HashKey: testKey, CacheTTL: 6 * time.Second},
		"negative":     {HashKey: testKey, IdleTimeout: -time.Second},
		"neg cache":    {HashKey: testKey, CacheSize: -1},
		"tiny absolut": {HashKey: testKey, AbsoluteTimeout: time.Millisecond},
	} {
		if _, err := NewManager(st, o, nil, nil, nil); err == nil {
			t.Errorf("%s: accepted", label)
		}
	}
	if _, err := NewManager(st, Options{HashKey: testKey}, nil, nil, nil); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
}

func TestStartFailures(t *testing.T) {
	h := newHarness(t, Options{})
	h.m.rand = io.LimitReader(rand.Reader, 8)
	if _, err := h.m.Start(context.Background(), httptest.NewRecorder(), h.request(), alice); err == nil {
		t.Fatal("Start with a failing random source succeeded")
	}
	h.m.rand = rand.Reader
	h.st.setDown(true)
	rec := httptest.NewRecorder()
	if _, err := h.m.Start(context.Background(), rec, h.request(), alice); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Start with store down: %v", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Fatal("cookie set although the session was not stored")
	}
}

// TestConcurrentUse runs lookups, sign-ins, flushes and revocations at
// once on a small cache, for the race detector.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{CacheSize: 4})
	var cookies []*http.Cookie
	var ids []string
	for range 8 {
		s, c := h.start(alice)
		cookies = append(cookies, c)
		ids = append(ids, s.ID)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c := cookies[(g+i)%len(cookies)]
				if _, err := h.lookup(c); err != nil && !errors.Is(err, ErrNoSession) {
					t.Errorf("Lookup: %v", err)
					return
				}
				if i%50 == 0 {
					h.clk.Add(3 * time.Second)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			if err := h.m.Flush(context.Background()); err != nil {
				t.Errorf("Flush: %v", err)
			}
			h.m.Forget(ids[i%len(ids) : i%len(ids)+1])
		}
		if err := h.m.EndSession(context.Background(), ids[0]); err != nil {
			t.Errorf("EndSession: %v", err)
		}
	}()
	wg.Wait()
	if n := h.m.cache.len(); n > 4 {
		t.Fatalf("cache holds %d entries, bound 4", n)
	}
	h.mustFail(cookies[0], ErrNoSession)
	h.mustLookup(cookies[1], ids[1])
}
