package identity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// TestKeysSurviveRestartOnSQLite runs rotation against the real embedded
// store and reopens it, as a restart (or `gatehouse keys rotate` in another
// process) would.
func TestKeysSurviveRestartOnSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	logger := slog.New(slog.DiscardHandler)

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	kr := identity.NewKeyring(st, clock, rand.Reader, logger)
	if err := kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	first := kr.CurrentKeyID()
	token, err := identity.NewSigner(kr, "http://localhost:8080", 0, clock).Sign(identity.Claims{Audience: "app", Subject: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen sqlite: %v", err)
	}
	defer st.Close()
	kr = identity.NewKeyring(st, clock, rand.Reader, logger)
	if err := kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if kr.CurrentKeyID() != first {
		t.Fatalf("after restart signing with %q, want %q", kr.CurrentKeyID(), first)
	}
	if _, err := identity.Verify(token, kr.JWKS(), "http://localhost:8080", "app", now, 0); err != nil {
		t.Fatalf("assertion from before the restart: %v", err)
	}
	now = now.Add(identity.DefaultPublishDelay)
	if kr.CurrentKeyID() != second {
		t.Fatalf("after SignFrom signing with %q, want %q", kr.CurrentKeyID(), second)
	}
	now = now.Add(identity.MaxAssertionTTL + identity.DefaultPruneMargin + time.Second)
	if err := kr.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	// Checked at a time the assertion was valid, so only the missing key can fail it.
	if _, err := identity.Verify(token, kr.JWKS(), "http://localhost:8080", "app", start.Add(time.Minute), 0); !errors.Is(err, identity.ErrInvalidAssertion) || kr.CurrentKeyID() != second {
		t.Fatalf("after pruning: Verify = %v, signing with %q", err, kr.CurrentKeyID())
	}
	if n := strings.Count(string(kr.JWKS()), `"kid"`); n != 1 {
		t.Fatalf("JWKS has %d keys after pruning, want 1", n)
	}
}
