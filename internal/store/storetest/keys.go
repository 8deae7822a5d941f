package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	c := ctx(t)
	mk := func(id string, created time.Time) store.SigningKey {
		k := store.SigningKey{ID: id, Algorithm: "ES256", PrivateKey: []byte("pkcs8-" + id), CreatedAt: created, SignFrom: created.Add(time.Minute)}
		noErr(t, "CreateSigningKey "+id, s.CreateSigningKey(c, k))
		return k
	}
	k1 := mk("k1", t0)
	k2 := mk("k2", t0.Add(time.Hour))
	k3 := mk("k3", t0.Add(2*time.Hour))
	wantErr(t, "CreateSigningKey(duplicate)", s.CreateSigningKey(c, k1), store.ErrConflict)

	keys, err := s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	if len(keys) != 3 {
		t.Fatalf("ListSigningKeys has %d keys", len(keys))
	}
	for i, want := range []store.SigningKey{k1, k2, k3} {
		got := keys[i]
		if got.ID != want.ID || got.Algorithm != "ES256" || !bytes.Equal(got.PrivateKey, want.PrivateKey) {
			t.Fatalf("key %d = %+v, want %+v", i, got, want)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
		sameTime(t, "SignFrom", got.SignFrom, want.SignFrom)
		sameTime(t, "RetireAt", got.RetireAt, time.Time{})
	}

	// k3 takes over: k1 and k2 retire at r1.
	r1 := t0.Add(3 * time.Hour)
	noErr(t, "RetireSigningKeys", s.RetireSigningKeys(c, "k3", r1))
	// A later rotation keeps the first retirement time of k1 and k2.
	k4 := mk("k4", t0.Add(4*time.Hour))
	r2 := t0.Add(5 * time.Hour)
	noErr(t, "RetireSigningKeys", s.RetireSigningKeys(c, "k4", r2))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	retire := map[string]time.Time{}
	for _, k := range keys {
		retire[k.ID] = k.RetireAt
	}
	sameTime(t, "k1.RetireAt", retire["k1"], r1)
	sameTime(t, "k2.RetireAt", retire["k2"], r1)
	sameTime(t, "k3.RetireAt", retire["k3"], r2)
	sameTime(t, "k4.RetireAt", retire[k4.ID], time.Time{})

	// Keys retired before the cut go; later and unretired keys stay.
	noErr(t, "DeleteSigningKeysRetiredBefore", s.DeleteSigningKeysRetiredBefore(c, r1.Add(time.Microsecond)))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, []string{"k3", "k4"}) {
		t.Fatalf("keys after delete = %v, want k3 k4", ids)
	}
	noErr(t, "DeleteSigningKeysRetiredBefore(r2)", s.DeleteSigningKeysRetiredBefore(c, r2))
	keys, err = s.ListSigningKeys(c)
	noErr(t, "ListSigningKeys", err)
	if len(keys) != 2 {
		t.Fatalf("a key retired exactly at the cut was deleted: %d keys left", len(keys))
	}
}
