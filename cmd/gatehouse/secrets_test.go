package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSecretsRotate: without secrets.key the command refuses (exit 2,
// nothing changed); with the new key and the old one as a previous key it
// seals every stored secret again under the new key, which then opens it
// alone.
func TestSecretsRotate(t *testing.T) {
	cfg := writeConfig(t, "sqlite", filepath.Join(t.TempDir(), "g.db"))
	if r := gatehouse(t, "", "secrets", "rotate", "--config", cfg); r.code != 2 || !strings.Contains(r.stderr, "secrets.key") {
		t.Fatalf("without a key: %+v", r)
	}
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := secret.NewKeyring(oldKey, nil, nil)
	sealed, _ := old.Seal("client-secret", "corp")
	st := openStore(t, cfg)
	if err := st.CreateProvider(context.Background(), store.ProviderRecord{ID: "corp", Config: []byte(`{}`), Secret: sealed, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("secrets:\n  key: " + b64(newKey) + "\n  previous_keys: [" + b64(oldKey) + "]\n")
	f.Close()
	r := gatehouse(t, "", "secrets", "rotate", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "1 stored secret") || strings.Contains(r.stdout+r.stderr, "client-secret") {
		t.Fatalf("secrets rotate: %+v", r)
	}
	rec, err := st.GetProvider(context.Background(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	alone, _ := secret.NewKeyring(newKey, nil, nil)
	if got, err := alone.Open(rec.Secret, "corp"); err != nil || got != "client-secret" {
		t.Fatalf("after rotation the new key alone opens %q, %v", got, err)
	}
	if r := gatehouse(t, "", "secrets", "rotate", "--config", cfg); r.code != 0 || !strings.Contains(r.stdout, "0 stored secret") {
		t.Fatalf("rotating again: %+v", r)
	}
}
