package account

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/validation"
)

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// newTestStore opens a fresh SQLite store in a temporary directory.
func newTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("opening the SQLite test store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	svc   *Service
	ended [][]string // what the session manager was told ended
}

func newFixture(t *testing.T, model *Model) *fixture {
	t.Helper()
	if model == nil {
		model = Standard()
	}
	f := &fixture{t: t, ctx: context.Background(), st: newTestStore(t)}
	rnd := mrand.NewChaCha8([32]byte{42})
	hasher := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, rnd)
	f.svc = NewService(f.st, f, model, hasher, func() time.Time { return t0 }, rnd)
	return f
}

// Ended records what the Service announces, in place of the session
// manager.
func (f *fixture) Ended(_ context.Context, ids []string) { f.ended = append(f.ended, ids) }

// create makes an account that must succeed.
func (f *fixture) create(in NewAccount) store.Account {
	f.t.Helper()
	a, err := f.svc.Create(f.ctx, in)
	if err != nil {
		f.t.Fatalf("Create(%s): %v", in.Email, err)
	}
	return a
}

func person(email, role string) NewAccount {
	return NewAccount{Email: email, FirstName: "Ada", LastName: "Lovelace", Role: role, CompanyID: "acme", Password: "a fine long passphrase"}
}

// snapshot is what a failed call must leave unchanged.
type snapshot struct {
	Accounts, Sessions int
	Companies          []string
	Audit              int
	Statuses           map[string]string
	Memberships        int
}

