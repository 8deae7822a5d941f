// Package store defines the records Gatehouse persists and the small
// interfaces each part of the gateway needs; sqlite/ and postgres/ implement
// them and storetest/ holds the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"time"
)

// Typed errors, checked with errors.Is.
var (
	// ErrNotFound: no record matches.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness constraint (email, id, name) would be broken.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable: the database cannot be reached.
	ErrUnavailable = errors.New("store: unavailable")
)

// Account kinds.
const (
	KindPersonal       = "personal"
	KindSharedComputer = "shared_computer"
)

// Account statuses.
const (
	StatusInvited     = "invited"
	StatusActive      = "active"
	StatusBlocked     = "blocked"
	StatusDeactivated = "deactivated"
)

// Account is a local identity. ID is the stable opaque id sent as `sub`.
type Account struct {
	ID           string
	Email        string // as entered; uniqueness is case-insensitive
	FirstName    string
	LastName     string
	Language     string // en | fr | ja
	DateFormat   string // MM/DD/YYYY | DD/MM/YYYY
	Kind         string // KindPersonal | KindSharedComputer; fixed at creation
	SignIn       string // "password" or "sso:PROVIDER"
	Status       string
	PasswordHash string // argon2id PHC string; empty when none is set
	TermsVersion string // terms-of-use version accepted, "" when none
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AccountQuery filters and pages ListAccounts. Zero values mean "any".
type AccountQuery struct {
	Search    string // substring of email, first or last name, case-insensitive
	Status    string
	CompanyID string
	Role      string
	SiteID    string
	After     string // cursor: list accounts whose ID sorts after this one
	Limit     int    // 0 means a default of 50; at most 1000
}

// Accounts stores accounts.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	GetAccountByEmail(ctx context.Context, email string) (Account, error)
	// UpdateAccount reads the account, applies fn and writes the result in
	// one transaction, so two concurrent updates never lose one another.
	// When fn returns an error nothing is written and that error is returned.
	UpdateAccount(ctx context.Context, id string, fn func(*Account) error) (Account, error)
	DeleteAccount(ctx context.Context, id string) error
	ListAccounts(ctx context.Context, q AccountQuery) ([]Account, error)
	CountAccounts(ctx context.Context) (int, error)
}

// Company is a tenant of the role model. ID is a short slug ("acme") that
// routes and the CLI name.
type Company struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Site belongs to a company.
type Site struct {
	ID        string
	CompanyID string
	Name      string
	CreatedAt time.Time
}

// Membership gives an account one role in one company.
type Membership struct {
	AccountID string
	CompanyID string
	Role      string
	CreatedAt time.Time
}

// Companies stores companies, their sites, memberships and site access.
type Companies interface {
	CreateCompany(ctx context.Context, c Company) error
	GetCompany(ctx context.Context, id string) (Company, error)
	ListCompanies(ctx context.Context) ([]Company, error)
	RenameCompany(ctx context.Context, id, name string) error

	CreateSite(ctx context.Context, s Site) error
	GetSite(ctx context.Context, id string) (Site, error)
	ListSites(ctx context.Context, companyID string) ([]Site, error)
	RenameSite(ctx context.Context, id, name string) error

	// SetMembership creates or replaces the account's role in the company.
	SetMembership(ctx context.Context, m Membership) error
	RemoveMembership(ctx context.Context, accountID, companyID string) error
	ListMemberships(ctx context.Context, accountID string) ([]Membership, error)
	ListCompanyMembers(ctx context.Context, companyID string) ([]Membership, error)

	GrantSite(ctx context.Context, accountID, siteID string) error
	RevokeSite(ctx context.Context, accountID, siteID string) error
	ListSiteAccess(ctx context.Context, accountID string) ([]string, error) // site ids
	ListSiteMembers(ctx context.Context, siteID string) ([]string, error)   // account ids
}

// IdentityLink ties a provider's stable subject to a local account.
type IdentityLink struct {
	ProviderID string
	Subject    string
	AccountID  string
	CreatedAt  time.Time
}

// Identities stores SSO identity links.
type Identities interface {
	LinkIdentity(ctx context.Context, l IdentityLink) error // ErrConflict when (provider, subject) is taken
	GetIdentity(ctx context.Context, providerID, subject string) (IdentityLink, error)
	ListIdentities(ctx context.Context, accountID string) ([]IdentityLink, error)
}

