package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// credential has bytes that are not valid UTF-8 and a NUL in its id: the
// store must keep ids as raw bytes.
func credential(id, account string) store.Credential {
	return store.Credential{
		ID: append([]byte{0x00, 0xff, 0xfe}, id...), AccountID: account, Name: "YubiKey " + id,
		PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26}, AttestationType: "none",
		AAGUID: bytes.Repeat([]byte{0xcb}, 16), SignCount: 4_000_000_000, Transports: []string{"usb", "nfc"},
		BackupEligible: true, BackupState: false, Workstation: false, CreatedAt: t0,
	}
}

func sameCredential(t *testing.T, got, want store.Credential) {
	t.Helper()
	sameTime(t, "Credential.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "Credential.LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	if !bytes.Equal(got.ID, want.ID) || got.AccountID != want.AccountID || got.Name != want.Name ||
		!bytes.Equal(got.PublicKey, want.PublicKey) || got.AttestationType != want.AttestationType ||
		!bytes.Equal(got.AAGUID, want.AAGUID) || got.SignCount != want.SignCount ||
		!slices.Equal(got.Transports, want.Transports) || got.BackupEligible != want.BackupEligible ||
		got.BackupState != want.BackupState || got.Workstation != want.Workstation {
		t.Fatalf("credential:\n got %+v\nwant %+v", got, want)
	}
}

func testCredentials(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")

	k1 := credential("k1", "u1")
	k2 := credential("k2", "u1")
	k2.CreatedAt = t0.Add(time.Second)
	k2.Transports, k2.AAGUID, k2.SignCount = nil, nil, 0
	k2.BackupEligible, k2.BackupState, k2.Workstation = false, false, true
	k3 := credential("k3", "u2")
	k3.BackupState = true
	for _, k := range []store.Credential{k1, k2, k3} {
		noErr(t, "CreateCredential "+k.Name, s.CreateCredential(c, k))
	}
	// A known id is refused even for another account: one authenticator
	// credential belongs to one account.
	wantErr(t, "CreateCredential(same id)", s.CreateCredential(c, credential("k1", "u2")), store.ErrConflict)
	wantErr(t, "CreateCredential(unknown account)", s.CreateCredential(c, credential("k9", "nope")), store.ErrNotFound)
	if err := s.CreateCredential(c, store.Credential{AccountID: "u1"}); err == nil {
		t.Fatal("CreateCredential without an id succeeded")
	}

	got, err := s.GetCredential(c, k1.ID)
	noErr(t, "GetCredential", err)
	sameCredential(t, got, k1)
	got, err = s.GetCredential(c, k2.ID)
	noErr(t, "GetCredential", err)
	sameCredential(t, got, k2)
	if got.Transports != nil {
		t.Fatalf("Transports of a credential created without = %#v, want nil", got.Transports)
	}
	_, err = s.GetCredential(c, []byte("k1"))
	wantErr(t, "GetCredential(prefix missing)", err, store.ErrNotFound)

	list, err := s.ListCredentials(c, "u1")
	noErr(t, "ListCredentials", err)
	if len(list) != 2 {
		t.Fatalf("ListCredentials(u1) has %d credentials, want 2", len(list))
	}
	sameCredential(t, list[0], k1)
	sameCredential(t, list[1], k2)
	list, err = s.ListCredentials(c, "nope")
	noErr(t, "ListCredentials(unknown)", err)
	if len(list) != 0 {
		t.Fatalf("ListCredentials(unknown) = %+v", list)
	}

	used := t0.Add(time.Hour)
	noErr(t, "UpdateCredentialUse", s.UpdateCredentialUse(c, k1.ID, 4_000_000_007, true, used))
	wantErr(t, "UpdateCredentialUse(missing)", s.UpdateCredentialUse(c, []byte("nope"), 1, false, used), store.ErrNotFound)
	k1.SignCount, k1.BackupState, k1.LastUsedAt = 4_000_000_007, true, used
	got, err = s.GetCredential(c, k1.ID)
	noErr(t, "GetCredential after use", err)
	sameCredential(t, got, k1)

	// Rename and delete are scoped to the owner.
	noErr(t, "RenameCredential", s.RenameCredential(c, "u1", k1.ID, "Laptop"))
	wantErr(t, "RenameCredential(other account)", s.RenameCredential(c, "u2", k1.ID, "Mine now"), store.ErrNotFound)
	wantErr(t, "RenameCredential(missing)", s.RenameCredential(c, "u1", []byte("nope"), "x"), store.ErrNotFound)
	k1.Name = "Laptop"
	got, err = s.GetCredential(c, k1.ID)
	noErr(t, "GetCredential after rename", err)
	sameCredential(t, got, k1)

	wantErr(t, "DeleteCredential(other account)", s.DeleteCredential(c, "u2", k1.ID), store.ErrNotFound)
	noErr(t, "DeleteCredential", s.DeleteCredential(c, "u1", k1.ID))
	wantErr(t, "DeleteCredential(again)", s.DeleteCredential(c, "u1", k1.ID), store.ErrNotFound)
	_, err = s.GetCredential(c, k1.ID)
	wantErr(t, "GetCredential after delete", err, store.ErrNotFound)
	// The id is free again once deleted.
	noErr(t, "CreateCredential(reused id)", s.CreateCredential(c, credential("k1", "u2")))

	// An account's passkeys go with it.
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "u1"))
	_, err = s.GetCredential(c, k2.ID)
	wantErr(t, "GetCredential after account delete", err, store.ErrNotFound)
	_, err = s.GetCredential(c, k3.ID)
	noErr(t, "GetCredential(other account)", err)
}

func testCredentialSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	key := []byte{0x00, 0xff, 'k', '1'}
	other := []byte{0x00, 0xff, 'k', '2'}
	mk := func(id, account string, cred []byte) {
		t.Helper()
		ss := session(id, account)
		ss.CredentialID, ss.IdleTimeout = cred, 10*time.Minute
		noErr(t, "CreateSession "+id, s.CreateSession(c, ss))
	}
	mk("a", "u1", key)
	mk("b", "u1", key)
	mk("c", "u1", other)
	mk("d", "u1", nil)
	mk("e", "u1", []byte{}) // empty is the same as none
	mk("f", "u2", key)      // another account's session never matches

	got, err := s.GetSession(c, "a")
	noErr(t, "GetSession", err)
	if !bytes.Equal(got.CredentialID, key) || got.IdleTimeout != 10*time.Minute {
		t.Fatalf("session a: CredentialID %x, IdleTimeout %s", got.CredentialID, got.IdleTimeout)
	}
	for _, id := range []string{"d", "e"} {
		got, err = s.GetSession(c, id)
		noErr(t, "GetSession", err)
		if got.CredentialID != nil {
			t.Fatalf("session %s without a passkey has CredentialID %#v, want nil", id, got.CredentialID)
		}
	}

	ids, err := s.DeleteCredentialSessions(c, "u1", key)
	noErr(t, "DeleteCredentialSessions", err)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("DeleteCredentialSessions = %v, want a b", ids)
	}
	ids, err = s.DeleteCredentialSessions(c, "u1", key)
	noErr(t, "DeleteCredentialSessions(again)", err)
	if len(ids) != 0 {
		t.Fatalf("DeleteCredentialSessions(again) = %v", ids)
	}
	if _, err := s.DeleteCredentialSessions(c, "u1", nil); err == nil {
		t.Fatal("DeleteCredentialSessions without a credential id succeeded")
	}
	left, err := s.ListAccountSessions(c, "u1")
	noErr(t, "ListAccountSessions", err)
	if len(left) != 3 {
		t.Fatalf("u1 has %d sessions left, want c d e", len(left))
	}
	_, err = s.GetSession(c, "f")
	noErr(t, "GetSession(other account's)", err)

	if err := s.CreateSession(c, store.Session{ID: "neg", TokenHash: []byte("neg"), AccountID: "u1",
		IdleTimeout: -time.Second}); err == nil {
		t.Fatal("CreateSession with a negative idle timeout succeeded")
	}
}
