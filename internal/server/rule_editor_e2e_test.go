package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/server/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRuleEditorBuildsConditions: the panel's rule form offers the role
// model's capabilities in a select and the company's properties and their
// values, builds the condition from rows (no JSON to write), shows a
// stored rule as those rows again, and says the condition in words in the
// list. A condition the rows cannot show is edited as JSON.
func TestRuleEditorBuildsConditions(t *testing.T) {
	g := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	g.CreateUser(t, account.NewAccount{Email: "ann@example.com", Password: pw, CompanyID: "acme", Role: "admin"})
	if _, err := g.Server.Rules.CreateDef(ctx, rules.Actor{ID: "test"}, store.PropertyDef{CompanyID: "acme", Key: "site",
		Type: store.PropertyChoice, Choices: []string{"Toulouse", "Hamburg"}, Labels: map[string]string{"en": "Plant"}}); err != nil {
		t.Fatal(err)
	}
	c := servertest.Client(t)
	g.Login(t, c, "ann@example.com", pw)
	page, _ := g.Get(t, c, "/.gatehouse/admin/rules?company=acme", "text/html")
	for _, want := range []string{`<select id="rule-capability" name="capability" required>`, `<option value="edit_objects">edit_objects</option>`,
		`<option value="site">Plant (site)</option>`, `<option value="Toulouse">`, `<option value="manager">`, `name="cond_value"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the rule form lacks %s", want)
		}
	}
	if strings.Contains(page, `name="condition"`) {
		t.Errorf("the new-rule form asks for JSON")
	}

	csrf := g.CSRFToken(t, c, "/.gatehouse/admin/rules?company=acme")
	_, resp := g.PostForm(t, c, "/.gatehouse/admin/rules", url.Values{"csrf_token": {csrf}, "company": {"acme"},
		"name": {"Toulouse editors"}, "capability": {"edit_objects"}, "tag": {"site:Toulouse"}, "enabled": {"true"}, "match": {"all"},
		"cond_subject": {"site", "role", ""}, "cond_op": {"equals", "in", "equals"}, "cond_value": {"Toulouse", "viewer, manager", ""}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "notice=rule_created") {
		t.Fatalf("creating a rule from rows: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	rs, err := g.Store.ListAccessRules(ctx, "acme")
	if err != nil || len(rs) != 1 {
		t.Fatalf("rules: %v %v", rs, err)
	}
	var got, want any
	json.Unmarshal(rs[0].Condition, &got)
	json.Unmarshal([]byte(`{"all":[{"property":"site","op":"equals","value":"Toulouse"},{"role":true,"op":"in","values":["viewer","manager"]}]}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("condition built: %s", rs[0].Condition)
	}

	list, _ := g.Get(t, c, "/.gatehouse/admin/rules?company=acme", "text/html")
	if !strings.Contains(list, "site is Toulouse and Role is one of viewer, manager") {
		t.Errorf("the list does not say the condition in words")
	}
	edit, _ := g.Get(t, c, "/.gatehouse/admin/rules/"+rs[0].ID, "text/html")
	for _, want := range []string{`<option value="site" selected>`, `<option value="role" selected>`, `value="viewer, manager"`, `<option value="in" selected>`} {
		if !strings.Contains(edit, want) {
			t.Errorf("the rule's page does not show its rows: no %s", want)
		}
	}

	// A group inside a group is edited as JSON.
	nested := `{"any":[{"all":[{"property":"site","op":"equals","value":"Toulouse"},{"role":true,"op":"equals","value":"viewer"}]},{"role":true,"op":"equals","value":"admin"}]}`
	if _, err := g.Server.Rules.UpdateRule(ctx, rules.Actor{ID: "test"}, rs[0].ID, rules.RuleInput{Condition: json.RawMessage(nested)}); err != nil {
		t.Fatal(err)
	}
	edit, _ = g.Get(t, c, "/.gatehouse/admin/rules/"+rs[0].ID, "text/html")
	if !strings.Contains(edit, `id="rule-json-only"`) || !strings.Contains(edit, `name="condition"`) {
		t.Errorf("a nested condition is not offered as JSON")
	}
}
