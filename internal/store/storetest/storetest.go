// Package storetest is the conformance suite every store backend must pass,
// plus helpers that give integration tests an isolated PostgreSQL schema.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Run runs the whole suite. newStore must return a fresh, empty, migrated
// store for each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AccountCRUD", testAccountCRUD},
		{"AccountEmailUnique", testAccountEmailUnique},
		{"AccountUpdateFnError", testAccountUpdateFnError},
		{"AccountFixedFields", testAccountFixedFields},
		{"AccountConcurrentUpdates", testAccountConcurrentUpdates},
		{"ListAccounts", testListAccounts},
		{"ListAccountsPaging", testListAccountsPaging},
		{"CompaniesAndSites", testCompaniesAndSites},
		{"CompanyLock", testCompanyLock},
		{"Memberships", testMemberships},
		{"SiteAccess", testSiteAccess},
		{"Identities", testIdentities},
		{"Sessions", testSessions},
		{"TouchSessions", testTouchSessions},
		{"CredentialSessions", testCredentialSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"ProviderSessions", testProviderSessions},
		{"LogoutTokenSingleUse", testLogoutTokenSingleUse},
		{"LogoutTokenConcurrentUse", testLogoutTokenConcurrentUse},
		{"SigningKeys", testSigningKeys},
		{"TokenSingleUse", testTokenSingleUse},
		{"TokenExpiry", testTokenExpiry},
		{"TokenReplace", testTokenReplace},
		{"TokenConcurrentConsume", testTokenConcurrentConsume},
		{"Throttle", testThrottle},
		{"ThrottleConcurrent", testThrottleConcurrent},
		{"Audit", testAudit},
		{"AuditPaging", testAuditPaging},
		{"AuditCompanies", testAuditCompanies},
		{"PurgeAudit", testPurgeAudit},
		{"Secrets", testSecrets},
		{"Providers", testProviders},
		{"AllProviderSessions", testAllProviderSessions},
		{"InTxRollback", testInTxRollback},
		{"InTxCommit", testInTxCommit},
		{"CascadeOnAccountDelete", testCascade},
		{"TimestampsUTC", testTimestampsUTC},
		{"Ping", testPing},
		{"MailQueue", testMailQueue},
		{"MailConcurrentClaim", testMailConcurrentClaim},
		{"APITokens", testAPITokens},
		{"APITokensInTx", testAPITokensInTx},
		{"Credentials", testCredentials},
		{"PropertyDefs", testPropertyDefs},
		{"PropertyValues", testPropertyValues},
		{"AccessRules", testAccessRules},
		{"AllowedNetworks", testAllowedNetworks},
		{"SecondFactors", testSecondFactors},
		{"Purge", testPurge},
		{"Overview", testOverview},
		{"Changes", testChanges},
		{"ChangesOnlyWhenCommitted", testChangesOnlyWhenCommitted},
		{"ChangesCoverEveryWrite", testChangesCoverEveryWrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// t0 has nanoseconds and a non-UTC zone on purpose: the store must return
// it truncated to the microsecond and in UTC.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897123, time.FixedZone("CET", 3600))

// stored is what a time written to the store must come back as.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func ctx(t *testing.T) context.Context { return t.Context() }

func account(id, email string) store.Account {
	return store.Account{
		ID: id, Email: email, FirstName: "First " + id, LastName: "Last " + id,
		Language: "en", DateFormat: "DD/MM/YYYY", Kind: store.KindPersonal, SignIn: "password",
		Status: store.StatusActive, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA",
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func mustCreateAccount(t *testing.T, s store.Store, a store.Account) {
	t.Helper()
	if err := s.CreateAccount(ctx(t), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.ID, err)
	}
}

// mustAccounts creates a plain account for each id, with the email id@x.test.
func mustAccounts(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		mustCreateAccount(t, s, account(id, id+"@x.test"))
	}
}

func mustCompany(t *testing.T, s store.Store, id string) {
	t.Helper()
	if err := s.CreateCompany(ctx(t), store.Company{ID: id, Name: "Company " + id, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateCompany(%s): %v", id, err)
	}
}

func mustSite(t *testing.T, s store.Store, id, company string) {
	t.Helper()
	if err := s.CreateSite(ctx(t), store.Site{ID: id, CompanyID: company, Name: "Site " + id, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateSite(%s): %v", id, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Fatalf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s is in %v, want UTC", what, got.Location())
	}
	if !got.Equal(stored(want)) || got.Nanosecond()%1000 != 0 {
		t.Fatalf("%s = %v, want %v", what, got, stored(want))
	}
}
