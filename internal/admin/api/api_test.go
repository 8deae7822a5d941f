package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/i18n"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/web"
)

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// fakeSessions treats a "sess" cookie as the id of a signed-in account,
// and ends sessions in the store.
type fakeSessions struct{ st store.Store }

func (fakeSessions) Lookup(_ context.Context, r *http.Request) (store.Session, error) {
	c, err := r.Cookie("sess")
	if err != nil {
		return store.Session{}, session.ErrNoSession
	}
	return store.Session{ID: "s-" + c.Value, AccountID: c.Value}, nil
}

func (f fakeSessions) List(ctx context.Context, accountID string) ([]store.Session, error) {
	return f.st.ListAccountSessions(ctx, accountID)
}

func (f fakeSessions) EndAccount(ctx context.Context, accountID string) ([]string, error) {
	return f.st.DeleteAccountSessions(ctx, accountID)
}

func (f fakeSessions) EndAccountSession(ctx context.Context, accountID, sessionID string) error {
	list, err := f.st.ListAccountSessions(ctx, accountID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == sessionID {
			return f.st.DeleteSession(ctx, sessionID)
		}
	}
	return session.ErrNotAccountSession
}

type env struct {
	t        *testing.T
	ctx      context.Context
	st       store.Store
	accounts *account.Service
	svc      *adminsvc.Service
	mux      *http.ServeMux
	csrf     *web.CSRF
	now      time.Time
	invited  []string
}

// newSiteScopedEnv is newEnv with the site-scoped role model.
func newSiteScopedEnv(t *testing.T) *env {
	t.Helper()
	model, err := account.LoadModel(account.ModelSiteScoped)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, model)
}

func newEnv(t *testing.T, model *account.Model) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("opening the SQLite test store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	tokens, ok := any(st).(store.APITokens)
	if !ok {
		t.Fatal("the SQLite store does not implement store.APITokens")
	}
	if model == nil {
		model = account.Standard()
	}
	e := &env{t: t, ctx: context.Background(), st: st, now: t0}
	rnd := mrand.NewChaCha8([32]byte{7})
	hasher := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, rnd)
	clock := func() time.Time { return e.now }
	e.accounts = account.NewService(st, nil, model, hasher, clock, rnd)
	e.svc = &adminsvc.Service{
		Store: st, Sessions: fakeSessions{st}, Accounts: e.accounts, Policy: authz.Policy{Roles: model}, Tokens: tokens,
		SendInvitation: func(_ context.Context, a store.Account) error {
			e.invited = append(e.invited, a.Email)
			return nil
		},
		Providers: func() []adminsvc.ProviderStatus {
			return []adminsvc.ProviderStatus{{ID: "google", Type: "google", Status: "configured"}}
		},
		Now: clock, Rand: rnd, Logger: slog.New(slog.DiscardHandler),
	}
	e.svc.Rules = rules.NewService(st, st, st, model, clock, rnd, nil)
	sessions, err := session.NewManager(st, session.Options{PublicURL: &url.URL{Scheme: "https", Host: "gate.example.com"}, HashKey: bytes.Repeat([]byte{7}, 32)}, clock, rnd, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := passkey.New(passkey.Deps{PublicURL: &url.URL{Scheme: "https", Host: "gate.example.com"},
		Store: st, Credentials: st, Networks: passkey.StoreNetworks{Store: st}, Sessions: sessions,
		Now: clock, Rand: rnd, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Passkeys = pk
	e.csrf = web.NewCSRF([]byte("0123456789abcdef0123456789abcdef"), false, rnd)
	e.mux = http.NewServeMux()
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	New(Deps{Service: e.svc, CSRF: e.csrf, Catalog: catalog,
		ClientIP: func(*http.Request) string { return "192.0.2.7" }, Logger: slog.New(slog.DiscardHandler)}).Mount(e.mux)
	return e
}

func (e *env) user(email, company, role string, opts ...func(*account.NewAccount)) store.Account {
	e.t.Helper()
	in := account.NewAccount{Email: email, FirstName: "F", LastName: "L", CompanyID: company, Role: role,
		CreateCompany: true, Password: "correct horse battery staple", Actor: "test"}
	for _, o := range opts {
		o(&in)
	}
	a, err := e.accounts.Create(e.ctx, in)
	if err != nil {
		e.t.Fatalf("creating %s: %v", email, err)
	}
	return a
}

// who is how a request authenticates.
type who struct {
	session string // account id signed in by browser session
	noCSRF  bool   // leave the CSRF header out
	bearer  string
}

func as(id string) who { return who{session: id} }

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.status, err, r.body)
	}
}

func (r response) code(t *testing.T) string {
	t.Helper()
	var b httpapi.ErrorBody
	r.json(t, &b)
	return b.Error.Code
}

