package passkey_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/web"
)

var b64 = base64.RawURLEncoding

// softKey is a software authenticator: enough of CTAP to register a
// passkey and sign assertions for any origin and RP id the test picks.
type softKey struct {
	id      []byte
	key     *ecdsa.PrivateKey
	user    []byte
	count   uint32
	synced  bool
	rpID    string
	origins string
}

func newSoftKey(t *testing.T, synced bool) *softKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{id: id, key: k, synced: synced}
}

func (k *softKey) flags(attested bool) byte {
	f := byte(0x01 | 0x04) // user present, user verified
	if attested {
		f |= 0x40
	}
	if k.synced {
		f |= 0x08 | 0x10
	}
	return f
}

func authData(rpID string, flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	return binary.BigEndian.AppendUint32(out, count)
}

// create answers navigator.credentials.create for options from the server.
func (k *softKey) create(t *testing.T, options map[string]any, origin, rpID string) []byte {
	t.Helper()
	pk := options["publicKey"].(map[string]any)
	k.user, _ = b64.DecodeString(pk["user"].(map[string]any)["id"].(string))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: k.key.X.FillBytes(make([]byte, 32)), -3: k.key.Y.FillBytes(make([]byte, 32))})
	if err != nil {
		t.Fatal(err)
	}
	ad := authData(rpID, k.flags(true), k.count)
	ad = append(ad, make([]byte, 16)...) // AAGUID
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
	ad = append(append(ad, k.id...), cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": pk["challenge"], "origin": origin})
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}})
	return body
}

// get answers navigator.credentials.get.
func (k *softKey) get(t *testing.T, options map[string]any, origin, rpID string) []byte {
	t.Helper()
	pk := options["publicKey"].(map[string]any)
	k.count++
	ad := authData(rpID, k.flags(false), k.count)
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": pk["challenge"], "origin": origin})
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.user)}})
	return body
}

type harness struct {
	srv  *httptest.Server
	st   store.Store
	h    *passkey.Handler
	now  time.Time
	csrf *web.CSRF
	rpID string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	hs := &harness{st: st, now: time.Now()}
	mux := http.NewServeMux()
	hs.srv = httptest.NewServer(mux)
	t.Cleanup(hs.srv.Close)
	// The relying party is "localhost" at the test server's origin.
	pub, _ := url.Parse(strings.Replace(hs.srv.URL, "127.0.0.1", "localhost", 1))
	hs.rpID = "localhost"
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	now := func() time.Time { return hs.now }
	sessions, err := session.NewManager(st, session.Options{PublicURL: pub, HashKey: bytes.Repeat([]byte{7}, 32)}, now, rand.Reader, logger)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	rn, err := web.NewRenderer(cat, logger)
	if err != nil {
		t.Fatal(err)
	}
	hs.csrf = web.NewCSRF(bytes.Repeat([]byte{9}, 32), false, rand.Reader)
	h, err := passkey.New(passkey.Deps{PublicURL: pub,
		Store: st, Credentials: st, Networks: passkey.StoreNetworks{Store: st}, Sessions: sessions,
		Renderer: rn, CSRF: hs.csrf, Now: now, Rand: rand.Reader, Logger: logger,
		ClientIP: func(r *http.Request) string { return "127.0.0.1" },
		Redirect: func(rd string) string {
			if strings.HasPrefix(rd, "/") && !strings.HasPrefix(rd, "//") {
				return rd
			}
			return "/"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Mount(mux)
	// A stand-in for the gateway's login page, which hands out the CSRF token.
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(hs.csrf.Token(w, r))) })
	// Who the browser is signed in as, or 401.
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		sess, err := sessions.Lookup(r.Context(), r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(sess.AccountID))
	})
	// And for the admin's password sign-in.
	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
		if _, err := sessions.Start(r.Context(), w, r, session.StartParams{AccountID: r.URL.Query().Get("account"), AMR: []string{"pwd"}}); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	hs.h = h
	return hs
}

type browser struct {
	c     *http.Client
	token string
	hs    *harness
}

func (hs *harness) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(hs.srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return &browser{c: c, token: buf.String(), hs: hs}
}

