package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testProviders: runtime identity providers are created once per id,
// listed by id, replaced whole (creation time kept), and deleted.
func testProviders(t *testing.T, s store.Store) {
	c := ctx(t)
	ps, err := s.ListProviders(c)
	noErr(t, "ListProviders(empty)", err)
	if len(ps) != 0 {
		t.Fatalf("ListProviders on an empty store = %+v", ps)
	}
	wantErr(t, "GetProvider(none)", func() error { _, err := s.GetProvider(c, "corp"); return err }(), store.ErrNotFound)

	corp := store.ProviderRecord{ID: "corp", Config: []byte(`{"type":"oidc"}`), Secret: "v1:abc:sealed", Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	noErr(t, "CreateProvider", s.CreateProvider(c, corp))
	noErr(t, "CreateProvider(b)", s.CreateProvider(c, store.ProviderRecord{ID: "b-idp", Config: []byte(`{}`)}))
	wantErr(t, "CreateProvider(dup)", s.CreateProvider(c, corp), store.ErrConflict)

	got, err := s.GetProvider(c, "corp")
	noErr(t, "GetProvider", err)
	if string(got.Config) != `{"type":"oidc"}` || got.Secret != "v1:abc:sealed" || !got.Enabled || !got.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || !got.UpdatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("GetProvider = %+v", got)
	}
	b, err := s.GetProvider(c, "b-idp")
	noErr(t, "GetProvider(b)", err)
	if b.Enabled || b.Secret != "" || b.CreatedAt.IsZero() {
		t.Fatalf("GetProvider(b) = %+v", b)
	}

	later := t0.Add(time.Hour)
	noErr(t, "UpdateProvider", s.UpdateProvider(c, store.ProviderRecord{ID: "corp", Config: []byte(`{"type":"google"}`), Enabled: false, UpdatedAt: later}))
	got, err = s.GetProvider(c, "corp")
	noErr(t, "GetProvider(updated)", err)
	if string(got.Config) != `{"type":"google"}` || got.Secret != "" || got.Enabled || !got.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || !got.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("after update = %+v", got)
	}

	ps, err = s.ListProviders(c)
	noErr(t, "ListProviders", err)
	if len(ps) != 2 || ps[0].ID != "b-idp" || ps[1].ID != "corp" {
		t.Fatalf("ListProviders = %+v", ps)
	}
	noErr(t, "DeleteProvider", s.DeleteProvider(c, "corp"))
	wantErr(t, "DeleteProvider(again)", s.DeleteProvider(c, "corp"), store.ErrNotFound)
	wantErr(t, "GetProvider(deleted)", func() error { _, err := s.GetProvider(c, "corp"); return err }(), store.ErrNotFound)
}

// testAllProviderSessions: disabling a provider can end every session it
// started, and none of another provider's or of a password.
func testAllProviderSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "u1", "u2")
	for _, ss := range []struct{ id, account, idp string }{
		{"a", "u1", "corp"}, {"b", "u2", "corp"}, {"c", "u1", "other"}, {"d", "u2", "local"},
	} {
		sess := session(ss.id, ss.account)
		sess.IDP = ss.idp
		noErr(t, "CreateSession "+ss.id, s.CreateSession(c, sess))
	}
	ids, err := s.DeleteAllProviderSessions(c, "corp")
	noErr(t, "DeleteAllProviderSessions", err)
	if len(ids) != 2 || ids[0] != "a" || ids[1] != "b" {
		t.Fatalf("DeleteAllProviderSessions(corp) = %v, want a b", ids)
	}
	for _, id := range []string{"c", "d"} {
		_, err := s.GetSession(c, id)
		noErr(t, "GetSession("+id+")", err)
	}
	if _, err := s.DeleteAllProviderSessions(c, "local"); err == nil {
		t.Fatal("DeleteAllProviderSessions(local) ended password sessions")
	}
}
