package providers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/providers"
	"github.com/gatehouse/gatehouse/providers/providertest"
)

func problemKeys(ps []providers.Problem) []string {
	keys := make([]string, 0, len(ps))
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	return keys
}

func TestCheckAcceptsAWorkingProvider(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	defer idp.Close()
	res := providers.Check(context.Background(), providers.Config{ID: "corp", Type: "oidc", Issuer: idp.Issuer, ClientID: "gatehouse"}, nil)
	if len(res.Problems) != 0 || !res.DiscoveryOK || !res.JWKSOK || !slices.Contains(res.JWKSAlgorithms, "ES256") {
		t.Fatalf("Check = %+v", res)
	}
}

func TestCheckNamesTheField(t *testing.T) {
	idp := providertest.New(providertest.Options{})
	defer idp.Close()
	ctx := context.Background()
	cfg := providers.Config{ID: "corp", Type: "oidc", Issuer: idp.Issuer, ClientID: "gatehouse"}

	// An issuer that differs only by a trailing slash is another issuer.
	bad := cfg
	bad.Issuer = idp.Issuer + "/"
	if keys := problemKeys(providers.Check(ctx, bad, nil).Problems); !slices.Equal(keys, []string{"issuer"}) {
		t.Fatalf("bad issuer: problems at %v, want [issuer]", keys)
	}

	idp.SetJWKSDown(true)
	res := providers.Check(ctx, cfg, nil)
	if keys := problemKeys(res.Problems); !slices.Equal(keys, []string{"jwks_uri"}) || res.JWKSOK || !res.DiscoveryOK {
		t.Fatalf("JWKS down: %+v", res)
	}
	idp.SetJWKSDown(false)

	idp.SetDiscoveryDown(true)
	if res := providers.Check(ctx, cfg, nil); !slices.Equal(problemKeys(res.Problems), []string{"issuer"}) || res.DiscoveryOK {
		t.Fatalf("discovery down: %+v", res)
	}
	idp.SetDiscoveryDown(false)

	plain := cfg
	plain.Issuer = "http://idp.example.com"
	if keys := problemKeys(providers.Check(ctx, plain, nil).Problems); !slices.Equal(keys, []string{"issuer"}) {
		t.Fatalf("http issuer off loopback: %v", keys)
	}
}

func TestCheckVendorRules(t *testing.T) {
	ctx := context.Background()
	entra := providertest.New(providertest.Options{MultiTenant: true})
	defer entra.Close()
	ms := providers.Config{ID: "entra", Type: "microsoft", Issuer: entra.Issuer, ClientID: "gatehouse"}
	if keys := problemKeys(providers.Check(ctx, ms, nil).Problems); !slices.Equal(keys, []string{"allowed_tenants"}) {
		t.Fatalf("multi-tenant without tenants: %v", keys)
	}
	ms.AllowedTenants = []string{"tenant-1"}
	if res := providers.Check(ctx, ms, nil); len(res.Problems) != 0 {
		t.Fatalf("multi-tenant with tenants: %+v", res.Problems)
	}

	google := providertest.New(providertest.Options{})
	defer google.Close()
	g := providers.Config{ID: "google", Type: "google", Issuer: google.Issuer, ClientID: "gatehouse"}
	if keys := problemKeys(providers.Check(ctx, g, nil).Problems); !slices.Equal(keys, []string{"allowed_domains"}) {
		t.Fatalf("google without domains: %v", keys)
	}
}

// A discovery document pointing at plain-http endpoints elsewhere, and a
// key set with only an HMAC key, are each refused.
func TestCheckEndpointsAndAlgorithms(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","authorization_endpoint":"http://idp.example.com/authorize",
				"token_endpoint":"` + srv.URL + `/token","jwks_uri":"` + srv.URL + `/jwks"}`))
		case "/jwks":
			_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","alg":"HS256","k":"c2VjcmV0"}]}`))
		}
	}))
	defer srv.Close()
	res := providers.Check(context.Background(), providers.Config{ID: "x", Type: "oidc", Issuer: srv.URL, ClientID: "c"}, nil)
	if keys := problemKeys(res.Problems); !slices.Equal(keys, []string{"issuer", "jwks_uri"}) {
		t.Fatalf("problems at %v (%+v), want issuer (http endpoint) and jwks_uri (HMAC only)", keys, res.Problems)
	}
}
