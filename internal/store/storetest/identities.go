package storetest

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testIdentities(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	l := store.IdentityLink{ProviderID: "microsoft", Subject: "tid:oid", AccountID: "u1", CreatedAt: t0}
	noErr(t, "LinkIdentity", s.LinkIdentity(c, l))
	noErr(t, "LinkIdentity(other provider)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "google", Subject: "tid:oid", AccountID: "u1", CreatedAt: t0}))
	wantErr(t, "LinkIdentity(taken)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "microsoft", Subject: "tid:oid", AccountID: "u2"}), store.ErrConflict)
	wantErr(t, "LinkIdentity(unknown account)", s.LinkIdentity(c, store.IdentityLink{ProviderID: "google", Subject: "s2", AccountID: "nope"}), store.ErrNotFound)

	got, err := s.GetIdentity(c, "microsoft", "tid:oid")
	noErr(t, "GetIdentity", err)
	if got.AccountID != "u1" || got.ProviderID != "microsoft" || got.Subject != "tid:oid" {
		t.Fatalf("GetIdentity = %+v", got)
	}
	sameTime(t, "IdentityLink.CreatedAt", got.CreatedAt, t0)
	_, err = s.GetIdentity(c, "microsoft", "TID:OID")
	wantErr(t, "GetIdentity(subject is case-sensitive)", err, store.ErrNotFound)
	_, err = s.GetIdentity(c, "auth0", "tid:oid")
	wantErr(t, "GetIdentity(other provider)", err, store.ErrNotFound)

	list, err := s.ListIdentities(c, "u1")
	noErr(t, "ListIdentities", err)
	if len(list) != 2 || list[0].ProviderID != "google" || list[1].ProviderID != "microsoft" {
		t.Fatalf("ListIdentities(u1) = %+v", list)
	}
	list, err = s.ListIdentities(c, "u2")
	noErr(t, "ListIdentities(u2)", err)
	if len(list) != 0 {
		t.Fatalf("ListIdentities(u2) = %+v", list)
	}
}
