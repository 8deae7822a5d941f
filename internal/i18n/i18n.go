// Package i18n holds the message catalogues of every page and mail, in
// English, French and Japanese, and picks the language for a request.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Languages Gatehouse speaks, the first being the fallback.
var Languages = []string{"en", "fr", "ja"}

//go:embed catalog/*.json
var catalogFS embed.FS

// Catalog maps language → key → message.
type Catalog struct {
	messages map[string]map[string]string
}

// Load parses the embedded catalogues. It fails when a language misses a key
// that English has, so a missing translation is caught at start and in tests.
func Load() (*Catalog, error) {
	c := &Catalog{messages: map[string]map[string]string{}}
	for _, lang := range Languages {
		data, err := catalogFS.ReadFile("catalog/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", lang, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", lang, err)
		}
		c.messages[lang] = m
	}
	if missing := c.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("i18n: missing translations: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Missing lists "lang:key" for every key some language has and another
// lacks. Counted messages (key.one, key.other, …) are compared by their
// base key: each language must hold the plural categories its own rules
// use, and no other, so French needs key.one and Japanese must not.
func (c *Catalog) Missing() []string {
	all, counted := map[string]bool{}, map[string]bool{}
	for _, m := range c.messages {
		for k := range m {
			if base, _, ok := pluralBase(k); ok {
				counted[base] = true
				continue
			}
			all[k] = true
		}
	}
	var missing []string
	for _, lang := range Languages {
		for k := range all {
			if _, ok := c.messages[lang][k]; !ok {
				missing = append(missing, lang+":"+k)
			}
		}
		used := formsUsed(lang)
		for base := range counted {
			for _, form := range pluralForms {
				_, has := c.messages[lang][base+"."+form]
				switch {
				case used[form] && !has:
					missing = append(missing, lang+":"+base+"."+form)
				case !used[form] && has:
					missing = append(missing, lang+":"+base+"."+form+" (not a plural category of "+lang+")")
				}
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// T returns the message for key in lang, falling back to English, then to
// the key itself so a slip shows on the page instead of an empty string.
func (c *Catalog) T(lang, key string) string {
	if m, ok := c.messages[lang][key]; ok {
		return m
	}
	if m, ok := c.messages["en"][key]; ok {
		return m
	}
	return key
}

// Lookup returns the message for key in lang, or false when that
// language's catalogue lacks it; callers that have a better fallback than
// English use it.
func (c *Catalog) Lookup(lang, key string) (string, bool) {
	m, ok := c.messages[lang][key]
	return m, ok
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Negotiate picks a language: the account's preference when it has one,
// else the best supported Accept-Language entry, else English.
func Negotiate(preferred string, r *http.Request) string {
	if Supported(preferred) {
		return preferred
	}
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, q := parseLangRange(part)
		if tag == "" || q <= bestQ {
			continue
		}
		base, _, _ := strings.Cut(tag, "-")
		if Supported(base) {
			best, bestQ = base, q
		}
	}
	return best
}

func parseLangRange(s string) (string, float64) {
	tag, params, _ := strings.Cut(strings.TrimSpace(s), ";")
	q := 1.0
	if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
		if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
			return "", 0
		}
	}
	return strings.ToLower(strings.TrimSpace(tag)), q
}
