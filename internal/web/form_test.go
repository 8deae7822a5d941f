package web

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// ParseCSRFForm is the only gate in front of every state-changing page
// form, so each way a post can be refused is checked here once.
func TestParseCSRFForm(t *testing.T) {
	rn := testRenderer(t)
	csrf := NewCSRF([]byte(strings.Repeat("c", 32)), false, rand.Reader)

	// A browser's cookie and the token pages give it.
	seed := httptest.NewRecorder()
	token := csrf.Token(seed, httptest.NewRequest(http.MethodGet, "/", nil))
	cookie := seed.Result().Cookies()[0]

	post := func(form url.Values, withCookie bool) (*httptest.ResponseRecorder, bool) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		ok := ParseCSRFForm(w, r, 1024, rn, csrf)
		return w, ok
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		withCookie bool
		ok         bool
		status     int
	}{
		{"valid token", url.Values{"csrf_token": {token}, "x": {"1"}}, true, true, http.StatusOK},
		{"no token", url.Values{"x": {"1"}}, true, false, http.StatusForbidden},
		{"wrong token", url.Values{"csrf_token": {token + "x"}}, true, false, http.StatusForbidden},
		{"no cookie", url.Values{"csrf_token": {token}}, false, false, http.StatusForbidden},
		{"over the limit", url.Values{"csrf_token": {token}, "x": {strings.Repeat("a", 2048)}}, true, false, http.StatusRequestEntityTooLarge},
	} {
		w, ok := post(tc.form, tc.withCookie)
		if ok != tc.ok || w.Code != tc.status {
			t.Errorf("%s: ok=%v status=%d, want ok=%v status=%d", tc.name, ok, w.Code, tc.ok, tc.status)
		}
	}
}
