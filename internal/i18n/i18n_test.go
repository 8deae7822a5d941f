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

func TestPluralRules(t *testing.T) {
	c := &Catalog{messages: map[string]map[string]string{
		"en": {"n.one": "{n} session ended.", "n.other": "{n} sessions ended."},
		"fr": {"n.one": "{n} session terminée.", "n.other": "{n} sessions terminées."},
		"ja": {"n.other": "{n} 件のセッションを終了しました。"},
	}}
	if m := c.Missing(); len(m) != 0 {
		t.Fatalf("Missing() = %v, want none", m)
	}
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 0, "0 sessions ended."}, {"en", 1, "1 session ended."}, {"en", 2, "2 sessions ended."},
		{"fr", 0, "0 session terminée."}, {"fr", 1, "1 session terminée."}, {"fr", 2, "2 sessions terminées."},
		{"ja", 1, "1 件のセッションを終了しました。"}, {"ja", 7, "7 件のセッションを終了しました。"},
	} {
		if got := c.N(tc.lang, "n", tc.n); got != tc.want {
			t.Errorf("N(%s, %d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
	// French without its "one", Japanese with a "one" it never uses.
	c.messages["fr"] = map[string]string{"n.other": "x"}
	c.messages["ja"]["n.one"] = "y"
	got := c.Missing()
	if len(got) != 2 || got[0] != "fr:n.one" || got[1] != "ja:n.one (not a plural category of ja)" {
		t.Fatalf("Missing() = %v", got)
	}
}