// Session is a server-side session. The browser holds a random token; the
// store only keeps its hash. ID is a separate random, non-secret reference
// (the assertion's `sid`, the handle shown on the account page).
type Session struct {
	ID          string
	TokenHash   []byte
	AccountID   string
	AMR         []string // RFC 8176 values
	IDP         string   // "local" or a provider id
	IDTokenHint string   // the provider's ID token, for RP-initiated logout
	UserAgent   string
	IP          string
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time // absolute expiry
}

// Sessions stores sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSessionByToken(ctx context.Context, tokenHash []byte) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSessions records the last time each session was seen, in one batch.
	TouchSessions(ctx context.Context, seen map[string]time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteAccountSessions ends every session of the account and returns their ids.
	DeleteAccountSessions(ctx context.Context, accountID string) ([]string, error)
	ListAccountSessions(ctx context.Context, accountID string) ([]Session, error)
	// DeleteExpiredSessions removes sessions past their absolute expiry or
	// idle since before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
	CountSessions(ctx context.Context) (int, error)
}

// SigningKey is an ES256 key that signs identity assertions.
type SigningKey struct {
	ID         string // kid
	Algorithm  string // ES256
	PrivateKey []byte // PKCS#8 DER
	CreatedAt  time.Time
	// SignFrom: the key is published at once but signs only from this time,
	// so verifiers have fetched it before they meet it.
	SignFrom time.Time
	// RetireAt: set when a newer key takes over. The key stops signing then
	// and stays published until every assertion it signed has expired.
	RetireAt time.Time // zero: not retired
}

// Keys stores signing keys.
type Keys interface {
	CreateSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// RetireSigningKeys sets RetireAt on every key that has none, except keepID.
	RetireSigningKeys(ctx context.Context, keepID string, at time.Time) error
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) error
}

// One-time token kinds.
const (
	TokenPasswordReset = "password_reset"
	TokenInvitation    = "invitation"
	TokenEnrolment     = "enrolment"
	TokenSSOState      = "sso_state"
)

// Token is a single-use secret sent to a person (reset and invitation links,
// workstation enrolment). Only its hash is stored.
type Token struct {
	Hash      []byte
	Kind      string
	AccountID string // may be empty (an SSO flow has no account yet)
	Data      []byte // opaque payload of the flow that issued the token
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until consumed
}

// Tokens stores one-time tokens.
type Tokens interface {
	// CreateToken stores t; when replace is true it first deletes every
	// unused token of the same kind for the same account.
	CreateToken(ctx context.Context, t Token, replace bool) error
	// ConsumeToken atomically marks the token used and returns it. A token
	// that is unknown, of another kind, already used or expired at now
	// gives ErrNotFound.
	ConsumeToken(ctx context.Context, kind string, hash []byte, now time.Time) (Token, error)
	// PeekToken returns the token if it is still usable at now, without using it.
	PeekToken(ctx context.Context, kind string, hash []byte, now time.Time) (Token, error)
}

// Throttle keeps counters for rate limits shared by every replica.
type Throttle interface {
	// Hit adds one to the counter for key in a fixed window of the given
	// length that starts at the first hit, and returns the count in the
	// current window and when that window ends.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
	// Count returns the count without adding to it (0 when the window is over).
	Count(ctx context.Context, key string, now time.Time) (count int, resetAt time.Time, err error)
	ResetCounter(ctx context.Context, key string) error
}

// AuditEvent records who did what, when, from where.
type AuditEvent struct {
	ID       int64 // assigned by the store
	Time     time.Time
	Actor    string // account id, "system", or "cli"
	Action   string // e.g. "login.success", "account.block"
	Target   string
	IP       string
	Outcome  string // "ok", "denied", "error"
	Category string // "admin", "auth", "integration"
	Details  map[string]any
}

// AuditQuery filters ListAudit. Zero values mean "any".
type AuditQuery struct {
	Actor    string
	Target   string
	Action   string // prefix match
	Category string
	Since    time.Time
	Until    time.Time
	BeforeID int64 // paging: events with a smaller id
	Limit    int   // 0 means 100; at most 1000
}

// Audit stores the audit log, newest first.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// Secrets keeps process-wide random secrets (cookie and CSRF keys) that
// every replica must share and that must survive restarts.
type Secrets interface {
	// EnsureSecret stores value under name unless a value is already
	// stored, and returns the stored one.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Store is every capability together, as the server wires it.
type Store interface {
	Accounts
	Companies
	Identities
	Sessions
	Keys
	Tokens
	Throttle
	Audit
	Secrets
	// InTx runs fn in one transaction: every call on the Store given to fn
	// commits together, or none does when fn returns an error.
	InTx(ctx context.Context, fn func(Store) error) error
	Ping(ctx context.Context) error
	Close() error
}
