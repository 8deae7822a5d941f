package session_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
)

func TestMethodLabel(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	names := func(id string) string { return map[string]string{"google": "Google Workspace"}[id] }
	methods := []struct {
		lang, method, idp string
		names             func(string) string
		want              string
	}{
		{"en", session.MethodPassword, "local", names, "Password"},
		{"en", session.MethodPasskey, "local", names, "Passkey"},
		{"en", session.MethodSSO, "google", names, "Single sign-on (Google Workspace)"},
		// A provider no longer configured, or no names at all: its id.
		{"en", session.MethodSSO, "okta", names, "Single sign-on (okta)"},
		{"en", session.MethodSSO, "google", nil, "Single sign-on (google)"},
		{"en", "", "", names, "Unknown"},
		{"fr", session.MethodPassword, "local", names, "Mot de passe"},
		{"fr", session.MethodSSO, "google", names, "Authentification unique (Google Workspace)"},
		{"ja", session.MethodPasskey, "local", names, "パスキー"},
		{"ja", session.MethodSSO, "google", names, "シングルサインオン（Google Workspace）"},
	}
	for _, c := range methods {
		tr := func(key string) string { return cat.T(c.lang, key) }
		if got := session.MethodLabel(tr, c.method, c.idp, c.names); got != c.want {
			t.Errorf("MethodLabel(%s, %q, %q) = %q, want %q", c.lang, c.method, c.idp, got, c.want)
		}
	}

}
