package demo

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/server"
)

// TestSeedKeepsThePassword: the first start creates the admin and gives
// the password to print; a later start leaves the account's password as
// it is (perhaps one its holder chose since) and prints none.
func TestSeedKeepsThePassword(t *testing.T) {
	ctx := context.Background()
	cfg := Config("http://localhost:8080", t.TempDir(), "http://127.0.0.1:1")
	st, err := server.OpenStore(ctx, cfg.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pw, err := Seed(ctx, cfg, st)
	if err != nil || pw == "" {
		t.Fatalf("first start: %q %v", pw, err)
	}
	first, err := st.GetAccountByEmail(ctx, AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Seed(ctx, cfg, st)
	if err != nil || again != "" {
		t.Fatalf("second start: %q %v, want no new password", again, err)
	}
	second, err := st.GetAccountByEmail(ctx, AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if second.PasswordHash != first.PasswordHash {
		t.Fatal("a later start changed the admin's password")
	}
}