func (e *env) do(w who, method, path, body string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, Prefix+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.session != "" {
		req.AddCookie(&http.Cookie{Name: "sess", Value: w.session})
		// Mint a CSRF cookie and token as the admin panel page would.
		rec := httptest.NewRecorder()
		seed := httptest.NewRequest(http.MethodGet, "/", nil)
		token := e.csrf.Token(rec, seed)
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		if !w.noCSRF {
			req.Header.Set("X-CSRF-Token", token)
		}
	}
	if w.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+w.bearer)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return response{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

func (e *env) expect(r response, status int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// snapshot is everything an admin call may change, except the audit log
// (refused calls are audited on purpose).
type snapshot struct {
	Accounts    []store.Account
	Memberships map[string][]store.Membership
	Sites       map[string][]string
	Companies   []store.Company
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	accs, err := e.st.ListAccounts(e.ctx, store.AccountQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	s := snapshot{Accounts: accs, Memberships: map[string][]store.Membership{}, Sites: map[string][]string{}}
	for _, a := range accs {
		s.Memberships[a.ID], _ = e.st.ListMemberships(e.ctx, a.ID)
		s.Sites[a.ID], _ = e.st.ListSiteAccess(e.ctx, a.ID)
	}
	s.Companies, _ = e.st.ListCompanies(e.ctx)
	return s
}

func (e *env) unchanged(before snapshot) {
	e.t.Helper()
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("a rejected request changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	viewer := e.user("viewer@example.com", "acme", "viewer")
	manager := e.user("manager@example.com", "acme", "manager")

	r := e.do(who{}, "GET", "accounts", "")
	e.expect(r, http.StatusUnauthorized)
	if r.code(t) != "unauthenticated" {
		t.Fatalf("code %s", r.code(t))
	}
	e.expect(e.do(who{bearer: "ghk_nonsense"}, "GET", "accounts", ""), http.StatusUnauthorized)
	e.expect(e.do(as("acc_gone"), "GET", "accounts", ""), http.StatusUnauthorized)
	for _, c := range []store.Account{viewer, manager} {
		r := e.do(as(c.ID), "GET", "accounts", "")
		e.expect(r, http.StatusForbidden)
		before := e.snapshot()
		e.expect(e.do(as(c.ID), "POST", "accounts/"+admin.ID+"/block", ""), http.StatusForbidden)
		e.unchanged(before)
	}
	e.expect(e.do(as(admin.ID), "GET", "accounts", ""), http.StatusOK)
	e.expect(e.do(as(admin.ID), "GET", "nothing-here", ""), http.StatusNotFound)
}

func TestCSRFForSessionChanges(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	other := e.user("other@example.com", "acme", "viewer")
	before := e.snapshot()
	r := e.do(who{session: admin.ID, noCSRF: true}, "POST", "accounts/"+other.ID+"/block", "")
	e.expect(r, http.StatusForbidden)
	if r.code(t) != "csrf" {
		t.Fatalf("code %s, want csrf", r.code(t))
	}
	e.unchanged(before)
	// Reads need no token.
	e.expect(e.do(who{session: admin.ID, noCSRF: true}, "GET", "accounts/"+other.ID, ""), http.StatusOK)
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+other.ID+"/block", ""), http.StatusOK)
}

func TestCreateAccount(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	e.user("taken@example.com", "acme", "viewer")
	e.user("boss@beta.example", "beta", "admin")
	site, err := e.svc.CreateSite(e.ctx, mustCaller(t, e, admin.ID), "acme", "Toulouse")
	if err != nil {
		t.Fatal(err)
	}

	body := `{"email":"new@example.com","first_name":"Nina","last_name":"New","language":"fr",
		"memberships":[{"company":"acme","role":"viewer","sites":["` + site.ID + `"]}]}`
	r := e.do(as(admin.ID), "POST", "accounts", body)
	e.expect(r, http.StatusCreated)
	var created adminsvc.Created
	r.json(t, &created)
	a := created.Account
	if a.Email != "new@example.com" || a.Status != store.StatusInvited || a.Language != "fr" || a.DateFormat != "DD/MM/YYYY" ||
		a.Kind != store.KindPersonal || a.SignIn != "password" || !created.InvitationSent {
		t.Fatalf("created %+v", created)
	}
	if len(a.Memberships) != 1 || a.Memberships[0].Role != "viewer" || a.Memberships[0].Sites[0] != "*" {
		t.Fatalf("memberships %+v", a.Memberships)
	}
	if !reflect.DeepEqual(e.invited, []string{"new@example.com"}) {
		t.Fatalf("invitations sent: %v", e.invited)
	}
	got := e.do(as(admin.ID), "GET", "accounts/"+a.ID, "")
	e.expect(got, http.StatusOK)
	var fetched map[string]any
	got.json(t, &fetched)
	for _, k := range []string{"id", "email", "first_name", "last_name", "language", "date_format", "time_zone", "kind", "sign_in", "status", "created_at", "terms_version", "memberships"} {
		if _, ok := fetched[k]; !ok {
			t.Errorf("account JSON lacks %q", k)
		}
	}

	bad := []struct {
		name, body string
		status     int
		field      string
	}{
		{"unknown field", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"}],"password":"hunter2hunter2"}`, 400, ""},
		{"properties not yet", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"}],"properties":{}}`, 400, ""},
		{"malformed", `{"email":`, 400, ""},
		{"two values", `{"email":"x@example.com"} {}`, 400, ""},
		{"wrong type", `{"email":42}`, 400, ""},
		{"empty", ``, 400, ""},
		{"bad email", `{"email":"not-an-email","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"}]}`, 422, "email"},
		{"bad language", `{"email":"x@example.com","first_name":"A","last_name":"B","language":"de","memberships":[{"company":"acme","role":"viewer"}]}`, 422, "language"},
		{"no memberships", `{"email":"x@example.com","first_name":"A","last_name":"B"}`, 422, "memberships"},
		{"unknown role", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"boss"}]}`, 422, "memberships[0].role"},
		{"shared as admin", `{"email":"x@example.com","first_name":"A","last_name":"B","kind":"shared_computer","memberships":[{"company":"acme","role":"admin"}]}`, 422, "memberships[0].role"},
		{"unknown site", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer","sites":["nope"]}]}`, 422, "memberships[0].sites[0]"},
		{"duplicate email", `{"email":"TAKEN@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"}]}`, 409, "email"},
		{"other company", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"beta","role":"viewer"}]}`, 404, ""},
		{"second membership out of scope", `{"email":"x@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"},{"company":"beta","role":"viewer"}]}`, 404, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			r := e.do(as(admin.ID), "POST", "accounts", tt.body)
			e.expect(r, tt.status)
			if tt.field != "" {
				var b httpapi.ErrorBody
				r.json(t, &b)
				if _, ok := b.Error.Fields[tt.field]; !ok {
					t.Fatalf("fields %v lack %s", b.Error.Fields, tt.field)
				}
			}
			e.unchanged(before)
		})
	}
	big := `{"email":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	e.expect(e.do(as(admin.ID), "POST", "accounts", big), http.StatusRequestEntityTooLarge)
}

