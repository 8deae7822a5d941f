package i18n

import (
	"strconv"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// pluralForms names the CLDR plural categories as catalogue key suffixes:
// a counted message is written "key.one", "key.other", … in each language,
// with only the categories that language uses (French: one for 0 and 1;
// English: one for 1; Japanese: other alone).
var pluralForms = map[plural.Form]string{
	plural.Zero: "zero", plural.One: "one", plural.Two: "two",
	plural.Few: "few", plural.Many: "many", plural.Other: "other",
}

// pluralForm is the CLDR cardinal category of the integer n in lang, from
// golang.org/x/text's copy of the CLDR rules.
func pluralForm(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	return pluralForms[plural.Cardinal.MatchPlural(language.Make(lang), n%10_000_000, 0, 0, 0, 0)]
}

// formsUsed lists the categories lang gives the counts a page shows; a
// catalogue must hold exactly these for every counted message.
func formsUsed(lang string) map[string]bool {
	used := map[string]bool{}
	for n := range 1001 {
		used[pluralForm(lang, n)] = true
	}
	return used
}

// pluralBase splits "key.one" into "key" and "one" when the suffix is a
// plural category.
func pluralBase(key string) (string, string, bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", "", false
	}
	for _, f := range pluralForms {
		if key[i+1:] == f {
			return key[:i], f, true
		}
	}
	return "", "", false
}

// N returns the counted message key for n in lang with {n} replaced by n:
// key.<category> of lang's plural rules, falling back to key.other, then
// to English as T does.
func (c *Catalog) N(lang, key string, n int) string {
	msg, ok := c.Lookup(lang, key+"."+pluralForm(lang, n))
	if !ok {
		msg, ok = c.Lookup(lang, key+".other")
	}
	if !ok {
		return c.N("en", key, n)
	}
	return strings.ReplaceAll(msg, "{n}", strconv.Itoa(n))
}