func (f *fixture) snapshot() snapshot {
	f.t.Helper()
	var s snapshot
	var err error
	if s.Accounts, err = f.st.CountAccounts(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	if s.Sessions, err = f.st.CountSessions(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	cs, err := f.st.ListCompanies(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	s.Statuses = map[string]string{}
	for _, c := range cs {
		s.Companies = append(s.Companies, c.ID)
		ms, err := f.st.ListCompanyMembers(f.ctx, c.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		s.Memberships += len(ms)
		for _, m := range ms {
			a, err := f.st.GetAccount(f.ctx, m.AccountID)
			if err != nil {
				f.t.Fatal(err)
			}
			s.Statuses[a.ID] = a.Status
		}
	}
	ev, err := f.st.ListAudit(f.ctx, store.AuditQuery{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	s.Audit = len(ev)
	return s
}

func (f *fixture) unchanged(before snapshot) {
	f.t.Helper()
	if after := f.snapshot(); !reflect.DeepEqual(before, after) {
		f.t.Fatalf("the store changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

func (f *fixture) session(accountID, id string) {
	f.t.Helper()
	err := f.st.CreateSession(f.ctx, store.Session{
		ID: id, TokenHash: []byte("hash-" + id), AccountID: accountID, AMR: []string{"pwd"}, IDP: "local",
		CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// problem returns the problem for field, failing unless err is a *validation.Error with it.
func problem(t *testing.T, err error, field string) validation.Problem {
	t.Helper()
	var ve *validation.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *validation.Error", err)
	}
	for _, p := range ve.Problems {
		if p.Field == field {
			if p.Message == "" || p.Code == "" {
				t.Fatalf("problem %+v lacks a code or message", p)
			}
			return p
		}
	}
	t.Fatalf("no problem for %s in %v", field, ve)
	return validation.Problem{}
}

func TestCreateFirstAccountCreatesCompany(t *testing.T) {
	f := newFixture(t, nil)
	a := f.create(person("ada@example.com", "admin"))
	if !regexp.MustCompile(`^acc_[a-z2-7]{26}$`).MatchString(a.ID) {
		t.Errorf("id %q is not acc_ + 26 base32 characters", a.ID)
	}
	if a.Status != store.StatusActive || a.Language != "en" || a.DateFormat != "MM/DD/YYYY" ||
		a.Kind != store.KindPersonal || a.SignIn != "password" || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Errorf("account = %+v", a)
	}
	stored, err := f.st.GetAccount(f.ctx, a.ID)
	if err != nil || stored.Email != "ada@example.com" || stored.PasswordHash != a.PasswordHash {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
	if _, err := f.st.GetCompany(f.ctx, "acme"); err != nil {
		t.Fatalf("the first company was not created: %v", err)
	}
	ms, _ := f.st.ListMemberships(f.ctx, a.ID)
	if len(ms) != 1 || ms[0].CompanyID != "acme" || ms[0].Role != "admin" {
		t.Fatalf("memberships = %+v", ms)
	}
	ev, _ := f.st.ListAudit(f.ctx, store.AuditQuery{Action: "account.create"})
	if len(ev) != 1 || ev[0].Target != a.ID || ev[0].Actor != "system" {
		t.Fatalf("audit = %+v", ev)
	}
}

func TestCreateDefaultsCompanyWhenUnnamed(t *testing.T) {
	f := newFixture(t, nil)
	in := person("ada@example.com", "admin")
	in.CompanyID = ""
	f.create(in)
	if _, err := f.st.GetCompany(f.ctx, DefaultCompany); err != nil {
		t.Fatalf("company %q not created: %v", DefaultCompany, err)
	}
	// With one company, an unnamed company means that one.
	in = person("bob@example.com", "viewer")
	in.CompanyID = ""
	b := f.create(in)
	ms, _ := f.st.ListMemberships(f.ctx, b.ID)
	if len(ms) != 1 || ms[0].CompanyID != DefaultCompany {
		t.Fatalf("memberships = %+v", ms)
	}
}

func TestCreateDuplicateEmail(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	before := f.snapshot()
	for _, email := range []string{"ada@example.com", "ADA@Example.COM", " Ada@example.com "} {
		_, err := f.svc.Create(f.ctx, person(email, "viewer"))
		if !errors.Is(err, store.ErrConflict) || err.Error() != "an account with this email already exists" {
			t.Fatalf("duplicate %q: %v", email, err)
		}
	}
	f.unchanged(before)
}

func TestCreateUnknownRole(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	before := f.snapshot()
	_, err := f.svc.Create(f.ctx, person("bob@example.com", "superuser"))
	p := problem(t, err, "role")
	if p.Code != "unknown" || !strings.Contains(p.Message, `"superuser"`) || !strings.Contains(p.Message, "viewer") {
		t.Fatalf("problem = %+v", p)
	}
	f.unchanged(before)
}

func TestCreateSharedComputerAsAdmin(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	before := f.snapshot()
	in := person("floor1@example.com", "admin")
	in.Kind = store.KindSharedComputer
	_, err := f.svc.Create(f.ctx, in)
	p := problem(t, err, "role")
	if p.Code != "not_allowed" || !strings.Contains(p.Message, "shared-computer") || !strings.Contains(p.Message, "shared_computer") {
		t.Fatalf("problem = %+v", p)
	}
	f.unchanged(before)

	in.Role = "shared_computer"
	a := f.create(in)
	if a.Kind != store.KindSharedComputer {
		t.Fatalf("kind = %q", a.Kind)
	}
}

func TestCreateUnknownCompany(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	before := f.snapshot()
	in := person("bob@example.com", "viewer")
	in.CompanyID = "globex"
	_, err := f.svc.Create(f.ctx, in)
	if p := problem(t, err, "company"); p.Code != "unknown" || !strings.Contains(p.Message, `"globex"`) {
		t.Fatalf("problem = %+v", p)
	}
	f.unchanged(before)

	in.CreateCompany = true
	f.create(in)
	if _, err := f.st.GetCompany(f.ctx, "globex"); err != nil {
		t.Fatalf("CreateCompany did not create it: %v", err)
	}
}

func TestCreateReportsEveryProblem(t *testing.T) {
	f := newFixture(t, nil)
	before := f.snapshot()
	_, err := f.svc.Create(f.ctx, NewAccount{
		Email: "Ada <ada@example.com>", Language: "de", DateFormat: "YYYY.MM.DD", Kind: "robot",
		SignIn: "ldap", Password: "short", CompanyID: "Not A Slug",
	})
	for field, code := range map[string]string{
		"email": "invalid", "first_name": "required", "last_name": "required", "language": "invalid",
		"date_format": "invalid", "kind": "invalid", "sign_in": "invalid", "role": "required",
		"company": "invalid", "password": password.CodeTooShort,
	} {
		if p := problem(t, err, field); p.Code != code {
			t.Errorf("%s: code %q; want %q (%s)", field, p.Code, code, p.Message)
		}
	}
	f.unchanged(before)
}

func TestCreateEmailValidation(t *testing.T) {
	f := newFixture(t, nil)
	for _, bad := range []string{"ada", "ada@", "@example.com", "ada@example", "<ada@example.com>", "ada@example.com (Ada)",
		"Ada Lovelace <ada@example.com>", strings.Repeat("a", 250) + "@example.com"} {
		_, err := f.svc.Create(f.ctx, person(bad, "admin"))
		problem(t, err, "email")
	}
	long := person("ada@example.com", "admin")
	long.FirstName = strings.Repeat("é", 101)
	_, err := f.svc.Create(f.ctx, long)
	if p := problem(t, err, "first_name"); p.Code != "too_long" {
		t.Fatalf("problem = %+v", p)
	}
}

func TestCreatePasswordRules(t *testing.T) {
	f := newFixture(t, nil)
	in := person("ada@example.com", "admin")
	in.Password = "ADA@example.com"
	_, err := f.svc.Create(f.ctx, in)
	if p := problem(t, err, "password"); p.Code != password.CodeEqualsEmail {
		t.Fatalf("problem = %+v", p)
	}
	in.Password = "password1234"
	_, err = f.svc.Create(f.ctx, in)
	if p := problem(t, err, "password"); p.Code != password.CodeCommon {
		t.Fatalf("problem = %+v", p)
	}
	in.SignIn = "sso:google"
	in.Password = "a fine long passphrase"
	_, err = f.svc.Create(f.ctx, in)
	if p := problem(t, err, "password"); p.Code != "not_allowed" {
		t.Fatalf("problem = %+v", p)
	}
}

func TestCreateStatus(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	invited := person("bob@example.com", "viewer")
	invited.Password = ""
	invited.Language = "fr"
	if a := f.create(invited); a.Status != store.StatusInvited || a.PasswordHash != "" || a.DateFormat != "DD/MM/YYYY" {
		t.Fatalf("password account without password = %+v", a)
	}
	sso := person("carol@example.com", "viewer")
	sso.Password = ""
	sso.SignIn = "sso:google"
	if a := f.create(sso); a.Status != store.StatusActive || a.SignIn != "sso:google" {
		t.Fatalf("sso account = %+v", a)
	}
}

func TestCreateSitesAndIdentity(t *testing.T) {
	model, err := LoadModel("site-scoped")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, model)
	boss := f.create(person("boss@example.com", "manager"))
	for _, c := range []store.Company{{ID: "globex", Name: "Globex", CreatedAt: t0}} {
		if err := f.st.CreateCompany(f.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []store.Site{
		{ID: "tls", CompanyID: "acme", Name: "Toulouse", CreatedAt: t0},
		{ID: "lyon", CompanyID: "acme", Name: "Lyon", CreatedAt: t0},
		{ID: "gx1", CompanyID: "globex", Name: "Globex 1", CreatedAt: t0},
	} {
		if err := f.st.CreateSite(f.ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	before := f.snapshot()
	in := person("op@example.com", "operator")
	in.Sites = []string{"tls", "gx1", "nowhere"}
	_, err = f.svc.Create(f.ctx, in)
	if p := problem(t, err, "sites[1]"); p.Code != "not_allowed" {
		t.Fatalf("problem = %+v", p)
	}
	if p := problem(t, err, "sites[2]"); p.Code != "unknown" {
		t.Fatalf("problem = %+v", p)
	}
	f.unchanged(before)

	in.Sites = []string{"tls", "tls"}
	in.Kind = store.KindSharedComputer
	op := f.create(in)

	id, err := f.svc.Identity(f.ctx, op.ID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != "operator" || !reflect.DeepEqual(id.Sites, []string{"tls"}) ||
		!reflect.DeepEqual(id.Capabilities, []string{CapView, CapDownload, CapComment}) || id.Account.ID != op.ID {
		t.Fatalf("operator identity = %+v", id)
	}
	id, err = f.svc.Identity(f.ctx, boss.ID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != "manager" || !reflect.DeepEqual(id.Sites, []string{"*"}) || !slices.Contains(id.Capabilities, CapManageUsers) {
		t.Fatalf("manager identity = %+v", id)
	}
	// No membership in globex: no role, no capabilities, no sites.
	id, err = f.svc.Identity(f.ctx, op.ID, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if id.Role != "" || id.Capabilities != nil || len(id.Sites) != 0 || len(id.Memberships) != 1 {
		t.Fatalf("identity without membership = %+v", id)
	}
	views, err := f.svc.Memberships(f.ctx, op.ID)
	if err != nil || len(views) != 1 || views[0].Company != "acme" {
		t.Fatalf("Memberships = %+v, %v", views, err)
	}
	if _, err := f.svc.Identity(f.ctx, "acc_missing", "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Identity of a missing account: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	admin := f.create(person("ada@example.com", "admin"))
	in := person("bob@example.com", "viewer")
	in.Password = ""
	bob := f.create(in)

	step := func(name string, fn func(context.Context, string, string) (store.Account, error), want string) {
		t.Helper()
		a, err := fn(f.ctx, admin.ID, bob.ID)
		if err != nil || a.Status != want {
			t.Fatalf("%s: %+v, %v; want status %s", name, a, err, want)
		}
	}
	// Unblocking an invited account is not a transition the rules know.
	if _, err := f.svc.Unblock(f.ctx, admin.ID, bob.ID); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("unblock invited: %v", err)
	}
	step("activate", f.svc.Activate, store.StatusActive)
	step("activate again", f.svc.Activate, store.StatusActive)
	f.session(bob.ID, "s1")
	f.session(bob.ID, "s2")
	f.session(admin.ID, "s3")
	step("block", f.svc.Block, store.StatusBlocked)
	if !reflect.DeepEqual(f.ended, [][]string{{"s1", "s2"}}) {
		t.Fatalf("sessions announced %v; want [[s1 s2]]", f.ended)
	}
	if n, _ := f.st.CountSessions(f.ctx); n != 1 {
		t.Fatalf("%d sessions left; want only the admin's", n)
	}
	if _, err := f.svc.Block(f.ctx, admin.ID, bob.ID); !errors.Is(err, ErrInvalidTransition) || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("block blocked: %v", err)
	}
	step("unblock", f.svc.Unblock, store.StatusActive)
	step("deactivate", f.svc.Deactivate, store.StatusDeactivated)

	ev, _ := f.st.ListAudit(f.ctx, store.AuditQuery{Target: bob.ID, Action: "account."})
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	if want := []string{"account.deactivate", "account.unblock", "account.block", "account.activate", "account.create"}; !reflect.DeepEqual(actions, want) {
		t.Fatalf("audit actions = %v; want %v", actions, want)
	}
}

func TestDeactivatedIsFinal(t *testing.T) {
	f := newFixture(t, nil)
	admin := f.create(person("ada@example.com", "admin"))
	bob := f.create(person("bob@example.com", "viewer"))
	if _, err := f.svc.Deactivate(f.ctx, admin.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	before := f.snapshot()
	for name, fn := range map[string]func(context.Context, string, string) (store.Account, error){
		"activate": f.svc.Activate, "block": f.svc.Block, "unblock": f.svc.Unblock, "deactivate": f.svc.Deactivate,
	} {
		_, err := fn(f.ctx, admin.ID, bob.ID)
		var te *TransitionError
		if !errors.Is(err, ErrInvalidTransition) || !errors.As(err, &te) || !strings.Contains(err.Error(), "deactivation is final") {
			t.Errorf("%s on deactivated: %v", name, err)
		}
	}
	err := f.svc.SetPassword(f.ctx, bob.ID, "another long passphrase")
	if !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("set password on deactivated: %v", err)
	}
	f.unchanged(before)
	// Deleting is still possible.
	if err := f.svc.Delete(f.ctx, admin.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
}

func TestSelfAction(t *testing.T) {
	f := newFixture(t, nil)
	admin := f.create(person("ada@example.com", "admin"))
	f.create(person("eve@example.com", "admin"))
	f.session(admin.ID, "s1")
	before := f.snapshot()
	for name, fn := range map[string]func(context.Context, string, string) (store.Account, error){
		"block": f.svc.Block, "deactivate": f.svc.Deactivate,
	} {
		if _, err := fn(f.ctx, admin.ID, admin.ID); !errors.Is(err, ErrSelfAction) {
			t.Errorf("%s self: %v", name, err)
		}
	}
	if err := f.svc.Delete(f.ctx, admin.ID, admin.ID); !errors.Is(err, ErrSelfAction) {
		t.Errorf("delete self: %v", err)
	}
	f.unchanged(before)
	if len(f.ended) != 0 {
		t.Fatalf("sessions reported ended: %v", f.ended)
	}
}

func TestLastAdmin(t *testing.T) {
	f := newFixture(t, nil)
	ada := f.create(person("ada@example.com", "admin"))
	mgr := f.create(person("mgr@example.com", "manager"))
	before := f.snapshot()
	// The manager is no administrator, so the actor here is not an admin
	// either; the rule is about what is left, not who asks.
	if _, err := f.svc.Block(f.ctx, mgr.ID, ada.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("block last admin: %v", err)
	}
	if _, err := f.svc.Deactivate(f.ctx, "cli", ada.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("deactivate last admin: %v", err)
	}
	if err := f.svc.Delete(f.ctx, "cli", ada.ID); !errors.Is(err, ErrLastAdmin) || !strings.Contains(err.Error(), "last active administrator") {
		t.Fatalf("delete last admin: %v", err)
	}
	f.unchanged(before)

	// An invited admin does not count as an active one.
	inv := person("inv@example.com", "admin")
	inv.Password = ""
	f.create(inv)
	if _, err := f.svc.Block(f.ctx, "cli", ada.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("block with only an invited admin left: %v", err)
	}
	// An active admin of another company does not keep acme
	// administered: every company keeps one of its own.
	eve := person("eve@example.com", "admin")
	eve.CompanyID, eve.CreateCompany = "globex", true
	e := f.create(eve)
	if _, err := f.svc.Block(f.ctx, e.ID, ada.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("block acme's last admin while globex has one: %v", err)
	}
	// With a second active admin of acme it is allowed; then that one
	// becomes the last.
	if err := f.st.SetMembership(f.ctx, store.Membership{AccountID: e.ID, CompanyID: "acme", Role: "admin", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Block(f.ctx, e.ID, ada.ID); err != nil {
		t.Fatalf("block with another admin: %v", err)
	}
	if _, err := f.svc.Block(f.ctx, "cli", e.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("block the remaining admin: %v", err)
	}
	// A blocked admin is not active: deactivating it leaves Eve, so it is allowed.
	if _, err := f.svc.Deactivate(f.ctx, e.ID, ada.ID); err != nil {
		t.Fatalf("deactivate a blocked admin: %v", err)
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, nil)
	admin := f.create(person("ada@example.com", "admin"))
	if err := f.st.CreateSite(f.ctx, store.Site{ID: "tls", CompanyID: "acme", Name: "Toulouse", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	in := person("bob@example.com", "viewer")
	in.Sites = []string{"tls"}
	bob := f.create(in)
	f.session(bob.ID, "s1")
	if err := f.svc.Delete(f.ctx, admin.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetAccount(f.ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account still there: %v", err)
	}
	if ms, _ := f.st.ListCompanyMembers(f.ctx, "acme"); len(ms) != 1 {
		t.Fatalf("members = %+v", ms)
	}
	if n, _ := f.st.CountSessions(f.ctx); n != 0 || !reflect.DeepEqual(f.ended, [][]string{{"s1"}}) {
		t.Fatalf("sessions left %d, ended %v", n, f.ended)
	}
	if ev, _ := f.st.ListAudit(f.ctx, store.AuditQuery{Action: "account.delete"}); len(ev) != 1 || ev[0].Target != bob.ID {
		t.Fatalf("audit = %+v", ev)
	}
	if err := f.svc.Delete(f.ctx, admin.ID, bob.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// The email is free again, under a new id.
	again := f.create(person("bob@example.com", "viewer"))
	if again.ID == bob.ID {
		t.Fatal("an id was reused")
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t, nil)
	admin := f.create(person("ada@example.com", "admin"))
	in := person("bob@example.com", "viewer")
	in.Password = ""
	bob := f.create(in)
	f.session(bob.ID, "s1")

	var pe *password.PolicyError
	if err := f.svc.SetPassword(f.ctx, bob.ID, "short"); !errors.As(err, &pe) || pe.Code != password.CodeTooShort {
		t.Fatalf("short password: %v", err)
	}
	if err := f.svc.SetPassword(f.ctx, bob.ID, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetAccount(f.ctx, bob.ID)
	if got.Status != store.StatusActive || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Fatalf("after set password: %+v", got)
	}
	if !reflect.DeepEqual(f.ended, [][]string{{"s1"}}) {
		t.Fatalf("sessions ended = %v", f.ended)
	}
	// A blocked account gets the password but stays blocked.
	if _, err := f.svc.Block(f.ctx, admin.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetPassword(f.ctx, bob.ID, "yet another passphrase"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.st.GetAccount(f.ctx, bob.ID); got.Status != store.StatusBlocked {
		t.Fatalf("status after reset while blocked = %s", got.Status)
	}

	sso := person("carol@example.com", "viewer")
	sso.Password, sso.SignIn = "", "sso:google"
	carol := f.create(sso)
	if err := f.svc.SetPassword(f.ctx, carol.ID, "a brand new passphrase"); !errors.Is(err, ErrNotPasswordAccount) {
		t.Fatalf("sso account: %v", err)
	}
}

// failingAudit makes AppendAudit fail inside transactions, to prove that
// everything Create wrote before it is rolled back.
type failingAudit struct{ store.Store }

var errAuditDown = errors.New("audit down")

func (s failingAudit) InTx(ctx context.Context, fn func(store.Store) error) error {
	return s.Store.InTx(ctx, func(tx store.Store) error { return fn(failingAudit{tx}) })
}

func (s failingAudit) AppendAudit(context.Context, store.AuditEvent) error { return errAuditDown }

func TestCreateIsOneTransaction(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("ada@example.com", "admin"))
	before := f.snapshot()
	svc := NewService(failingAudit{f.st}, f, Standard(), f.svc.hasher, f.svc.now, f.svc.rand)
	in := person("bob@example.com", "viewer")
	in.CompanyID, in.CreateCompany = "globex", true
	if _, err := svc.Create(f.ctx, in); !errors.Is(err, errAuditDown) {
		t.Fatalf("Create with failing audit: %v", err)
	}
	f.unchanged(before)
	if _, err := f.st.GetAccountByEmail(f.ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account left behind: %v", err)
	}
	// Block too: the status and the sessions stay as they were.
	bob := f.create(person("bob@example.com", "viewer"))
	f.session(bob.ID, "s1")
	before = f.snapshot()
	if _, err := svc.Block(f.ctx, "cli", bob.ID); !errors.Is(err, errAuditDown) {
		t.Fatalf("Block with failing audit: %v", err)
	}
	f.unchanged(before)
	if len(f.ended) != 0 {
		t.Fatalf("sessions reported ended after a rollback: %v", f.ended)
	}
}

// A password.Hasher is what the account service takes for Passwords.
var _ Passwords = (*password.Hasher)(nil)

// A just-in-time SSO account is made by Create like any other, its
// provider identity linked in the same transaction: a link that cannot
// be made leaves no account behind.
func TestCreateLinkedToProviderIdentity(t *testing.T) {
	f := newFixture(t, nil)
	f.create(person("admin@example.com", "admin"))

	in := NewAccount{Email: "sso@example.com", SignIn: "sso:corp", CompanyID: "acme", Role: "viewer",
		Link: &store.IdentityLink{ProviderID: "corp", Subject: "u1"}}
	a := f.create(in) // no names: the provider gave none
	if a.Status != store.StatusActive || a.Language != "en" || a.DateFormat != "MM/DD/YYYY" || a.Kind != store.KindPersonal {
		t.Fatalf("account %+v: want the defaults of every account", a)
	}
	link, err := f.st.GetIdentity(f.ctx, "corp", "u1")
	if err != nil || link.AccountID != a.ID || !link.CreatedAt.Equal(t0) {
		t.Fatalf("link %+v %v, want one to %s", link, err, a.ID)
	}

	// The same identity again: the account is not created.
	before := f.snapshot()
	in.Email = "other@example.com"
	if _, err := f.svc.Create(f.ctx, in); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second link: %v, want a conflict", err)
	}
	f.unchanged(before)

	// Without a link, the names stay required.
	in.Link, in.Email = nil, "nolink@example.com"
	_, err = f.svc.Create(f.ctx, in)
	if p := problem(t, err, "first_name"); p.Code != "required" {
		t.Fatalf("problem = %+v", p)
	}
}