func TestCreateAccountWithoutMailer(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.SendInvitation = nil
	admin := e.user("admin@example.com", "acme", "admin")
	r := e.do(as(admin.ID), "POST", "accounts", `{"email":"n@example.com","first_name":"A","last_name":"B","memberships":[{"company":"acme","role":"viewer"}]}`)
	e.expect(r, http.StatusCreated)
	var c adminsvc.Created
	r.json(t, &c)
	if c.InvitationSent || c.Invitation == "" || c.Account.Status != store.StatusInvited {
		t.Fatalf("created %+v", c)
	}
}

func mustCaller(t *testing.T, e *env, id string) authz.Caller {
	t.Helper()
	c, err := e.svc.LoadCaller(e.ctx, id, authz.ViaSession, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpdateAccount(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	e.user("taken@example.com", "acme", "viewer")
	ws := e.user("ws@example.com", "acme", "shared_computer", func(n *account.NewAccount) { n.Kind = store.KindSharedComputer })

	r := e.do(as(admin.ID), "PATCH", "accounts/"+ws.ID, `{"first_name":"Line 4","email":"line4@example.com","language":"ja","date_format":"YYYY/MM/DD","time_zone":"Asia/Tokyo"}`)
	e.expect(r, http.StatusOK)
	var a adminsvc.AccountJSON
	r.json(t, &a)
	if a.FirstName != "Line 4" || a.Email != "line4@example.com" || a.Language != "ja" || a.LastName != "L" ||
		a.DateFormat != "YYYY/MM/DD" || a.TimeZone != "Asia/Tokyo" {
		t.Fatalf("updated %+v", a)
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"kind":"personal"}`, 422},
		{`{"language":"de"}`, 422},
		{`{"date_format":"YYYY.MM.DD"}`, 422},
		{`{"time_zone":"Mars/Olympus_Mons"}`, 422},
		{`{"time_zone":"Local"}`, 422},
		{`{"time_zone":""}`, 422},
		{`{"first_name":""}`, 422},
		{`{"email":"taken@example.com"}`, 409},
		{`{"properties":{"site":"x"}}`, 400},
		{`{"status":"active"}`, 400},
	} {
		before := e.snapshot()
		e.expect(e.do(as(admin.ID), "PATCH", "accounts/"+ws.ID, tt.body), tt.status)
		e.unchanged(before)
	}
	// A shared computer is never given a role its kind forbids.
	before := e.snapshot()
	e.expect(e.do(as(admin.ID), "PUT", "accounts/"+ws.ID+"/memberships/acme", `{"role":"manager"}`), 422)
	e.unchanged(before)
	e.expect(e.do(as(admin.ID), "PATCH", "accounts/acc_missing", `{"first_name":"X"}`), 404)
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	bob := e.user("bob@example.com", "acme", "viewer")
	if err := e.st.CreateSession(e.ctx, store.Session{ID: "s1", TokenHash: []byte("h1"), AccountID: bob.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	r := e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/block", "")
	e.expect(r, http.StatusOK)
	var a adminsvc.AccountJSON
	r.json(t, &a)
	if a.Status != store.StatusBlocked {
		t.Fatalf("status %s", a.Status)
	}
	if ss, _ := e.st.ListAccountSessions(e.ctx, bob.ID); len(ss) != 0 {
		t.Fatalf("blocking left %d sessions", len(ss))
	}
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/block", `{"x":1}`), 400)
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/block", ""), 409)
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/unblock", "{}"), 200)
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/deactivate", ""), 200)
	r = e.do(as(admin.ID), "POST", "accounts/"+bob.ID+"/unblock", "")
	e.expect(r, 409)
	if r.code(t) != "invalid_transition" {
		t.Fatalf("code %s", r.code(t))
	}

	// Self and last admin.
	before := e.snapshot()
	r = e.do(as(admin.ID), "POST", "accounts/"+admin.ID+"/block", "")
	e.expect(r, http.StatusForbidden)
	if r.code(t) != "self_action" {
		t.Fatalf("code %s", r.code(t))
	}
	e.expect(e.do(as(admin.ID), "DELETE", "accounts/"+admin.ID, ""), http.StatusForbidden)
	e.unchanged(before)
	admin2 := e.user("admin2@example.com", "acme", "admin")
	e.expect(e.do(as(admin2.ID), "POST", "accounts/"+admin.ID+"/block", ""), 200)
	// Nobody changes their own memberships; the last admin of a company
	// could only be demoted by themselves.
	r = e.do(as(admin2.ID), "PUT", "accounts/"+admin2.ID+"/memberships/acme", `{"role":"viewer"}`)
	e.expect(r, http.StatusForbidden)
	if r.code(t) != "self_action" {
		t.Fatalf("code %s", r.code(t))
	}

	// End sessions, then delete.
	carol := e.user("carol@example.com", "acme", "viewer")
	for _, id := range []string{"s2", "s3"} {
		if err := e.st.CreateSession(e.ctx, store.Session{ID: id, TokenHash: []byte(id), AccountID: carol.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	r = e.do(as(admin2.ID), "DELETE", "accounts/"+carol.ID+"/sessions", "")
	e.expect(r, 200)
	if !bytes.Contains(r.body, []byte(`"sessions_ended":2`)) {
		t.Fatalf("body %s", r.body)
	}
	e.expect(e.do(as(admin2.ID), "DELETE", "accounts/"+carol.ID, ""), http.StatusNoContent)
	e.expect(e.do(as(admin2.ID), "GET", "accounts/"+carol.ID, ""), http.StatusNotFound)
}

func TestSiteScopedManagerScope(t *testing.T) {
	e := newSiteScopedEnv(t)
	mgr := e.user("mgr@acme.example", "acme", "manager")
	inAcme := e.user("user@acme.example", "acme", "user")
	outside := e.user("user@beta.example", "beta", "user")
	e.user("mgr@beta.example", "beta", "manager")

	r := e.do(as(mgr.ID), "GET", "accounts", "")
	e.expect(r, 200)
	var page adminsvc.AccountPage
	r.json(t, &page)
	var emails []string
	for _, a := range page.Accounts {
		emails = append(emails, a.Email)
	}
	if strings.Contains(strings.Join(emails, ","), "beta") || len(emails) != 2 {
		t.Fatalf("manager of acme lists %v", emails)
	}
	e.expect(e.do(as(mgr.ID), "GET", "accounts?company=beta", ""), http.StatusForbidden)
	// Another company's account or company answers as a missing one.
	e.expect(e.do(as(mgr.ID), "GET", "accounts/"+outside.ID, ""), http.StatusNotFound)
	before := e.snapshot()
	e.expect(e.do(as(mgr.ID), "POST", "accounts/"+outside.ID+"/block", ""), http.StatusNotFound)
	e.expect(e.do(as(mgr.ID), "DELETE", "accounts/"+outside.ID, ""), http.StatusNotFound)
	e.expect(e.do(as(mgr.ID), "PATCH", "companies/beta", `{"name":"B"}`), http.StatusNotFound)
	e.expect(e.do(as(mgr.ID), "POST", "companies", `{"id":"gamma","name":"G"}`), http.StatusForbidden)
	e.unchanged(before)
	e.expect(e.do(as(mgr.ID), "POST", "accounts/"+inAcme.ID+"/block", ""), http.StatusOK)
	// Integration logs are beyond a company manager.
	e.expect(e.do(as(mgr.ID), "GET", "audit?category=integration", ""), http.StatusForbidden)
}

func TestListPagingAndFilters(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	for _, n := range []string{"ann", "ben", "cat", "dan", "eve"} {
		e.user(n+"@example.com", "acme", "viewer")
	}
	var all []string
	after := ""
	for range 10 {
		r := e.do(as(admin.ID), "GET", "accounts?limit=2&after="+after, "")
		e.expect(r, 200)
		var p adminsvc.AccountPage
		r.json(t, &p)
		for _, a := range p.Accounts {
			all = append(all, a.Email)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(all) != 6 {
		t.Fatalf("paged through %v", all)
	}
	r := e.do(as(admin.ID), "GET", "accounts?search=BEN", "")
	var p adminsvc.AccountPage
	r.json(t, &p)
	if len(p.Accounts) != 1 || p.Accounts[0].Email != "ben@example.com" {
		t.Fatalf("search: %+v", p.Accounts)
	}
	r = e.do(as(admin.ID), "GET", "accounts?role=admin&status=active", "")
	r.json(t, &p)
	if len(p.Accounts) != 1 || p.Accounts[0].ID != admin.ID {
		t.Fatalf("role filter: %+v", p.Accounts)
	}
	e.expect(e.do(as(admin.ID), "GET", "accounts?limit=x", ""), 400)
}

func TestInvitations(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	e.user("old@example.com", "acme", "viewer")

	r := e.do(as(admin.ID), "POST", "invitations", `{"emails":" jane.doe@example.com ;OLD@example.com;  Bob Baker <bob@example.com>; ;","memberships":[{"company":"acme","role":"viewer"}]}`)
	e.expect(r, 200)
	var res adminsvc.InvitationResult
	r.json(t, &res)
	if len(res.Invited) != 2 || res.Mailed != 2 || !reflect.DeepEqual(res.Existing, []string{"OLD@example.com"}) {
		t.Fatalf("result %+v", res)
	}
	// No names are made up from the address; names given are kept.
	if res.Invited[0].FirstName != "" || res.Invited[0].LastName != "" || res.Invited[0].Status != store.StatusInvited {
		t.Fatalf("invited %+v", res.Invited[0])
	}
	if res.Invited[1].Email != "bob@example.com" || res.Invited[1].FirstName != "Bob" || res.Invited[1].LastName != "Baker" {
		t.Fatalf("invited %+v", res.Invited[1])
	}
	if !reflect.DeepEqual(e.invited, []string{"jane.doe@example.com", "bob@example.com"}) {
		t.Fatalf("mails %v", e.invited)
	}

	var many []string
	for i := range 101 {
		many = append(many, "person"+strconv.Itoa(i)+"@example.com")
	}
	for _, body := range []string{
		`{"emails":"` + strings.Join(many, ";") + `","memberships":[{"company":"acme","role":"viewer"}]}`,
		`{"emails":"a@example.com; not an email","memberships":[{"company":"acme","role":"viewer"}]}`,
		`{"emails":"","memberships":[{"company":"acme","role":"viewer"}]}`,
		`{"emails":"a@example.com","memberships":[{"company":"acme","role":"emperor"}]}`,
	} {
		before, mails := e.snapshot(), len(e.invited)
		e.expect(e.do(as(admin.ID), "POST", "invitations", body), http.StatusUnprocessableEntity)
		e.unchanged(before)
		if len(e.invited) != mails {
			t.Fatal("a refused invitation sent mail")
		}
	}
	hundred := `{"emails":"` + strings.Join(many[:100], "; ") + `;","memberships":[{"company":"acme","role":"viewer"}]}`
	e.expect(e.do(as(admin.ID), "POST", "invitations", hundred), 200)
}

func TestCompaniesAndSites(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	bob := e.user("bob@example.com", "acme", "viewer")

	e.expect(e.do(as(admin.ID), "POST", "companies", `{"id":"beta","name":"Beta Inc"}`), http.StatusCreated)
	e.expect(e.do(as(admin.ID), "POST", "companies", `{"id":"beta","name":"Again"}`), http.StatusConflict)
	e.expect(e.do(as(admin.ID), "POST", "companies", `{"id":"Bad Id","name":""}`), http.StatusUnprocessableEntity)
	e.expect(e.do(as(admin.ID), "PATCH", "companies/beta", `{"name":"Beta SA"}`), http.StatusOK)
	r := e.do(as(admin.ID), "GET", "companies", "")
	if !bytes.Contains(r.body, []byte(`"Beta SA"`)) || !bytes.Contains(r.body, []byte(`"acme"`)) {
		t.Fatalf("companies %s", r.body)
	}

	r = e.do(as(admin.ID), "POST", "sites", `{"company":"acme","name":"Toulouse"}`)
	e.expect(r, http.StatusCreated)
	var site adminsvc.SiteJSON
	r.json(t, &site)
	e.expect(e.do(as(admin.ID), "POST", "sites", `{"company":"acme","name":""}`), http.StatusUnprocessableEntity)
	e.expect(e.do(as(admin.ID), "PATCH", "sites/"+site.ID, `{"name":"Toulouse-Blagnac"}`), http.StatusOK)
	e.expect(e.do(as(admin.ID), "PUT", "sites/"+site.ID+"/members", `{"accounts":["acc_nobody"]}`), http.StatusUnprocessableEntity)
	r = e.do(as(admin.ID), "PUT", "sites/"+site.ID+"/members", `{"accounts":["`+bob.ID+`"]}`)
	e.expect(r, http.StatusOK)
	var members struct{ Members []adminsvc.MemberJSON }
	r.json(t, &members)
	for _, m := range members.Members {
		// In the standard model every role sees every site.
		if !m.AllSites || !m.Access {
			t.Fatalf("member %+v", m)
		}
	}
	if got, _ := e.st.ListSiteMembers(e.ctx, site.ID); !reflect.DeepEqual(got, []string{bob.ID}) {
		t.Fatalf("site members %v", got)
	}
	e.expect(e.do(as(admin.ID), "GET", "sites?company=acme", ""), http.StatusOK)
	e.expect(e.do(as(admin.ID), "GET", "companies/acme/members", ""), http.StatusOK)
	r = e.do(as(admin.ID), "GET", "providers", "")
	e.expect(r, http.StatusOK)
	if !bytes.Contains(r.body, []byte(`"google"`)) {
		t.Fatalf("providers %s", r.body)
	}
}

func TestExportCSV(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin", func(n *account.NewAccount) { n.FirstName, n.LastName = "Ada", "Admin" })
	c := mustCaller(t, e, admin.ID)
	site, err := e.svc.CreateSite(e.ctx, c, "acme", "Lyon")
	if err != nil {
		t.Fatal(err)
	}
	site2, err := e.svc.CreateSite(e.ctx, c, "acme", "Nantes")
	if err != nil {
		t.Fatal(err)
	}
	e.user("evil@example.com", "acme", "viewer", func(n *account.NewAccount) {
		n.FirstName, n.LastName, n.Sites = "=HYPERLINK(\"x\")", "+1", []string{site.ID, site2.ID}
	})
	e.user("yamada@example.com", "acme", "manager", func(n *account.NewAccount) { n.FirstName, n.LastName, n.Language = "太郎", "山田", "ja" })
	e.user("other@beta.example", "beta", "viewer")
	// A second company role for the admin: one row per role.
	if err := e.st.SetMembership(e.ctx, store.Membership{AccountID: admin.ID, CompanyID: "beta", Role: "viewer", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}

	r := e.do(as(admin.ID), "GET", "accounts.csv", "")
	e.expect(r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if !bytes.HasPrefix(r.body, []byte("\xEF\xBB\xBF")) {
		t.Fatal("no UTF-8 byte-order mark")
	}
	if !bytes.Contains(r.body, []byte("\r\n")) {
		t.Fatal("RFC 4180 wants CRLF line breaks")
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	day := t0.Format("2006-01-02")
	want := [][]string{
		adminsvc.ExportHeader,
		{"Ada", "Admin", "admin@example.com", day, "active", "", "en", "", "acme", "admin"},
		{"'=HYPERLINK(\"x\")", "'+1", "evil@example.com", day, "active", "", "en", "Lyon, Nantes", "acme", "viewer"},
		{"太郎", "山田", "yamada@example.com", day, "active", "", "ja", "", "acme", "manager"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("export rows:\n%q\nwant\n%q", rows, want)
	}
	// The admin is only a viewer in beta: beta is not exported.
	for _, cell := range []string{"-x", "@x", "\tx", "\rx"} {
		if adminsvc.DefuseCell(cell) != "'"+cell {
			t.Errorf("adminsvc.DefuseCell(%q) = %q", cell, adminsvc.DefuseCell(cell))
		}
	}
	viewer := e.user("viewer@example.com", "acme", "viewer")
	manager := e.user("mgr@example.com", "acme", "manager")
	e.expect(e.do(as(viewer.ID), "GET", "accounts.csv", ""), http.StatusForbidden)
	e.expect(e.do(as(manager.ID), "GET", "accounts.csv", ""), http.StatusForbidden)
}

func TestAudit(t *testing.T) {
	e := newSiteScopedEnv(t)
	// Standard admin capabilities are absent in site-scoped: use a manager.
	mgr := e.user("mgr@example.com", "acme", "manager")
	u := e.user("u@example.com", "acme", "user")
	e.expect(e.do(as(mgr.ID), "POST", "accounts/"+u.ID+"/block", ""), 200)
	if err := e.st.AppendAudit(e.ctx, store.AuditEvent{Time: t0, Actor: "system", Action: "integration.sync", Outcome: "ok", Category: adminsvc.CategoryIntegration}); err != nil {
		t.Fatal(err)
	}
	r := e.do(as(mgr.ID), "GET", "audit?action=account.block&target="+u.ID, "")
	e.expect(r, 200)
	var page adminsvc.AuditPage
	r.json(t, &page)
	if len(page.Events) != 1 || page.Events[0].Actor != mgr.ID || page.Events[0].IP != "192.0.2.7" || page.Events[0].Outcome != "ok" {
		t.Fatalf("audit %+v", page.Events)
	}
	r = e.do(as(mgr.ID), "GET", "audit", "")
	if bytes.Contains(r.body, []byte("integration.sync")) {
		t.Fatal("integration events shown without integration_logs")
	}
	// A refused change is audited as denied.
	e.do(as(mgr.ID), "POST", "accounts/"+mgr.ID+"/block", "")
	r = e.do(as(mgr.ID), "GET", "audit?action=account.block&actor="+mgr.ID, "")
	if !bytes.Contains(r.body, []byte(`"denied"`)) {
		t.Fatalf("no denied event: %s", r.body)
	}
	e.expect(e.do(as(mgr.ID), "GET", "audit?since=yesterday", ""), 400)

	e2 := newEnv(t, nil)
	admin := e2.user("admin@example.com", "acme", "admin")
	if err := e2.st.AppendAudit(e2.ctx, store.AuditEvent{Time: t0, Actor: "system", Action: "integration.sync", Outcome: "ok", Category: adminsvc.CategoryIntegration}); err != nil {
		t.Fatal(err)
	}
	r = e2.do(as(admin.ID), "GET", "audit?category=integration", "")
	e2.expect(r, 200)
	if !bytes.Contains(r.body, []byte("integration.sync")) {
		t.Fatalf("admin does not see integration events: %s", r.body)
	}
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	admin2 := e.user("admin2@example.com", "acme", "admin")
	r := e.do(as(admin.ID), "POST", "api-tokens", `{"name":"ci"}`)
	e.expect(r, http.StatusCreated)
	var tok adminsvc.NewToken
	r.json(t, &tok)
	if !strings.HasPrefix(tok.Secret, "ghk_") || tok.Account != admin.ID {
		t.Fatalf("token %+v", tok)
	}
	stored, err := e.svc.Tokens.GetAPIToken(e.ctx, tok.ID)
	if err != nil || bytes.Contains(stored.Hash, []byte(tok.Secret)) || !bytes.Equal(stored.Hash, adminsvc.HashToken(tok.Secret)) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	r = e.do(as(admin.ID), "GET", "api-tokens", "")
	if bytes.Contains(r.body, []byte(tok.Secret)) || !bytes.Contains(r.body, []byte(tok.ID)) {
		t.Fatalf("list %s", r.body)
	}
	e.expect(e.do(as(admin.ID), "POST", "api-tokens", `{"name":""}`), http.StatusUnprocessableEntity)
	e.expect(e.do(as(admin.ID), "POST", "api-tokens", `{"name":"x","expires_at":"2001-01-01T00:00:00Z"}`), http.StatusUnprocessableEntity)

	// Bearer calls need no CSRF token.
	bob := e.user("bob@example.com", "acme", "viewer")
	e.expect(e.do(who{bearer: tok.Secret}, "POST", "accounts/"+bob.ID+"/block", ""), http.StatusOK)
	e.expect(e.do(who{bearer: tok.Secret + "x"}, "GET", "accounts", ""), http.StatusUnauthorized)

	// Expired.
	r = e.do(as(admin.ID), "POST", "api-tokens", `{"name":"short","expires_at":"`+t0.Add(time.Hour).Format(time.RFC3339)+`"}`)
	var short adminsvc.NewToken
	r.json(t, &short)
	e.expect(e.do(who{bearer: short.Secret}, "GET", "accounts", ""), http.StatusOK)
	e.now = t0.Add(2 * time.Hour)
	e.expect(e.do(who{bearer: short.Secret}, "GET", "accounts", ""), http.StatusUnauthorized)

	// Revoked.
	e.expect(e.do(as(admin.ID), "DELETE", "api-tokens/"+tok.ID, ""), http.StatusNoContent)
	e.expect(e.do(who{bearer: tok.Secret}, "GET", "accounts", ""), http.StatusUnauthorized)

	// A token acts as its owner: once the owner is blocked, it stops working.
	r = e.do(as(admin2.ID), "POST", "api-tokens", `{"name":"second"}`)
	var t2 adminsvc.NewToken
	r.json(t, &t2)
	e.expect(e.do(as(admin.ID), "POST", "accounts/"+admin2.ID+"/block", ""), http.StatusOK)
	e.expect(e.do(who{bearer: t2.Secret}, "GET", "accounts", ""), http.StatusUnauthorized)

	// A viewer's token (made through the CLI path) cannot be created.
	if _, err := adminsvc.CreateToken(e.ctx, e.svc.Tokens, e.st, account.Standard(), "bob@example.com", "x", t0, e.svc.Rand); err == nil {
		t.Fatal("CreateToken for a non-admin")
	}
	secret, err := adminsvc.CreateToken(e.ctx, e.svc.Tokens, e.st, account.Standard(), "ADMIN@example.com", "cli", e.now, e.svc.Rand)
	if err != nil {
		t.Fatal(err)
	}
	e.expect(e.do(who{bearer: secret}, "GET", "accounts", ""), http.StatusOK)
	e.expect(e.do(who{bearer: "garbage"}, "GET", "accounts", ""), http.StatusUnauthorized)
}

// TestDuplicateSiteRefused: a company cannot have two sites of the same
// name, whatever their case or surrounding spaces, by creation or by
// renaming; another company may reuse the name.
func TestDuplicateSiteRefused(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	e.expect(e.do(as(admin.ID), "POST", "companies", `{"id":"beta","name":"Beta Inc"}`), http.StatusCreated)
	r := e.do(as(admin.ID), "POST", "sites", `{"company":"acme","name":"Toulouse"}`)
	e.expect(r, http.StatusCreated)
	var toulouse adminsvc.SiteJSON
	r.json(t, &toulouse)
	r = e.do(as(admin.ID), "POST", "sites", `{"company":"acme","name":"Lyon"}`)
	e.expect(r, http.StatusCreated)
	var lyon adminsvc.SiteJSON
	r.json(t, &lyon)

	for _, name := range []string{"Toulouse", "  toulouse ", "TOULOUSE"} {
		r = e.do(as(admin.ID), "POST", "sites", `{"company":"acme","name":"`+name+`"}`)
		e.expect(r, http.StatusConflict)
		if !bytes.Contains(r.body, []byte(`already has a site named \"Toulouse\"`)) {
			t.Fatalf("duplicate %q: %s", name, r.body)
		}
	}
	r = e.do(as(admin.ID), "PATCH", "sites/"+lyon.ID, `{"name":"toulouse"}`)
	e.expect(r, http.StatusConflict)
	sites, err := e.st.ListSites(e.ctx, "acme")
	if err != nil || len(sites) != 2 {
		t.Fatalf("acme's sites after the refusals: %+v, %v", sites, err)
	}
	for _, s := range sites {
		if s.ID == lyon.ID && s.Name != "Lyon" {
			t.Fatalf("refused rename changed the site: %+v", s)
		}
	}

	// A site may change the case of its own name, and another company
	// may have its own Toulouse.
	e.expect(e.do(as(admin.ID), "PATCH", "sites/"+toulouse.ID, `{"name":"TOULOUSE"}`), http.StatusOK)
	e.expect(e.do(as(admin.ID), "POST", "sites", `{"company":"beta","name":"Toulouse"}`), http.StatusCreated)
}

// TestPersonalAccountRefusesSharedRole: the shared-computer role is for
// shared computers only, whether a personal account is created, invited
// or given it later; each refusal names the roles it may hold and changes
// nothing.
func TestPersonalAccountRefusesSharedRole(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.user("admin@example.com", "acme", "admin")
	bob := e.user("bob@example.com", "acme", "viewer")
	before := e.snapshot()
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "accounts/" + bob.ID + "/memberships/acme", `{"role":"shared_computer"}`},
		{"POST", "accounts", `{"email":"p@example.com","first_name":"P","last_name":"Q","kind":"personal","memberships":[{"company":"acme","role":"shared_computer"}]}`},
		{"POST", "invitations", `{"emails":"i@example.com","memberships":[{"company":"acme","role":"shared_computer"}]}`},
	} {
		r := e.do(as(admin.ID), c.method, c.path, c.body)
		e.expect(r, http.StatusUnprocessableEntity)
		if !bytes.Contains(r.body, []byte(`is for shared-computer accounts only; roles for a personal account: viewer, manager, admin`)) {
			t.Fatalf("%s %s: %s", c.method, c.path, r.body)
		}
	}
	e.unchanged(before)
}
