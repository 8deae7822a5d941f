package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary YAML and one arbitrary environment entry to the
// loader. It must never panic, must always explain a failure as Problems,
// and a config it accepts must validate cleanly.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatalf("seed: %v", err)
	}
	f.Add(example, "GATEHOUSE_PUBLIC_URL=https://gate.example.com")
	f.Add([]byte(""), "")
	f.Add([]byte("store:\n  dirver: postgres\nsession:\n  idle_timeout: soon\n"), "GATEHOUSE_SESSION_IDLE_TIMEOUT=1x")
	f.Add([]byte("routes:\n  - &r {upstream: 'http://a', audience: a, company: c}\n  - <<: *r\n    path_prefix: /b\n"), "GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8,::1")
	f.Add([]byte("- a\n- b\n"), "GATEHOUSE_PASSWORD_ARGON2_PARALLELISM=999")
	f.Add([]byte("public_url: http://[::1]:8080/x?y#z\nlisten: [\n"), "GATEHOUSE_LOG_ACCESS=maybe")

	f.Fuzz(func(t *testing.T, data []byte, envEntry string) {
		cfg, err := LoadBytes(data, []string{envEntry})
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not a non-empty Problems: %v", err)
			}
			for _, p := range ps {
				if p.Message == "" {
					t.Fatalf("problem without a message at %q", p.Path)
				}
			}
			_ = cfg.Validate()
			return
		}
		if ps := cfg.Validate(); len(ps) != 0 {
			t.Fatalf("accepted config has problems: %v", ps)
		}
		// Derived values must already be filled in on an accepted config.
		if strings.HasSuffix(cfg.PublicURL, "/") {
			t.Fatalf("public_url kept its trailing slash: %q", cfg.PublicURL)
		}
	})
}
