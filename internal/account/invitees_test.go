package account

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/validation"
)

func TestParseInvitees(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Invitee
	}{
		// Moved from the API's SplitEmails test: spaces and empty entries
		// are ignored, an address is kept once whatever its case.
		{" a@x.io ; ;b@x.io;A@X.IO;; ", []Invitee{{Email: "a@x.io"}, {Email: "b@x.io"}}},
		{"Ada Lovelace <ada@example.com>; bob@example.com", []Invitee{
			{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}, {Email: "bob@example.com"}}},
		{`"Lovelace, Ada" <ada@example.com>`, []Invitee{{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}}},
		{"Jean-Pierre de la Tour <jp@example.fr>\nChloé <chloe@example.fr>", []Invitee{
			{Email: "jp@example.fr", FirstName: "Jean-Pierre", LastName: "de la Tour"}, {Email: "chloe@example.fr", FirstName: "Chloé"}}},
		{"=?UTF-8?B?5bGx55Sw5aSq6YOO?= <taro@example.jp>, 山田 花子 <hanako@example.jp>", []Invitee{
			{Email: "taro@example.jp", FirstName: "山田太郎"}, {Email: "hanako@example.jp", FirstName: "山田", LastName: "花子"}}},
		{"ann@example.com, bob@example.com\r\ncy@example.com", []Invitee{
			{Email: "ann@example.com"}, {Email: "bob@example.com"}, {Email: "cy@example.com"}}},
	} {
		got, ps := ParseInvitees(tc.in)
		if len(ps) != 0 || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseInvitees(%q) = %+v, %v; want %+v", tc.in, got, ps, tc.want)
		}
	}
	for _, bad := range []string{"ada", "Ada <ada>", "<ada@example.com", "ada@localhost", "Ada Lovelace ada@example.com",
		"ada@example.com <bob@example.com>", strings.Repeat("a", 300) + "@example.com",
		"\"" + strings.Repeat("A", 120) + "\" <ada@example.com>", "\"Ada\x01\" <ada@example.com>"} {
		got, ps := ParseInvitees("ok@example.com; " + bad)
		if len(ps) == 0 || ps[0].Field != "emails[1]" || len(got) != 1 {
			t.Errorf("ParseInvitees(%q) = %+v, %v: want one invitee and a problem on emails[1]", bad, got, ps)
		}
	}
}

// FuzzParseInvitees: whatever an admin pastes, the parser does not panic,
// and everything it accepts is an address Create would accept and names
// it would store.
func FuzzParseInvitees(f *testing.F) {
	for _, s := range []string{"Ada Lovelace <ada@example.com>; bob@example.com", `"a;b" <a@b.co>`, "(c;) a@b.co", "<<a@b.co>>", "\"\\\"", "a@b.co,,;\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		got, ps := ParseInvitees(list)
		for _, p := range ps {
			if !strings.HasPrefix(p.Field, "emails[") || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		seen := map[string]bool{}
		for _, inv := range got {
			var check validation.Problems
			checkEmail(&check, inv.Email)
			checkOptionalName(&check, "first_name", termFirstName, inv.FirstName)
			checkOptionalName(&check, "last_name", termLastName, inv.LastName)
			if len(check) > 0 {
				t.Fatalf("accepted %+v: %v", inv, check)
			}
			for _, n := range []string{inv.FirstName, inv.LastName} {
				if n != strings.TrimSpace(n) || !utf8.ValidString(n) || strings.ContainsFunc(n, unicode.IsControl) {
					t.Fatalf("accepted name %q", n)
				}
			}
			key := strings.ToLower(inv.Email)
			if seen[key] {
				t.Fatalf("address %s kept twice", inv.Email)
			}
			seen[key] = true
		}
	})
}

func TestRoleLabelsFromTheModel(t *testing.T) {
	m, err := LoadModel("site-scoped")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Label("operator", "fr"); got != "Opérateur (poste partagé)" {
		t.Errorf("operator in French = %q", got)
	}
	if m.Label("operator", "de") != "" || m.Label("nobody", "en") != "" {
		t.Error("a label the model lacks must be empty, for the catalogue to answer")
	}
	if _, err := ParseModel([]byte("name: x\nroles:\n  - name: a\n    capabilities: [view]\n    labels: {de: Leser}\n"), "x"); err == nil {
		t.Error("a label in a language Gatehouse does not speak must be refused")
	}
}
