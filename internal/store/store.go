// Package store defines the records Gatehouse persists and the small
// interfaces each part of the gateway needs; sqlite/ and postgres/ implement
// them and storetest/ holds the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"log/slog"
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
	DateFormat   string // MM/DD/YYYY | DD/MM/YYYY | YYYY/MM/DD | YYYY-MM-DD
	TimeZone     string // IANA name the pages show times in; "" until chosen (UTC)
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
	// SiteID keeps the accounts that reach the site: those granted it, and
	// with SiteRoles, those whose role in the site's company is one of
	// them (the roles that see every site of their company), so that the
	// list agrees with the site's own page.
	SiteID    string
	SiteRoles []string
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

// CompaniesOf lists the companies of memberships, in their order.
func CompaniesOf(ms []Membership) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.CompanyID
	}
	return ids
}

// Companies stores companies, their sites, memberships and site access.
type Companies interface {
	CreateCompany(ctx context.Context, c Company) error
	GetCompany(ctx context.Context, id string) (Company, error)
	ListCompanies(ctx context.Context) ([]Company, error)
	RenameCompany(ctx context.Context, id, name string) error
	// LockCompany holds the company until the transaction it runs in
	// ends, so that transactions changing who administers it take turns
	// (ErrNotFound when it does not exist).
	LockCompany(ctx context.Context, id string) error

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
	// CredentialID is the passkey the session signed in with (nil for
	// other methods), so revoking a passkey ends its sessions.
	CredentialID []byte
	UserAgent    string
	IP           string
	// ProviderSID and ProviderSubject are what the identity provider
	// (IDP) knows an SSO session by: the ID token's sid (empty when it
	// sent none) and the identity link's subject. A back-channel logout
	// names one or both.
	ProviderSID     string
	ProviderSubject string
	// IdleTimeout is fixed when the session starts: shared computers get a
	// shorter one than people; zero means the manager's default.
	IdleTimeout time.Duration
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
	// DeleteCredentialSessions ends the account's sessions signed in with
	// that passkey and returns their ids.
	DeleteCredentialSessions(ctx context.Context, accountID string, credentialID []byte) ([]string, error)
	ListAccountSessions(ctx context.Context, accountID string) ([]Session, error)
	// DeleteExpiredSessions removes sessions past their absolute expiry,
	// idle for longer than their own IdleTimeout at now, or, for those
	// without one, idle since before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
	CountSessions(ctx context.Context) (int, error)
}

// ProviderSessions ends sessions by what their identity provider knows
// them by, for OpenID Connect back-channel logout.
type ProviderSessions interface {
	// DeleteProviderSessions ends the sessions that signed in through
	// providerID (Session.IDP) whose ProviderSID is sid, when sid is not
	// empty, and whose ProviderSubject is subject, when subject is not
	// empty, and returns their ids, sorted. At least one of sid and
	// subject must be given.
	DeleteProviderSessions(ctx context.Context, providerID, sid, subject string) ([]string, error)
	// DeleteAllProviderSessions ends every session that signed in through
	// providerID, for a provider an administrator disabled or removed,
	// and returns their ids, sorted.
	DeleteAllProviderSessions(ctx context.Context, providerID string) ([]string, error)
}

// Notifier is the optional capability of a store shared by several
// processes to carry messages between them (PostgreSQL's LISTEN/NOTIFY),
// which the session invalidation bus runs on. A store only one process
// uses (SQLite) does not offer it.
type Notifier interface {
	// Channel names the channel for base in this store, so deployments
	// sharing one database in separate schemas do not hear one another.
	Channel(ctx context.Context, base string) (string, error)
	// Notify sends payload to every process listening on channel.
	Notify(ctx context.Context, channel, payload string) error
	// Listen runs until ctx ends, calling fn with every payload and
	// connected after every (re)connection.
	Listen(ctx context.Context, channel string, fn func(payload string), connected func(), logger *slog.Logger)
}

// Change names account data that a committed write made stale, so every
// cache built from it (the gate's signed identities, the rules'
// evaluations) can be dropped. Exactly one field is set.
type Change struct {
	// Account: one account's own data changed (its row: profile,
	// language, email, status; its memberships, site access, property
	// values, identity links or allowed networks).
	Account string
	// Company: data every account of the company is seen through changed
	// (its access rules or property definitions).
	Company string
	// Provider: an identity provider created from the admin panel was
	// added, changed or removed (see ProviderRecords).
	Provider string
}

