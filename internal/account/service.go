package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/dateformat"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Input limits.
const (
	maxEmailLen = 254 // RFC 5321 path limit
	maxNameLen  = 100 // characters
)

// Languages and date formats an account may choose.
var (
	languages = []string{"en", "fr", "ja"}
)

// Sign-in method prefixes.
const (
	SignInPassword = "password"
	signInSSO      = "sso:"
)

// UsesPassword reports whether the account signs in with a password, the
// one rule behind sign-in, reset, invitation and set-password.
func UsesPassword(a store.Account) bool { return a.SignIn == SignInPassword }

// DefaultCompany is the company created when the very first account is
// created without naming one.
const DefaultCompany = "default"

var (
	slugRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	providerIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// Audit categories and actors.
const (
	auditCategory = "admin"
	ActorSystem   = "system"
)

// Service applies the account rules on top of a store.
type Service struct {
	st       store.Store
	sessions Sessions // nil: no process caches sessions
	roles    *Model
	hasher   Passwords
	now      func() time.Time
	rand     io.Reader
}

// Sessions is what the Service needs of the session manager
// (*session.Manager). A block, deactivation, deletion or password change
// deletes the account's sessions in the transaction that changes the
// account, so the change and the sign-out commit or fail together and
// its audit event counts what ended; no session outlives a committed
// block, and a failed block ends none. Ended then announces the ids once
// the transaction has committed, so every process drops them from its
// caches: told earlier, a process could cache a session again that the
// transaction had not yet deleted.
type Sessions interface {
	Ended(ctx context.Context, sessionIDs []string)
}

// Passwords is what accounts need of password handling: the policy a new
// password must meet and the one-way hash that is stored of it.
// *password.Hasher is one; declaring the need here keeps the domain from
// depending on a way of signing in.
type Passwords interface {
	// CheckPolicy returns why pw may not be the password of the account
	// with this email, nil when it may. A refusal with a PolicyCode is
	// reported under that code.
	CheckPolicy(pw, email string) error
	// Hash returns what the store keeps of pw.
	Hash(ctx context.Context, pw string) (string, error)
}

// policyRefusal is a password policy refusal with a stable code
// (*password.PolicyError).
type policyRefusal interface {
	error
	PolicyCode() string
}

// NewService returns a Service. sessions is told of the sessions account
// changes end; nil is for a tool no session cache depends on. rand
// supplies account ids.
func NewService(st store.Store, sessions Sessions, roles *Model, hasher Passwords, now func() time.Time, rand io.Reader) *Service {
	return &Service{st: st, sessions: sessions, roles: roles, hasher: hasher, now: now, rand: rand}
}

// Roles returns the role model in use.
func (s *Service) Roles() *Model { return s.roles }

// NewAccount is the input to Create.
type NewAccount struct {
	Email      string
	FirstName  string
	LastName   string
	Language   string // en | fr | ja; default en
	DateFormat string // MM/DD/YYYY | DD/MM/YYYY; default by language
	Kind       string // personal | shared_computer; default personal
	SignIn     string // "password" or "sso:PROVIDER"; default password
	// Password is optional; a password account created without one is
	// invited and activates when its holder sets one.
	Password string
	// CompanyID names the company the role applies in. It must exist,
	// unless CreateCompany is set or the store has no company yet. Empty:
	// the only company there is (or DefaultCompany on an empty store).
	CompanyID     string
	Role          string
	CreateCompany bool
	Sites         []string // site ids of the company to grant
	Actor         string   // who creates it, for the audit log; default "system"
	// Link, when set, links the account to a provider identity in the
	// same transaction (a just-in-time SSO account); its AccountID and
	// CreatedAt are filled in.
	Link *store.IdentityLink
}

// Create validates in and creates the account, its membership, site access
// and (when allowed) its company in one transaction, so a failure changes
// nothing. A duplicate email gives a *ConflictError; invalid input a
// *validation.Error listing every problem.
func (s *Service) Create(ctx context.Context, in NewAccount) (store.Account, error) {
	in = normalise(in)
	ps := s.validateStatic(in)
	// Checks that read the store are made before hashing, so a doomed
	// request does not cost a hash; they are repeated inside the
	// transaction, where they decide.
	companyExists, createCompany, err := s.checkCompany(ctx, s.st, &in, &ps)
	if err != nil {
		return store.Account{}, err
	}
	switch {
	case companyExists:
		if err := s.checkSites(ctx, s.st, in, &ps); err != nil {
			return store.Account{}, err
		}
	case createCompany && len(in.Sites) > 0:
		ps.Add("sites", "unknown", "company %q is being created and has no sites yet", in.CompanyID)
	}
	if err := ps.Err(); err != nil {
		return store.Account{}, err
	}
	if _, err := s.st.GetAccountByEmail(ctx, in.Email); err == nil {
		return store.Account{}, errDuplicateEmail
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Account{}, err
	}

	now := s.now().UTC()
	acc := store.Account{
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
		Language: in.Language, DateFormat: in.DateFormat, Kind: in.Kind,
		SignIn: in.SignIn, Status: store.StatusInvited,
		CreatedAt: now, UpdatedAt: now,
	}
	if acc.ID, err = NewID(s.rand, "acc_"); err != nil {
		return store.Account{}, err
	}
	if in.SignIn != SignInPassword || in.Password != "" {
		acc.Status = store.StatusActive
	}
	if in.Password != "" {
		if acc.PasswordHash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return store.Account{}, err
		}
	}

	err = s.st.InTx(ctx, func(tx store.Store) error {
		var ps validation.Problems
		_, create, err := s.checkCompany(ctx, tx, &in, &ps)
		if err != nil {
			return err
		}
		if err := ps.Err(); err != nil {
			return err
		}
		createCompany = create
		if create {
			if err := tx.CreateCompany(ctx, store.Company{ID: in.CompanyID, Name: in.CompanyID, CreatedAt: now}); err != nil {
				return fmt.Errorf("account: creating company %s: %w", in.CompanyID, err)
			}
			if err := tx.AppendAudit(ctx, s.event(ctx, now, in.Actor, "company.create", in.CompanyID, nil).In(in.CompanyID)); err != nil {
				return err
			}
		} else if err := s.checkSites(ctx, tx, in, &ps); err != nil {
			return err
		} else if err := ps.Err(); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, acc); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errDuplicateEmail
			}
			return fmt.Errorf("account: creating: %w", err)
		}
		if err := tx.SetMembership(ctx, store.Membership{AccountID: acc.ID, CompanyID: in.CompanyID, Role: in.Role, CreatedAt: now}); err != nil {
			return fmt.Errorf("account: membership: %w", err)
		}
		for _, site := range in.Sites {
			if err := tx.GrantSite(ctx, acc.ID, site); err != nil {
				return fmt.Errorf("account: site access %s: %w", site, err)
			}
		}
		if in.Link != nil {
			link := *in.Link
			link.AccountID, link.CreatedAt = acc.ID, now
			if err := tx.LinkIdentity(ctx, link); err != nil {
				return fmt.Errorf("account: identity link: %w", err)
			}
		}
		return tx.AppendAudit(ctx, s.event(ctx, now, in.Actor, "account.create", acc.ID, map[string]any{
			"email": acc.Email, "kind": acc.Kind, "sign_in": acc.SignIn, "status": acc.Status,
			"company": in.CompanyID, "role": in.Role, "sites": in.Sites, "company_created": createCompany,
		}))
	})
	if err != nil {
		return store.Account{}, err
	}
	return acc, nil
}

