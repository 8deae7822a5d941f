package rules

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// FuzzCondition feeds arbitrary conditions through parsing, validation and
// matching: none may panic, and a condition that validates must survive
// its canonical re-encoding unchanged in meaning.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`{"property":"site","op":"equals","value":"Toulouse"}`,
		`{"all":[{"property":"certs","op":"in","values":["iso","atex"]},{"role":true,"op":"equals","value":"viewer"}]}`,
		`{"any":[{"property":"line","op":"has_relation","value":"L7"},{"all":[{"any":[]}]}]}`,
		`{"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"property":"site","op":"in","values":["Lyon"]}]}]}]}]}]}]}]}`,
		`[]`, `null`, `{"role":true,"property":"x"}`,
	} {
		f.Add([]byte(s))
	}
	defs := map[string]store.PropertyDef{
		"site":  {Key: "site", Type: store.PropertyChoice, Choices: []string{"Toulouse", "Lyon"}},
		"certs": {Key: "certs", Type: store.PropertyMultiChoice, Choices: []string{"iso", "atex"}},
		"line":  {Key: "line", Type: store.PropertyRelation},
		"dept":  {Key: "dept", Type: store.PropertyText},
	}
	facts := Facts{Role: "viewer", Values: map[string][]string{"site": {"Toulouse"}, "certs": {"iso"}, "line": {"L7"}, "dept": {"q"}}}
	roles := account.Standard()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCondition(data)
		if err != nil {
			return
		}
		var ps validation.Problems
		c.validate(&ps, "condition", defs, roles)
		got := c.Match(facts, map[string][]string{})
		if len(ps) > 0 {
			return
		}
		enc, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseCondition(enc)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", enc, err)
		}
		if again.Match(facts, nil) != got {
			t.Fatalf("canonical form %s matches differently", enc)
		}
	})
}
