package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/i18n"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A blocked or deactivated account's holder who types the right password
// is told the account is disabled and to ask their administrator; a wrong
// password, an unknown address or an active account's wrong password get
// the one generic answer, so the message tells nothing to whoever does
// not know the password.
func TestDisabledAccountIsToldOnlyAfterTheRightPassword(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{store.StatusBlocked, store.StatusDeactivated, store.StatusActive} {
		a := g.CreateUser(t, account.NewAccount{Email: status + "@example.com", Password: pw, CompanyID: "acme", Role: "viewer"})
		if _, err := g.Store.UpdateAccount(context.Background(), a.ID, func(x *store.Account) error { x.Status = status; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(lang, email, password string) (int, string) {
		c := servertest.Client(t)
		req, _ := http.NewRequest(http.MethodGet, g.URL+"/.gatehouse/login", nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		token := g.CSRFToken(t, c, "/.gatehouse/login")
		form := url.Values{"email": {email}, "password": {password}, "csrf_token": {token}, "rd": {"/"}}
		req, _ = http.NewRequest(http.MethodPost, g.URL+"/.gatehouse/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", lang)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, html.UnescapeString(b.String())
	}
	for _, lang := range []string{"en", "fr", "ja"} {
		disabled, generic := cat.T(lang, "login.disabled"), cat.T(lang, "login.failed")
		for _, tc := range []struct {
			email, password string
			want            string
		}{
			{"blocked@example.com", pw, disabled},
			{"deactivated@example.com", pw, disabled},
			{"blocked@example.com", "not the password at all", generic},
			{"deactivated@example.com", "not the password at all", generic},
			{"active@example.com", "not the password at all", generic},
			{"nobody@example.com", pw, generic},
		} {
			code, body := signIn(lang, tc.email, tc.password)
			if code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
				t.Errorf("%s: %s with %q: status %d, want 401 saying %q", lang, tc.email, tc.password, code, tc.want)
			}
			if tc.want == generic && strings.Contains(body, disabled) {
				t.Errorf("%s: %s with %q says the account is disabled", lang, tc.email, tc.password)
			}
		}
	}
}
