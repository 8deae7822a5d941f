package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Languages a property label may be given in; en is required so every
// admin sees a label.
var labelLanguages = []string{"en", "fr", "ja"}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Size limits on what admins type.
const (
	maxLabel      = 100
	maxChoices    = 500
	maxChoice     = 100
	maxText       = 500
	maxObjectID   = 200
	maxListValues = 500
	maxRuleName   = 100
	maxTag        = 200
)

// ValidateDef checks a definition on its own: key, labels, type, choices.
func ValidateDef(d store.PropertyDef) error {
	var ps validation.Problems
	validateDef(&ps, d)
	return ps.Err()
}

func validateDef(ps *validation.Problems, d store.PropertyDef) {
	if !keyRE.MatchString(d.Key) {
		ps.Add("key", "invalid", "a key is 1 to 63 lower-case letters, digits and _, starting with a letter")
	}
	validateLabels(ps, d.Labels)
	switch d.Type {
	case store.PropertyChoice, store.PropertyMultiChoice:
		if len(d.Choices) == 0 {
			ps.Add("choices", "required", "a %s property needs at least one choice", d.Type)
		}
		if len(d.Choices) > maxChoices {
			ps.Add("choices", "too_long", "at most %d choices", maxChoices)
		}
		for i, c := range d.Choices {
			field := fmt.Sprintf("choices[%d]", i)
			switch {
			case strings.TrimSpace(c) == "":
				ps.Add(field, "required", "a choice cannot be empty")
			case utf8.RuneCountInString(c) > maxChoice || !printable(c):
				ps.Add(field, "invalid", "a choice is at most %d printable characters", maxChoice)
			case slices.Index(d.Choices, c) < i:
				ps.Add(field, "duplicate", "%q is listed twice", c)
			}
		}
	case store.PropertyText, store.PropertyRelation:
		if len(d.Choices) > 0 {
			ps.Add("choices", "not_allowed", "only choice and multi_choice properties have choices")
		}
	case "":
		ps.Add("type", "required", "choose text, choice, multi_choice or relation")
	default:
		ps.Add("type", "invalid", "unknown type %q; choose text, choice, multi_choice or relation", d.Type)
	}
}

func validateLabels(ps *validation.Problems, labels map[string]string) {
	if strings.TrimSpace(labels["en"]) == "" {
		ps.Add("labels.en", "required", "an English label is required")
	}
	for lang, l := range labels {
		field := "labels." + lang
		if !slices.Contains(labelLanguages, lang) {
			ps.Add(field, "unknown", "labels are given in en, fr or ja")
			continue
		}
		if utf8.RuneCountInString(l) > maxLabel || !printable(l) {
			ps.Add(field, "invalid", "a label is at most %d printable characters", maxLabel)
		}
	}
}

// ValidateValues checks an account's values for def. field names the input
// in errors. An empty list is valid: it clears the value.
func ValidateValues(def store.PropertyDef, field string, values []string) error {
	var ps validation.Problems
	validateValues(&ps, def, field, values)
	return ps.Err()
}

func validateValues(ps *validation.Problems, def store.PropertyDef, field string, values []string) {
	if len(values) == 0 {
		return
	}
	single := def.Type == store.PropertyText || def.Type == store.PropertyChoice
	if single && len(values) > 1 {
		ps.Add(field, "invalid", "%q holds one value", def.Key)
		return
	}
	if len(values) > maxListValues {
		ps.Add(field, "too_long", "at most %d values", maxListValues)
		return
	}
	for i, v := range values {
		f := field
		if !single {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		switch def.Type {
		case store.PropertyText:
			if utf8.RuneCountInString(v) > maxText || !printable(v) {
				ps.Add(f, "invalid", "text is at most %d printable characters", maxText)
			}
		case store.PropertyChoice, store.PropertyMultiChoice:
			if !slices.Contains(def.Choices, v) {
				ps.Add(f, "unknown_choice", "%q is not a choice of %q (choices: %s)", v, def.Key, strings.Join(def.Choices, ", "))
			}
		case store.PropertyRelation:
			if v == "" || utf8.RuneCountInString(v) > maxObjectID || strings.IndexFunc(v, unicode.IsSpace) >= 0 || !printable(v) {
				ps.Add(f, "invalid", "an object id is 1 to %d printable characters without spaces", maxObjectID)
			}
		}
		if !single && slices.Index(values, v) < i {
			ps.Add(f, "duplicate", "%q is listed twice", v)
		}
	}
}

// validateRule checks a rule against the company's definitions and roles.
func validateRule(ps *validation.Problems, r store.AccessRule, cond Condition, defs map[string]store.PropertyDef, roles *account.Model) {
	switch {
	case strings.TrimSpace(r.Name) == "":
		ps.Add("name", "required", "a rule needs a name")
	case utf8.RuneCountInString(r.Name) > maxRuleName || !printable(r.Name):
		ps.Add("name", "invalid", "a name is at most %d printable characters", maxRuleName)
	}
	switch {
	case r.Capability == "":
		ps.Add("capability", "required", "name the capability the rule grants")
	case !slices.Contains(account.AllCapabilities(), r.Capability):
		ps.Add("capability", "unknown", "unknown capability %q", r.Capability)
	}
	switch {
	case r.Tag == "":
		ps.Add("tag", "required", `name the tag of the objects the rule covers, e.g. "site:Toulouse"`)
	case utf8.RuneCountInString(r.Tag) > maxTag || strings.IndexFunc(r.Tag, unicode.IsSpace) >= 0 || !printable(r.Tag):
		// Tags never hold spaces: the compact grants form relies on it.
		ps.Add("tag", "invalid", "a tag is 1 to %d printable characters without spaces", maxTag)
	}
	if r.Position < 0 {
		ps.Add("position", "invalid", "a position is 0 or more")
	}
	cond.validate(ps, "condition", defs, roles)
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// ParseValues reads one property's value as the JSON API takes it: null or
// "" clears it, a string is one value, an array of strings several. ok is
// false for any other JSON.
func ParseValues(raw json.RawMessage) (values []string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, true
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, true
		}
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many, true
	}
	return nil, false
}