// Changes reports account data changes from the one place every write
// goes through, so a caller cannot forget to: each write method that
// touches account data announces what it touched, once it has committed
// (a write inside InTx, after the transaction commits; nothing when it
// rolls back).
type Changes interface {
	// WatchChanges calls fn, until ctx ends, with the changes of every
	// committed write made through this store, before that write returns
	// to its caller. fn must not write to the store.
	WatchChanges(ctx context.Context, fn func(ctx context.Context, changes []Change))
}

// LogoutTokens remembers the back-channel logout tokens already used, so
// a replayed one is refused on every replica.
type LogoutTokens interface {
	// UseLogoutToken records the token jti of providerID as used until
	// expiresAt. ErrConflict when it is already recorded and that record
	// has not expired at now; an expired record is replaced. Two
	// concurrent calls for one jti never both succeed.
	UseLogoutToken(ctx context.Context, providerID, jti string, expiresAt, now time.Time) error
	// ReleaseLogoutToken forgets a recorded jti, for a logout that failed
	// after recording it, so the provider can deliver the token again.
	// Releasing an unknown jti is not an error.
	ReleaseLogoutToken(ctx context.Context, providerID, jti string) error
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
	// TokenMFASignIn is a sign-in whose password was right and that
	// waits for its second factor (or for one to be set up).
	TokenMFASignIn = "mfa_sign_in"
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
	// Companies are the companies the event concerns: an admin reads it
	// only when they administer one of them. Left empty, AppendAudit
	// records, in the same write, the companies the target account
	// belongs to at that moment (Target read as an account id, or as an
	// account's email, which is what a failed sign-in names); an event
	// whose target is no such account concerns no company. ListAudit
	// fills it, sorted.
	Companies []string
}

// In returns e recording that it concerns companies, for an event whose
// companies are not (only) those of its target account: a change within one
// company, or one about a company, site or rule.
func (e AuditEvent) In(companies ...string) AuditEvent {
	e.Companies = companies
	return e
}