var errDuplicateEmail = &ConflictError{Field: "email", Message: "an account with this email already exists"}

func normalise(in NewAccount) NewAccount {
	in.Email = strings.TrimSpace(in.Email)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.CompanyID = strings.TrimSpace(in.CompanyID)
	in.Role = strings.TrimSpace(in.Role)
	if in.Language == "" {
		in.Language = "en"
	}
	if in.DateFormat == "" {
		in.DateFormat = dateformat.ForLanguage(in.Language)
	}
	if in.Kind == "" {
		in.Kind = store.KindPersonal
	}
	if in.SignIn == "" {
		in.SignIn = SignInPassword
	}
	if in.Actor == "" {
		in.Actor = ActorSystem
	}
	var sites []string
	for _, id := range in.Sites {
		if id = strings.TrimSpace(id); !slices.Contains(sites, id) {
			sites = append(sites, id)
		}
	}
	in.Sites = sites
	return in
}

// invited reports whether in makes an invited account: a password account
// created without its password, which its holder sets from a mailed link.
func invited(in NewAccount) bool { return in.SignIn == SignInPassword && in.Password == "" }

// validateStatic checks what can be checked without the store.
func (s *Service) validateStatic(in NewAccount) validation.Problems {
	var ps validation.Problems
	checkEmail(&ps, in.Email)
	switch {
	case in.Link != nil:
		// An account linked to a provider identity takes the names the
		// provider gives, which may be none; every sign-in refreshes them.
		checkOptionalName(&ps, "first_name", termFirstName, in.FirstName)
		checkOptionalName(&ps, "last_name", termLastName, in.LastName)
	case invited(in):
		// An invitee may come without names: the set-password page asks
		// for them rather than anything being made up.
		checkOptionalName(&ps, "first_name", termFirstName, in.FirstName)
		checkOptionalName(&ps, "last_name", termLastName, in.LastName)
	default:
		checkName(&ps, "first_name", termFirstName, in.FirstName)
		checkName(&ps, "last_name", termLastName, in.LastName)
	}
	if !slices.Contains(languages, in.Language) {
		ps.Add("language", "invalid", "language must be one of %s", strings.Join(languages, ", "))
	}
	if !dateformat.Valid(in.DateFormat) {
		ps.Add("date_format", "invalid", "date format must be one of %s", strings.Join(dateformat.All(), ", "))
	}
	kindOK := in.Kind == store.KindPersonal || in.Kind == store.KindSharedComputer
	if !kindOK {
		ps.Add("kind", "invalid", "kind must be %s or %s", store.KindPersonal, store.KindSharedComputer)
	}
	sso := false
	if p, ok := strings.CutPrefix(in.SignIn, signInSSO); ok {
		sso = true
		if !providerIDRE.MatchString(p) {
			ps.Add("sign_in", "invalid", "sign-in %q does not name a provider: use sso:PROVIDER", in.SignIn)
		}
	} else if in.SignIn != SignInPassword {
		ps.Add("sign_in", "invalid", "sign-in must be %q or \"sso:PROVIDER\"", SignInPassword)
	}
	switch {
	case in.Role == "":
		ps.Add("role", "required", "a role is required")
	case !s.hasRole(in.Role):
		ps.Add("role", "unknown", "unknown role %q; the %s role model has: %s", in.Role, s.roles.Name, strings.Join(s.roles.RoleNames(), ", "))
	case kindOK && !s.roles.AllowedForKind(in.Role, in.Kind):
		s.roles.kindRefusal(&ps, "role", in.Role, in.Kind)
	}
	if in.CompanyID != "" && !slugRE.MatchString(in.CompanyID) {
		ps.Add("company", "invalid", "company id %q must be lower case letters, digits and -, starting with a letter or digit, at most 63 characters", in.CompanyID)
	}
	if in.Password != "" {
		if sso {
			ps.Add("password", "not_allowed", "an account that signs in with single sign-on cannot have a password")
		} else if err := s.hasher.CheckPolicy(in.Password, in.Email); err != nil {
			var pe policyRefusal
			if errors.As(err, &pe) {
				ps.Add("password", pe.PolicyCode(), "%s", pe.Error())
			} else {
				ps.Add("password", "invalid", "%s", err.Error())
			}
		}
	}
	for i, id := range in.Sites {
		if id == "" {
			ps.Add(fmt.Sprintf("sites[%d]", i), "invalid", "empty site id")
		}
	}
	return ps
}

