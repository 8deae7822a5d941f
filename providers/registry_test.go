package providers

import (
	"slices"
	"testing"
)

func TestTypes(t *testing.T) {
	if got, want := Types(), []string{"google", "microsoft", "auth0", "oidc"}; !slices.Equal(got, want) {
		t.Fatalf("Types = %v, want %v", got, want)
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		if k.Type == "" || k.New == nil || seen[k.Type] {
			t.Errorf("kind %q: empty type, no constructor or registered twice", k.Type)
		}
		seen[k.Type] = true
	}
}

func TestSetDefaults(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{ID: "g", Type: "google"}, "Google"},
		{Config{ID: "ms", Type: "microsoft"}, "Microsoft"},
		{Config{ID: "a0", Type: "auth0"}, "Auth0"},
		{Config{ID: "corp", Type: "oidc"}, "corp"},
		{Config{ID: "x", Type: "okta"}, "x"},
		{Config{ID: "g", Type: "google", DisplayName: "Staff"}, "Staff"},
	}
	for _, tc := range cases {
		cfg := tc.cfg
		SetDefaults(&cfg)
		if cfg.DisplayName != tc.want {
			t.Errorf("%s/%s: display name %q, want %q", tc.cfg.Type, tc.cfg.ID, cfg.DisplayName, tc.want)
		}
	}
}

func TestValidateMicrosoftTenants(t *testing.T) {
	cases := []struct {
		issuer  string
		tenants []string
		want    int
	}{
		{"https://login.microsoftonline.com/common/v2.0", nil, 1},
		{"https://login.microsoftonline.com/organizations/v2.0", nil, 1},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", nil, 1},
		{"https://login.microsoftonline.com/organizations/v2.0", []string{"t1"}, 0},
		{"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", nil, 0},
	}
	for _, tc := range cases {
		ps := Validate(Config{Type: "microsoft", Issuer: tc.issuer, AllowedTenants: tc.tenants})
		if len(ps) != tc.want {
			t.Errorf("%s with tenants %v: problems %v, want %d", tc.issuer, tc.tenants, ps, tc.want)
		}
		for _, p := range ps {
			if p.Key != "allowed_tenants" || p.Message == "" {
				t.Errorf("problem %+v", p)
			}
		}
	}
	// The rule is Microsoft's: the same issuer shape on another type is fine.
	if ps := Validate(Config{Type: "oidc", Issuer: "https://idp.example.com/common"}); len(ps) != 0 {
		t.Errorf("oidc: %v", ps)
	}
}
