package account_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/device"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/web/account"
)

func TestSessionLabels(t *testing.T) {
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
		if got := account.MethodLabel(tr, c.method, c.idp, c.names); got != c.want {
			t.Errorf("MethodLabel(%s, %q, %q) = %q, want %q", c.lang, c.method, c.idp, got, c.want)
		}
	}

	devices := []struct {
		lang string
		d    device.Device
		want string
	}{
		{"en", device.Device{Browser: "Firefox", OS: "Windows"}, "Firefox on Windows"},
		{"fr", device.Device{Browser: "Firefox", OS: "Windows"}, "Firefox sur Windows"},
		{"ja", device.Device{Browser: "Firefox", OS: "Windows"}, "Windows の Firefox"},
		{"en", device.Device{Browser: "Safari"}, "Safari"},
		{"en", device.Device{OS: "Linux"}, "Linux"},
		{"en", device.Device{}, "Unknown device"},
		{"fr", device.Device{}, "Appareil inconnu"},
		{"ja", device.Device{}, "不明なデバイス"},
	}
	for _, c := range devices {
		tr := func(key string) string { return cat.T(c.lang, key) }
		if got := account.DeviceLabel(tr, c.d); got != c.want {
			t.Errorf("DeviceLabel(%s, %+v) = %q, want %q", c.lang, c.d, got, c.want)
		}
	}
}
