package server

import (
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestFormActionSources(t *testing.T) {
	cfg := config.Config{
		Routes: []config.Route{
			{PathPrefix: "/"}, {Host: "Reports.Example.com."}, {Host: "reports.example.com"}, {Host: "wiki.example.com:8443"},
			{Host: "bad host; script-src *"},
		},
		Providers: []config.Provider{
			{Issuer: "https://login.microsoftonline.com/tenant/v2.0"}, {Issuer: "acme.eu.auth0.com"},
			{Issuer: "https://accounts.google.com"},
		},
	}
	want := []string{"https://accounts.google.com", "https://acme.eu.auth0.com", "https://login.microsoftonline.com",
		"reports.example.com", "wiki.example.com:8443"}
	if got := formActionSources(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("formActionSources = %q, want %q", got, want)
	}
}
