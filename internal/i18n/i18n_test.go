package i18n

import (
	"net/http"
	"testing"
)

func TestEveryLanguageHasEveryKey(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if missing := c.Missing(); len(missing) > 0 {
		t.Fatalf("missing translations: %v", missing)
	}
	for _, lang := range Languages {
		if len(c.messages[lang]) == 0 {
			t.Fatalf("%s: empty catalogue", lang)
		}
		for k, v := range c.messages[lang] {
			if v == "" {
				t.Errorf("%s:%s is empty", lang, k)
			}
		}
	}
}

func TestMissingDetectsGaps(t *testing.T) {
	c := &Catalog{messages: map[string]map[string]string{
		"en": {"a": "A", "b": "B"}, "fr": {"a": "A"}, "ja": {"a": "A", "b": "B"},
	}}
	if got := c.Missing(); len(got) != 1 || got[0] != "fr:b" {
		t.Fatalf("Missing() = %v, want [fr:b]", got)
	}
	if c.T("fr", "b") != "B" || c.T("fr", "zzz") != "zzz" {
		t.Error("T must fall back to English, then to the key")
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct{ pref, header, want string }{
		{"", "", "en"},
		{"ja", "fr", "ja"},
		{"", "fr-FR,fr;q=0.9,en;q=0.8", "fr"},
		{"", "de,ja;q=0.5,en;q=0.4", "ja"},
		{"", "de", "en"},
		{"xx", "fr;q=bad, ja;q=0.1", "ja"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", tc.header)
		if got := Negotiate(tc.pref, r); got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tc.pref, tc.header, got, tc.want)
		}
	}
}