func (b *browser) post(t *testing.T, path string, body []byte) (int, map[string]any) {
	t.Helper()
	return b.hs.send(t, b.c, http.MethodPost, path, bytes.NewReader(body),
		map[string]string{"X-CSRF-Token": b.token, "Content-Type": "application/json"})
}

func (hs *harness) account(t *testing.T, id, kind string) store.Account {
	a := store.Account{ID: id, Email: id + "@example.com", FirstName: "A", LastName: "B", Language: "en", DateFormat: "MM/DD/YYYY",
		Kind: kind, SignIn: "password", Status: store.StatusActive, CreatedAt: hs.now, UpdatedAt: hs.now}
	if err := hs.st.CreateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// member gives the account a role in company acme, creating it once.
func (hs *harness) member(t *testing.T, id, role string) {
	t.Helper()
	ctx := context.Background()
	if _, err := hs.st.GetCompany(ctx, "acme"); errors.Is(err, store.ErrNotFound) {
		if err := hs.st.CreateCompany(ctx, store.Company{ID: "acme", Name: "Acme", CreatedAt: hs.now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := hs.st.SetMembership(ctx, store.Membership{AccountID: id, CompanyID: "acme", Role: role, CreatedAt: hs.now}); err != nil {
		t.Fatal(err)
	}
}

// signIn gives a fresh browser a password session of the account.
func (hs *harness) signIn(t *testing.T, id string) *browser {
	t.Helper()
	b := hs.browser(t)
	resp, err := b.c.Get(hs.srv.URL + "/signin?account=" + id)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in of %s: %v %v", id, resp, err)
	}
	resp.Body.Close()
	return b
}

// signedInAs reports who the browser is signed in as ("" for nobody).
func (b *browser) signedInAs(t *testing.T) string {
	t.Helper()
	resp, err := b.c.Get(b.hs.srv.URL + "/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.String()
}

// call sends an admin API request with the given headers.
func (hs *harness) call(t *testing.T, c *http.Client, method, path string, header map[string]string) (int, map[string]any) {
	t.Helper()
	return hs.send(t, c, method, path, nil, header)
}

// send sends a request with a body and the given headers and decodes the
// JSON answer.
func (hs *harness) send(t *testing.T, c *http.Client, method, path string, body io.Reader, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, hs.srv.URL+path, body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// enrolmentLink makes a workstation enrolment link, as the admin service
// does once it has authorised the administrator.
func (hs *harness) enrolmentLink(t *testing.T, acct store.Account, name string) *url.URL {
	t.Helper()
	e, err := hs.h.CreateEnrolment(context.Background(), acct, name, nil)
	if err != nil {
		t.Fatalf("create enrolment: %v", err)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// enrol registers k for a shared account through a fresh enrolment link
// and returns the status of the finish call.
func (hs *harness) enrol(t *testing.T, b *browser, acct store.Account, k *softKey) (int, map[string]any) {
	t.Helper()
	u := hs.enrolmentLink(t, acct, "Press")
	token := u.Query().Get("token")
	code, opts := b.post(t, "/.gatehouse/enrol/begin?token="+url.QueryEscape(token), nil)
	if code != http.StatusOK {
		t.Fatalf("enrol begin: %d %v", code, opts)
	}
	return b.post(t, "/.gatehouse/enrol/finish", k.create(t, opts, hs.h.Origin(), hs.rpID))
}

func (hs *harness) login(t *testing.T, b *browser, k *softKey, origin, rpID string) (int, map[string]any) {
	t.Helper()
	code, opts := b.post(t, "/.gatehouse/passkey/login/begin", []byte(`{"rd":"/app"}`))
	if code != http.StatusOK {
		t.Fatalf("login begin: %d %v", code, opts)
	}
	return b.post(t, "/.gatehouse/passkey/login/finish", k.get(t, opts, origin, rpID))
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestWorkstationCeremonies(t *testing.T) {
	hs := newHarness(t)
	acct := hs.account(t, "floor", store.KindSharedComputer)
	hs.account(t, "admin", store.KindPersonal)
	hs.member(t, "floor", "shared_computer")
	hs.member(t, "admin", "admin")
	b := hs.signIn(t, "admin")

	if hs.h.PasswordBlocked(context.Background(), acct) {
		t.Fatal("password blocked before any enrolment")
	}
	synced := newSoftKey(t, true)
	if code, out := hs.enrol(t, b, acct, synced); code != http.StatusUnprocessableEntity || errCode(out) != "synced_refused" {
		t.Fatalf("synced enrolment: %d %v", code, out)
	}
	k := newSoftKey(t, false)
	if code, out := hs.enrol(t, b, acct, k); code != http.StatusCreated {
		t.Fatalf("enrolment: %d %v", code, out)
	}
	if !hs.h.PasswordBlocked(context.Background(), acct) {
		t.Fatal("password still allowed for an enrolled workstation")
	}

	origin := hs.h.Origin()
	// The workstation signs in in a browser of its own; b stays the admin's.
	if code, out := hs.login(t, hs.browser(t), k, origin, hs.rpID); code != http.StatusOK || out["redirect"] != "/app" {
		t.Fatalf("login: %d %v", code, out)
	}
	cases := []struct {
		name         string
		origin, rpID string
		before       func()
	}{
		{name: "wrong origin", origin: "https://evil.example", rpID: hs.rpID},
		{name: "wrong rp id", origin: origin, rpID: "evil.example"},
		{name: "sign count regression", origin: origin, rpID: hs.rpID, before: func() { k.count = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fresh := hs.browser(t)
			if tc.before != nil {
				tc.before()
			}
			code, out := hs.login(t, fresh, k, tc.origin, tc.rpID)
			if code != http.StatusUnauthorized || errCode(out) != "passkey_refused" {
				t.Fatalf("%d %v", code, out)
			}
			if n := len(fresh.c.Jar.Cookies(mustURL(hs.srv.URL))); n == 0 {
				t.Fatal("no cookies at all")
			}
			for _, c := range fresh.c.Jar.Cookies(mustURL(hs.srv.URL)) {
				if strings.HasPrefix(c.Name, "gatehouse_session") || strings.HasPrefix(c.Name, "gatehouse") && strings.Contains(c.Name, "sess") {
					t.Fatalf("a refused sign-in set a session cookie %s", c.Name)
				}
			}
		})
	}
	events, err := hs.st.ListAudit(context.Background(), store.AuditQuery{Action: "passkey.clone_suspected"})
	if err != nil || len(events) != 1 {
		t.Fatalf("clone audit: %v %v", events, err)
	}

	// The used link cannot be replayed.
	u := hs.enrolmentLink(t, acct, "")
	hs.now = hs.now.Add(2 * time.Hour)
	if code, _ := b.post(t, "/.gatehouse/enrol/begin?"+u.RawQuery, nil); code != http.StatusGone {
		t.Fatalf("expired link begin: %d", code)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestParseNetworks(t *testing.T) {
	nets, bad, err := passkey.ParseNetworks([]string{"10.1.2.3/8", "192.168.1.7", "::1"})
	if err != nil || bad != -1 || len(nets) != 3 || nets[0].String() != "10.0.0.0/8" || nets[1].String() != "192.168.1.7/32" {
		t.Fatalf("%v %d %v", nets, bad, err)
	}
	if _, bad, err := passkey.ParseNetworks([]string{"10.0.0.0/8", "nope"}); err == nil || bad != 1 {
		t.Fatalf("bad entry: %d %v", bad, err)
	}
}

// testWriter sends the handler's log to the test's own log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestRevokeEndsOnlyThatPasskeysSessions(t *testing.T) {
	hs := newHarness(t)
	floor := hs.account(t, "floor", store.KindSharedComputer)
	hs.account(t, "admin", store.KindPersonal)
	hs.member(t, "floor", "shared_computer")
	hs.member(t, "admin", "admin")
	admin := hs.signIn(t, "admin")

	// Two workstations of one shared account, each signed in with its own key.
	k1, k2 := newSoftKey(t, false), newSoftKey(t, false)
	for _, k := range []*softKey{k1, k2} {
		if code, out := hs.enrol(t, admin, floor, k); code != http.StatusCreated {
			t.Fatalf("enrolment: %d %v", code, out)
		}
	}
	ws1, ws2 := hs.browser(t), hs.browser(t)
	for i, pair := range []struct {
		b *browser
		k *softKey
	}{{ws1, k1}, {ws2, k2}} {
		if code, out := hs.login(t, pair.b, pair.k, hs.h.Origin(), hs.rpID); code != http.StatusOK {
			t.Fatalf("login %d: %d %v", i+1, code, out)
		}
		if who := pair.b.signedInAs(t); who != floor.ID {
			t.Fatalf("workstation %d signed in as %q", i+1, who)
		}
	}

	if n, err := hs.h.RevokeCredential(context.Background(), floor.ID, b64.EncodeToString(k1.id)); err != nil || n != 1 {
		t.Fatalf("revoke: %d sessions ended, %v", n, err)
	}
	if who := ws1.signedInAs(t); who != "" {
		t.Fatalf("the revoked passkey's session survived (%q)", who)
	}
	if who := ws2.signedInAs(t); who != floor.ID {
		t.Fatalf("the other passkey's session ended too (%q)", who)
	}
	if who := admin.signedInAs(t); who != "admin" {
		t.Fatalf("the admin's session ended (%q)", who)
	}
	// The revoked key no longer signs in; the other still does.
	if code, out := hs.login(t, hs.browser(t), k1, hs.h.Origin(), hs.rpID); code == http.StatusOK {
		t.Fatalf("a revoked passkey signed in: %v", out)
	}
	if code, out := hs.login(t, hs.browser(t), k2, hs.h.Origin(), hs.rpID); code != http.StatusOK {
		t.Fatalf("the other passkey: %d %v", code, out)
	}
	if _, err := hs.h.RevokeCredential(context.Background(), floor.ID, b64.EncodeToString(k1.id)); !errors.Is(err, passkey.ErrNoCredential) {
		t.Fatalf("revoking it again: %v, want ErrNoCredential", err)
	}
}

// On a public_url whose host is an IP address there is no relying-party
// id: the handler is built with passkeys off; on a host name they are on.
func TestPasskeysOffOnIPAddress(t *testing.T) {
	for raw, enabled := range map[string]bool{
		"http://10.0.0.5:8080":       false,
		"http://[fd00::1]:8080":      false,
		"http://127.0.0.1:8080":      false,
		"https://gate.example.com":   true,
		"http://localhost:8080":      true,
		"https://10-0-0-5.internal":  true,
		"https://gate.example.com:1": true,
	} {
		pub, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		h, err := passkey.New(passkey.Deps{PublicURL: pub})
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if h.Enabled() != enabled {
			t.Errorf("%s: Enabled = %v, want %v", raw, h.Enabled(), enabled)
		}
		if (h.Origin() != "") != enabled {
			t.Errorf("%s: Origin = %q", raw, h.Origin())
		}
	}
}

// A ceremony call's error is the contract's JSON shape, its message the
// catalogue's text in the caller's language: off passkeys (409) and a
// missing CSRF token (403) alike.
func TestCeremonyErrorsSpeakTheCatalogue(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	rn, err := web.NewRenderer(cat, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	csrf := web.NewCSRF(bytes.Repeat([]byte{9}, 32), false, rand.Reader)
	for _, c := range []struct {
		public string
		status int
		code   string
		key    string
	}{
		{"http://10.0.0.5:8080", http.StatusConflict, "passkeys_off", "passkey.off"},
		{"https://gate.example.com", http.StatusForbidden, "csrf", "error.csrf"},
	} {
		pub, _ := url.Parse(c.public)
		h, err := passkey.New(passkey.Deps{PublicURL: pub, Renderer: rn, CSRF: csrf, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Mount(mux)
		for _, lang := range i18n.Languages {
			req := httptest.NewRequest(http.MethodPost, "/.gatehouse/passkey/login/begin", strings.NewReader("{}"))
			req.Header.Set("Accept-Language", lang)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			var out struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %s: not JSON: %s", c.public, lang, rec.Body)
			}
			if rec.Code != c.status || out.Error.Code != c.code || out.Error.Message != cat.T(lang, c.key) {
				t.Errorf("%s %s: %d %q %q, want %d %q %q", c.public, lang, rec.Code, out.Error.Code, out.Error.Message, c.status, c.code, cat.T(lang, c.key))
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q", c.public, lang, ct)
			}
		}
	}
}
