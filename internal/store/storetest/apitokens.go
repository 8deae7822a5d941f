package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func sameAPIToken(t *testing.T, got, want store.APIToken) {
	t.Helper()
	sameTime(t, "APIToken.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "APIToken.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "APIToken.LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	sameTime(t, "APIToken.RevokedAt", got.RevokedAt, want.RevokedAt)
	if got.ID != want.ID || !bytes.Equal(got.Hash, want.Hash) || got.Name != want.Name || got.AccountID != want.AccountID {
		t.Fatalf("api token:\n got %+v\nwant %+v", got, want)
	}
}

func testAPITokens(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "admin", "other")

	t1 := store.APIToken{ID: "tok-1", Hash: []byte("hash-1"), Name: "CI export", AccountID: "admin",
		CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	t2 := store.APIToken{ID: "tok-2", Hash: []byte("hash-2"), Name: "CI export", AccountID: "other",
		CreatedAt: t0.Add(time.Second)}
	noErr(t, "CreateAPIToken", s.CreateAPIToken(c, t1))
	// Names need not be unique: two admins may pick the same one.
	noErr(t, "CreateAPIToken(same name)", s.CreateAPIToken(c, t2))
	wantErr(t, "CreateAPIToken(same id)", s.CreateAPIToken(c, store.APIToken{ID: "tok-1", Hash: []byte("h"), AccountID: "admin"}), store.ErrConflict)
	wantErr(t, "CreateAPIToken(same hash)", s.CreateAPIToken(c, store.APIToken{ID: "tok-3", Hash: []byte("hash-1"), AccountID: "admin"}), store.ErrConflict)
	wantErr(t, "CreateAPIToken(unknown account)", s.CreateAPIToken(c, store.APIToken{ID: "tok-4", Hash: []byte("h4"), AccountID: "nope"}), store.ErrNotFound)
	if err := s.CreateAPIToken(c, store.APIToken{Hash: []byte("h5"), AccountID: "admin"}); err == nil {
		t.Fatal("CreateAPIToken without an id succeeded")
	}

	got, err := s.GetAPITokenByHash(c, []byte("hash-1"))
	noErr(t, "GetAPITokenByHash", err)
	sameAPIToken(t, got, t1)
	got, err = s.GetAPIToken(c, "tok-2")
	noErr(t, "GetAPIToken", err)
	sameAPIToken(t, got, t2)
	_, err = s.GetAPITokenByHash(c, []byte("HASH-1"))
	wantErr(t, "GetAPITokenByHash(missing)", err, store.ErrNotFound)
	_, err = s.GetAPIToken(c, "nope")
	wantErr(t, "GetAPIToken(missing)", err, store.ErrNotFound)

	list, err := s.ListAPITokens(c)
	noErr(t, "ListAPITokens", err)
	if len(list) != 2 {
		t.Fatalf("ListAPITokens has %d tokens, want 2", len(list))
	}
	sameAPIToken(t, list[0], t1)
	sameAPIToken(t, list[1], t2)

	// Touch never moves the last use backwards.
	used := t0.Add(time.Hour)
	noErr(t, "TouchAPIToken", s.TouchAPIToken(c, "tok-1", used))
	noErr(t, "TouchAPIToken(older)", s.TouchAPIToken(c, "tok-1", used.Add(-time.Minute)))
	wantErr(t, "TouchAPIToken(missing)", s.TouchAPIToken(c, "nope", used), store.ErrNotFound)
	t1.LastUsedAt = used

	// Revocation keeps the first time and the token stays listed, so the
	// caller can tell a revoked token from an unknown one.
	revoked := t0.Add(2 * time.Hour)
	noErr(t, "RevokeAPIToken", s.RevokeAPIToken(c, "tok-1", revoked))
	noErr(t, "RevokeAPIToken(again)", s.RevokeAPIToken(c, "tok-1", revoked.Add(time.Hour)))
	wantErr(t, "RevokeAPIToken(missing)", s.RevokeAPIToken(c, "nope", revoked), store.ErrNotFound)
	t1.RevokedAt = revoked
	got, err = s.GetAPITokenByHash(c, []byte("hash-1"))
	noErr(t, "GetAPITokenByHash(revoked)", err)
	sameAPIToken(t, got, t1)
	got, err = s.GetAPIToken(c, "tok-2")
	noErr(t, "GetAPIToken(untouched)", err)
	sameAPIToken(t, got, t2)

	// A token goes with the admin it acts as.
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "admin"))
	_, err = s.GetAPIToken(c, "tok-1")
	wantErr(t, "GetAPIToken after account delete", err, store.ErrNotFound)
	list, err = s.ListAPITokens(c)
	noErr(t, "ListAPITokens", err)
	if len(list) != 1 || list[0].ID != "tok-2" {
		t.Fatalf("ListAPITokens after account delete = %+v", list)
	}
}

// A transaction's token writes commit or roll back with it.
func testAPITokensInTx(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "admin")
	boom := errors.New("boom")
	err := s.InTx(c, func(tx store.Store) error {
		if err := tx.CreateAPIToken(c, store.APIToken{ID: "tok", Hash: []byte("h"), AccountID: "admin"}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "InTx", err, boom)
	_, err = s.GetAPIToken(c, "tok")
	wantErr(t, "GetAPIToken after rollback", err, store.ErrNotFound)
}
