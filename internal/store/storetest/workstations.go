package storetest

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testAllowedNetworks(t *testing.T, s store.Store) {
	c := ctx(t)
	mustAccounts(t, s, "ws1", "ws2")

	got, err := s.AllowedNetworks(c, "ws1")
	noErr(t, "AllowedNetworks before any", err)
	if len(got) != 0 {
		t.Fatalf("networks before any were set: %v", got)
	}
	// Order is kept as given, not sorted.
	first := []string{"192.168.1.0/24", "10.0.0.0/8", "2001:db8::/32"}
	noErr(t, "SetAllowedNetworks", s.SetAllowedNetworks(c, "ws1", first))
	noErr(t, "SetAllowedNetworks(ws2)", s.SetAllowedNetworks(c, "ws2", []string{"172.16.0.0/12"}))
	if got, err = s.AllowedNetworks(c, "ws1"); err != nil || !slices.Equal(got, first) {
		t.Fatalf("AllowedNetworks = %v, %v; want %v", got, err, first)
	}
	// Setting replaces, it does not append.
	second := []string{"10.1.0.0/16"}
	noErr(t, "SetAllowedNetworks again", s.SetAllowedNetworks(c, "ws1", second))
	if got, err = s.AllowedNetworks(c, "ws1"); err != nil || !slices.Equal(got, second) {
		t.Fatalf("after replace = %v, %v; want %v", got, err, second)
	}
	// An empty list removes the limit.
	noErr(t, "SetAllowedNetworks empty", s.SetAllowedNetworks(c, "ws1", nil))
	if got, err = s.AllowedNetworks(c, "ws1"); err != nil || len(got) != 0 {
		t.Fatalf("after clearing = %v, %v", got, err)
	}
	// The other account is untouched.
	if got, err = s.AllowedNetworks(c, "ws2"); err != nil || !slices.Equal(got, []string{"172.16.0.0/12"}) {
		t.Fatalf("other account = %v, %v", got, err)
	}
	wantErr(t, "SetAllowedNetworks(unknown)", s.SetAllowedNetworks(c, "nobody", []string{"10.0.0.0/8"}), store.ErrNotFound)
	wantErr(t, "SetAllowedNetworks(unknown, empty)", s.SetAllowedNetworks(c, "nobody", nil), store.ErrNotFound)

	// Inside a transaction that fails, nothing changes.
	errBoom := errorString("boom")
	err = s.InTx(c, func(tx store.Store) error {
		noErr(t, "SetAllowedNetworks in tx", tx.SetAllowedNetworks(c, "ws2", []string{"10.9.0.0/16"}))
		return errBoom
	})
	wantErr(t, "InTx", err, errBoom)
	if got, err = s.AllowedNetworks(c, "ws2"); err != nil || !slices.Equal(got, []string{"172.16.0.0/12"}) {
		t.Fatalf("after a rolled-back change = %v, %v", got, err)
	}

	// Deleting the account deletes its list.
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "ws2"))
	mustAccounts(t, s, "ws2")
	if got, err = s.AllowedNetworks(c, "ws2"); err != nil || len(got) != 0 {
		t.Fatalf("a re-created account inherited networks: %v, %v", got, err)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