func (s *Service) hasRole(name string) bool {
	_, ok := s.roles.Role(name)
	return ok
}

func checkEmail(ps *validation.Problems, email string) {
	switch {
	case email == "":
		ps.Add("email", "required", "an email address is required")
		return
	case len(email) > maxEmailLen:
		ps.Add("email", "too_long", "the email address must be at most %d characters", maxEmailLen)
		return
	}
	addr, err := mail.ParseAddress(email)
	// Only a bare address is accepted: no display name, no <brackets>, no comments.
	if err != nil || addr.Name != "" || addr.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		ps.Add("email", "invalid", "%q is not a valid email address", email)
	}
}

// The names checkName speaks of, translated where a page shows the problem.
const (
	termFirstName = validation.Term("first name")
	termLastName  = validation.Term("last name")
)

func checkName(ps *validation.Problems, field string, label validation.Term, v string) {
	switch {
	case v == "":
		ps.Add(field, "required", "a %s is required", label)
	case utf8.RuneCountInString(v) > maxNameLen:
		ps.Add(field, "too_long", "the %s must be at most %d characters", label, maxNameLen)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		ps.Add(field, "invalid", "the %s contains characters that are not allowed", label)
	}
}

// checkCompany resolves in.CompanyID and decides whether the company
// must be created. It adds a problem when the company is missing and may
// not be created.
func (s *Service) checkCompany(ctx context.Context, st store.Store, in *NewAccount, ps *validation.Problems) (exists, create bool, err error) {
	if in.CompanyID != "" && !slugRE.MatchString(in.CompanyID) {
		return false, false, nil // already reported
	}
	if in.CompanyID == "" {
		all, err := st.ListCompanies(ctx)
		if err != nil {
			return false, false, err
		}
		switch len(all) {
		case 0:
			in.CompanyID = DefaultCompany
			return false, true, nil
		case 1:
			in.CompanyID = all[0].ID
			return true, false, nil
		default:
			ps.Add("company", "required", "a company is required: there are several")
			return false, false, nil
		}
	}
	_, err = st.GetCompany(ctx, in.CompanyID)
	switch {
	case err == nil:
		return true, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, false, err
	case in.CreateCompany:
		return false, true, nil
	}
	all, err := st.ListCompanies(ctx)
	if err != nil {
		return false, false, err
	}
	if len(all) == 0 {
		return false, true, nil
	}
	ps.Add("company", "unknown", "company %q does not exist; create it or ask for it to be created", in.CompanyID)
	return false, false, nil
}

// checkSites adds a problem for every site that is not in the company.
func (s *Service) checkSites(ctx context.Context, st store.Store, in NewAccount, ps *validation.Problems) error {
	for i, id := range in.Sites {
		if id == "" {
			continue
		}
		site, err := st.GetSite(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			ps.Add(fmt.Sprintf("sites[%d]", i), "unknown", "site %q does not exist", id)
		case err != nil:
			return err
		case site.CompanyID != in.CompanyID:
			ps.Add(fmt.Sprintf("sites[%d]", i), "not_allowed", "site %q belongs to another company", id)
		}
	}
	return nil
}

func (s *Service) event(ctx context.Context, now time.Time, actor, action, target string, details map[string]any) store.AuditEvent {
	if actor == "" {
		actor = ActorSystem
	}
	return store.AuditEvent{
		Time: now, Actor: actor, Action: action, Target: target, IP: AuditIP(ctx),
		Outcome: "ok", Category: auditCategory, Details: details,
	}
}
