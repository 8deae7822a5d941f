package idp_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/providers"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func build(t *testing.T, builds *int) idp.Build {
	return func(ctx context.Context, cfg providers.Config, clientSecret string) (providers.Provider, error) {
		*builds++
		return providers.New(ctx, cfg, providers.Options{ClientSecret: clientSecret, RedirectURL: "http://localhost/cb"})
	}
}

func TestRegistryReload(t *testing.T) {
	ctx := context.Background()
	fake := providertest.New(providertest.Options{})
	t.Cleanup(fake.Close)
	st := open(t)
	keys, err := secret.NewKeyring(bytes.Repeat([]byte{1}, 32), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	reg := idp.New(ctx, []idp.Entry{{Config: providers.Config{ID: "yaml", Type: "oidc"}}}, st, keys, build(t, &builds), nil)
	changes := 0
	reg.Watch(func() { changes++ })

	set := idp.Settings{Type: "oidc", Issuer: fake.Issuer, ClientID: fake.ClientID(), JIT: idp.JIT{Enabled: true, Company: "acme", Role: "viewer"}}
	cfg, _ := set.Encode()
	sealed, _ := keys.Seal(fake.ClientSecret(), "corp")
	for _, rec := range []store.ProviderRecord{
		{ID: "corp", Config: cfg, Secret: sealed, Enabled: true},
		{ID: "off", Config: cfg, Enabled: false},
		{ID: "yaml", Config: cfg, Enabled: true},                  // the file's id: the file wins
		{ID: "moved", Config: cfg, Secret: sealed, Enabled: true}, // sealed for corp: does not open here
	} {
		if err := st.CreateProvider(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if builds != 1 || changes != 1 {
		t.Fatalf("builds %d, changes %d; want 1 and 1", builds, changes)
	}
	running := reg.Running()
	if len(running) != 1 || running[0].ID() != "corp" || running[0].Status().State != providers.StateReady {
		t.Fatalf("running = %v", running)
	}
	if jit := reg.JIT(); jit["corp"].Company != "acme" || len(jit) != 1 {
		t.Errorf("JIT = %v", jit)
	}
	for id, want := range map[string]string{"yaml": "configuration file", "moved": "does not open", "off": ""} {
		e, ok := reg.Entry(id)
		if id == "yaml" {
			// The file's own entry is listed; the stored one is shadowed.
			for _, e := range reg.Entries() {
				if e.Config.ID == "yaml" && e.Source == idp.SourceAdmin && !strings.Contains(e.Problem, want) {
					t.Errorf("stored yaml: %q", e.Problem)
				}
			}
			continue
		}
		if !ok || !strings.Contains(e.Problem, want) || e.Provider != nil {
			t.Errorf("%s: %+v", id, e)
		}
	}

	// Unchanged records keep their running provider.
	if err := reg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if builds != 1 || changes != 1 || reg.Running()[0] != running[0] {
		t.Errorf("an unchanged reload rebuilt: builds %d, changes %d", builds, changes)
	}
	if err := st.DeleteProvider(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if len(reg.Running()) != 0 || changes != 2 {
		t.Errorf("after removal: running %v, changes %d", reg.Running(), changes)
	}
	if p, err := reg.Tester("off"); err != nil || p.ID() != "off" {
		t.Errorf("a disabled provider cannot be tested: %v", err)
	}
}

func TestRegistryWithoutKey(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	builds := 0
	reg := idp.New(ctx, nil, st, nil, build(t, &builds), nil)
	cfg, _ := idp.Settings{Type: "oidc", Issuer: "https://idp.example.com", ClientID: "c"}.Encode()
	if err := st.CreateProvider(ctx, store.ProviderRecord{ID: "corp", Config: cfg, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	e, _ := reg.Entry("corp")
	if builds != 0 || e.Provider != nil || !strings.Contains(e.Problem, "secrets.key") {
		t.Fatalf("without a key: builds %d, %+v", builds, e)
	}
	if _, err := reg.Seal("s", "corp"); err == nil {
		t.Error("sealed without a key")
	}
}
