package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/i18n"
)

// An error page named by its catalogue key speaks the browser's language
// and fills in its placeholders, escaped like any page text.
func TestFailKey(t *testing.T) {
	rn := testRenderer(t)
	for lang, want := range map[string]string{
		"en": "Sign-in with Corp &lt;SSO&gt; failed.",
		"fr": "La connexion avec Corp &lt;SSO&gt; a échoué.",
		"ja": "Corp &lt;SSO&gt; でのサインインに失敗しました。",
	} {
		r := httptest.NewRequest(http.MethodGet, "/.gatehouse/sso/corp/callback", nil)
		r.Header.Set("Accept-Language", lang)
		w := httptest.NewRecorder()
		rn.FailKey(w, r, http.StatusBadRequest, "sso.failed", "provider", "Corp <SSO>")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d, want 400 with %q in %.400s", lang, w.Code, want, w.Body.String())
		}
	}
}

// testRenderer is a renderer with the real catalogues and templates.
func testRenderer(t *testing.T) *Renderer {
	t.Helper()
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	rn, err := NewRenderer(catalog, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return rn
}
