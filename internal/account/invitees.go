package account

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/validation"
)

// Invitee is one person an invitation names: an address, and the names
// the inviting admin gave when they gave any. Names are never made up;
// an invitee without them is asked for them when setting a password.
type Invitee struct {
	Email     string
	FirstName string
	LastName  string
}

// maxInviteeText bounds one entry of an invitation list before parsing.
const maxInviteeText = 512

// ParseInvitees reads an invitation list: entries separated by ";", ","
// or line breaks, each a bare address or a name and an address in the
// usual mail form, `Ada Lovelace <ada@example.com>` (RFC 5322, read with
// net/mail). "Lovelace, Ada" in quotes gives the family name first.
// Separators inside quotes or angle brackets do not split. An address
// named twice (in any case) is kept once, with the first names given.
// Every entry that is not valid is a problem of field "emails[i]".
func ParseInvitees(list string) ([]Invitee, []validation.Problem) {
	var out []Invitee
	var ps []validation.Problem
	for i, entry := range splitInvitees(list) {
		field := fmt.Sprintf("emails[%d]", i)
		inv, ok := parseInvitee(entry)
		if !ok {
			shown := strings.ToValidUTF8(entry, "\uFFFD")
			if r := []rune(shown); len(r) > 80 {
				shown = string(r[:80]) + "…"
			}
			ps = append(ps, validation.New(field, "invalid", "%q is not a valid email address", shown))
			continue
		}
		var names validation.Problems
		if inv.FirstName != "" || inv.LastName != "" {
			checkOptionalName(&names, field, termFirstName, inv.FirstName)
			checkOptionalName(&names, field, termLastName, inv.LastName)
		}
		if len(names) > 0 {
			ps = append(ps, names...)
			continue
		}
		dup := false
		for _, o := range out {
			if strings.EqualFold(o.Email, inv.Email) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, inv)
		}
	}
	return out, ps
}

// splitInvitees cuts list at separators outside quotes, comments and
// angle brackets, dropping empty entries.
func splitInvitees(list string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped, angle, paren := false, false, 0, 0
	flush := func() {
		if e := strings.TrimSpace(cur.String()); e != "" {
			out = append(out, e)
		}
		cur.Reset()
	}
	for _, r := range list {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"' && paren == 0:
			quoted = !quoted
		case quoted:
		case r == '(':
			paren++
		case r == ')' && paren > 0:
			paren--
		case r == '<' && paren == 0:
			angle++
		case r == '>' && angle > 0 && paren == 0:
			angle--
		case (r == ';' || r == ',' || r == '\n' || r == '\r') && angle == 0 && paren == 0:
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}

func parseInvitee(entry string) (Invitee, bool) {
	if len(entry) > maxInviteeText {
		return Invitee{}, false
	}
	addr, err := mail.ParseAddress(entry)
	if err != nil || !bareAddress(addr.Address) {
		return Invitee{}, false
	}
	first, last := splitName(addr.Name)
	return Invitee{Email: addr.Address, FirstName: first, LastName: last}, true
}

// bareAddress is checkEmail's rule for an address alone.
func bareAddress(e string) bool {
	if e == "" || len(e) > maxEmailLen {
		return false
	}
	a, err := mail.ParseAddress(e)
	return err == nil && a.Name == "" && a.Address == e && strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".")
}

// splitName reads a display name: "Family, Given" when it holds a comma,
// else the first word is the given name and the rest the family name
// ("Jean-Pierre de la Tour": "Jean-Pierre", "de la Tour"). One word is a
// given name alone; nothing is invented for the other.
func splitName(name string) (first, last string) {
	name = strings.Join(strings.Fields(name), " ")
	if f, g, ok := strings.Cut(name, ","); ok {
		return strings.TrimSpace(g), strings.TrimSpace(f)
	}
	first, last, _ = strings.Cut(name, " ")
	return first, last
}

// checkOptionalName is checkName for a name that may be left empty.
func checkOptionalName(ps *validation.Problems, field string, label validation.Term, v string) {
	switch {
	case v == "":
	case utf8.RuneCountInString(v) > maxNameLen:
		ps.Add(field, "too_long", "the %s must be at most %d characters", label, maxNameLen)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		ps.Add(field, "invalid", "the %s contains characters that are not allowed", label)
	}
}