// AuditScope admits the events that concern at least one of Companies,
// and those that concern no company at all when Unattached is set.
type AuditScope struct {
	Companies  []string
	Unattached bool
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
	// Scope, when not nil, keeps only the events it admits. ByCategory
	// replaces it for the events of the categories it names, for readers
	// who may see fewer of those.
	Scope      *AuditScope
	ByCategory map[string]AuditScope
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

// Mail statuses.
const (
	MailPending = "pending"
	MailSent    = "sent"
	MailFailed  = "failed" // permanently: no more attempts
)

// Mail is one queued outgoing message, already rendered, so a restart or
// a retry sends exactly what was queued.
type Mail struct {
	ID          int64 // assigned by the store
	To          string
	Subject     string
	TextBody    string
	HTMLBody    string
	Kind        string // e.g. "password_reset", for the audit log
	AccountID   string
	Status      string
	Attempts    int
	LastError   string
	NextAttempt time.Time // not sent before this time
	LeaseUntil  time.Time // claimed by a sender until then
	CreatedAt   time.Time
	SentAt      time.Time
}

// MailQueue stores outgoing mail until it is delivered.
type MailQueue interface {
	EnqueueMail(ctx context.Context, m Mail) (int64, error)
	// ClaimMail leases up to limit pending messages due at now (NextAttempt
	// ≤ now and no live lease) until now+lease, so two senders never send
	// the same message at once.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	MarkMailSent(ctx context.Context, id int64, at time.Time) error
	// MarkMailRetry records a failed attempt and when to try again.
	MarkMailRetry(ctx context.Context, id int64, errMsg string, next time.Time) error
	MarkMailFailed(ctx context.Context, id int64, errMsg string) error
	// CountRecentMail counts messages of kind to an address created since t
	// (per-address limits on reset mail).
	CountRecentMail(ctx context.Context, kind, to string, since time.Time) (int, error)
	GetMail(ctx context.Context, id int64) (Mail, error)
}

// APIToken lets a program call the admin API as the admin who created it.
// Only the hash of the secret is stored; the secret is shown once.
type APIToken struct {
	ID         string
	Hash       []byte
	Name       string
	AccountID  string // the admin the token acts as
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time
	RevokedAt  time.Time // zero: live
}

// APITokens stores API tokens.
type APITokens interface {
	CreateAPIToken(ctx context.Context, t APIToken) error
	GetAPITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	GetAPIToken(ctx context.Context, id string) (APIToken, error)
	ListAPITokens(ctx context.Context) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
}

// Credential is a WebAuthn passkey of an account.
type Credential struct {
	ID              []byte // the authenticator's credential id
	AccountID       string
	Name            string
	PublicKey       []byte // COSE key
	AttestationType string
	AAGUID          []byte
	SignCount       uint32
	Transports      []string
	BackupEligible  bool // synced passkey when true
	BackupState     bool
	Workstation     bool // enrolled through a workstation enrolment link
	CreatedAt       time.Time
	LastUsedAt      time.Time
}

// Credentials stores passkeys.
type Credentials interface {
	CreateCredential(ctx context.Context, c Credential) error // ErrConflict on a known id
	GetCredential(ctx context.Context, id []byte) (Credential, error)
	ListCredentials(ctx context.Context, accountID string) ([]Credential, error)
	// UpdateCredentialUse records a sign-in: the new sign count, backup
	// state and time.
	UpdateCredentialUse(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error
	RenameCredential(ctx context.Context, accountID string, id []byte, name string) error
	DeleteCredential(ctx context.Context, accountID string, id []byte) error
}

// Workstations keeps the client networks a shared-computer account may
// sign in from, so the limit survives restarts and holds on every replica.
type Workstations interface {
	// AllowedNetworks returns the account's networks (CIDRs) in the order
	// they were set; none means anywhere.
	AllowedNetworks(ctx context.Context, accountID string) ([]string, error)
	// SetAllowedNetworks replaces the list; an empty list removes the
	// limit. ErrNotFound when the account does not exist. The store keeps
	// the strings as given: parsing them is the caller's business.
	SetAllowedNetworks(ctx context.Context, accountID string, cidrs []string) error
}

// TOTP is an account's time-based one-time password key (RFC 6238).
type TOTP struct {
	AccountID string
	// Secret is the shared key as the mfa package hands it over (sealed
	// when the deployment has a key for secrets at rest).
	Secret []byte
	// ConfirmedAt is zero while enrolment waits for the first code: an
	// unconfirmed key is never asked for at sign-in.
	ConfirmedAt time.Time
	// LastStep is the last time step (RFC 6238 T) a code was accepted
	// for; a code of that step or an earlier one is a replay.
	LastStep  int64
	CreatedAt time.Time
}

// SecondFactors stores TOTP keys and recovery codes.
type SecondFactors interface {
	// PutPendingTOTP stores an unconfirmed key, replacing an unconfirmed
	// one. ErrConflict when the account has a confirmed key (remove it
	// first), ErrNotFound when the account does not exist.
	PutPendingTOTP(ctx context.Context, t TOTP) error
	GetTOTP(ctx context.Context, accountID string) (TOTP, error)
	// ConfirmTOTP confirms the pending key at `at`, records step as used
	// and replaces every recovery code by the given hashes, together.
	// ErrNotFound when there is no pending key.
	ConfirmTOTP(ctx context.Context, accountID string, step int64, recoveryHashes [][]byte, at time.Time) error
	// UseTOTPStep records step as used when it is after the last used
	// one; ErrConflict otherwise (a replay), ErrNotFound without a
	// confirmed key. Two concurrent uses of one step: exactly one wins.
	UseTOTPStep(ctx context.Context, accountID string, step int64) error
	// UseRecoveryCode marks the unused code with that hash used at `at`;
	// ErrNotFound when there is no such unused code. Single use, also
	// under concurrency.
	UseRecoveryCode(ctx context.Context, accountID string, hash []byte, at time.Time) error
	// CountRecoveryCodes counts the account's unused recovery codes.
	CountRecoveryCodes(ctx context.Context, accountID string) (int, error)
	// DeleteSecondFactor removes the key (pending or confirmed) and every
	// recovery code; ErrNotFound when there was no key.
	DeleteSecondFactor(ctx context.Context, accountID string) error
}

// Property types.
const (
	PropertyText        = "text"
	PropertyChoice      = "choice"
	PropertyMultiChoice = "multi_choice"
	PropertyRelation    = "relation"
)

// PropertyDef defines an account property in a company.
type PropertyDef struct {
	CompanyID string
	Key       string
	Labels    map[string]string // language -> label
	Type      string
	Choices   []string // choice and multi_choice
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PropertyValue is an account's value of one property: one value for text
// and choice, several for multi_choice and relation (object ids).
type PropertyValue struct {
	AccountID string
	CompanyID string
	Key       string
	Values    []string
	UpdatedAt time.Time
}

// AccessRule grants a capability on tagged objects to the accounts whose
// properties and role match its condition.
type AccessRule struct {
	ID         string
	CompanyID  string
	Name       string
	Position   int // evaluation order within the company
	Enabled    bool
	Condition  []byte // JSON, interpreted by the rules package
	Capability string
	Tag        string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Properties stores property definitions, values and access rules.
type Properties interface {
	CreatePropertyDef(ctx context.Context, d PropertyDef) error // ErrConflict when the key exists
	UpdatePropertyDef(ctx context.Context, d PropertyDef) error
	GetPropertyDef(ctx context.Context, companyID, key string) (PropertyDef, error)
	ListPropertyDefs(ctx context.Context, companyID string) ([]PropertyDef, error)
	DeletePropertyDef(ctx context.Context, companyID, key string) error // also deletes its values
	// SetPropertyValue replaces the value; empty Values deletes it.
	SetPropertyValue(ctx context.Context, v PropertyValue) error
	ListPropertyValues(ctx context.Context, accountID, companyID string) ([]PropertyValue, error)
	// FindAccountsByValue lists the accounts whose property key in the
	// company holds value (relation lookups in reverse).
	FindAccountsByValue(ctx context.Context, companyID, key, value string) ([]string, error)

	CreateAccessRule(ctx context.Context, r AccessRule) error
	UpdateAccessRule(ctx context.Context, r AccessRule) error
	GetAccessRule(ctx context.Context, id string) (AccessRule, error)
	ListAccessRules(ctx context.Context, companyID string) ([]AccessRule, error) // by Position
	DeleteAccessRule(ctx context.Context, id string) error
}

// Maintenance removes records that have served their purpose, so tables
// that grow with traffic (tokens, throttling counters, sent mail, used
// logout tokens) stay small.
type Maintenance interface {
	Purge(ctx context.Context, now time.Time, keepMail time.Duration) (int, error)
	// PurgeAudit deletes the audit events that occurred before cutoff, in
	// small batches so that no write waits long behind it, and returns how
	// many went. Replicas may run it at the same time.
	PurgeAudit(ctx context.Context, cutoff time.Time) (int, error)
}

// PendingInvitation is an invited account and when the newest unused
// invitation link it was sent stops working (zero: it has none left).
type PendingInvitation struct {
	AccountID string
	Email     string
	ExpiresAt time.Time
}

// Overview counts what the admin panel's dashboard shows, always within a
// list of companies: an account counts when it has a membership in one of
// them, so an administrator's numbers never include another company's
// people. An empty list counts nothing.
type Overview interface {
	// CountAccountsByStatus counts the accounts of companies per status.
	CountAccountsByStatus(ctx context.Context, companies []string) (map[string]int, error)
	// CountLiveSessions counts the sessions of the accounts of companies
	// that have not reached their absolute expiry at now.
	CountLiveSessions(ctx context.Context, companies []string, now time.Time) (int, error)
	// ListPendingInvitations lists the invited accounts of companies whose
	// newest unused invitation link expires before before (or who have
	// none left), soonest first, at most limit of them.
	ListPendingInvitations(ctx context.Context, companies []string, before time.Time, limit int) ([]PendingInvitation, error)
}

// Store is every capability together, as the server wires it.
type Store interface {
	Accounts
	Companies
	Identities
	Sessions
	ProviderSessions
	LogoutTokens
	Keys
	Tokens
	Throttle
	Audit
	Secrets
	Maintenance
	MailQueue
	APITokens
	Credentials
	Properties
	Workstations
	Overview
	SecondFactors
	ProviderRecords
	Changes
	// InTx runs fn in one transaction: every call on the Store given to fn
	// commits together, or none does when fn returns an error.
	InTx(ctx context.Context, fn func(Store) error) error
	Ping(ctx context.Context) error
	Close() error
}
