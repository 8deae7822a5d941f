package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *validation.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestRuleValidation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, cond string
		want       []string
	}{
		{"unknown property", `{"property":"nope","op":"equals","value":"x"}`, []string{"condition.property"}},
		{"choice never matches", `{"property":"site","op":"in","values":["Toulouse","Paris"]}`, []string{"condition.values[1]"}},
		{"relation compared with equals", `{"property":"line","op":"equals","value":"L1"}`, []string{"condition.op"}},
		{"has_relation on a choice", `{"property":"site","op":"has_relation","value":"Lyon"}`, []string{"condition.op"}},
		{"unknown role", `{"role":true,"op":"equals","value":"king"}`, []string{"condition.value"}},
		{"empty group", `{"all":[]}`, []string{"condition.all"}},
		{"mixed node", `{"all":[{"property":"dept","op":"equals","value":"x"}],"property":"dept"}`, []string{"condition"}},
		{"missing op", `{"property":"dept","value":"x"}`, []string{"condition.op"}},
		{"nested errors", `{"any":[{"property":"dept","op":"equals","value":"a"},{"all":[{"property":"x","op":"in","values":["a"]}]}]}`, []string{"condition.any[1].all[0].property"}},
		{"unknown field", `{"property":"dept","op":"equals","value":"a","extra":1}`, []string{"condition"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateRule(context.Background(), admin, "acme", RuleInput{
				Name: ptr("r"), Capability: ptr("edit_objects"), Tag: ptr("site:Toulouse"), Condition: []byte(tc.cond),
			})
			if got := fieldsOf(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("fields %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
	_, err := f.svc.CreateRule(context.Background(), admin, "acme", RuleInput{
		Name: ptr(""), Capability: ptr("fly"), Tag: ptr("has space"), Condition: []byte(`{"property":"dept","op":"equals","value":"a"}`), Position: ptr(0),
	})
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"position", "name", "capability", "tag"}) {
		t.Errorf("fields %v", got)
	}
	if rs, _ := f.svc.ListRules(context.Background(), "acme"); len(rs) != 0 {
		t.Fatalf("refused rules were stored: %v", rs)
	}
}

func TestValueValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	err := f.svc.SetValues(ctx, admin, "alice", "acme", map[string][]string{
		"site": {"Paris"}, "certs": {"iso", "iso", "nope"}, "dept": {"a", "b"}, "line": {"has space"}, "ghost": {"x"},
	})
	want := []string{"certs[1]", "certs[2]", "dept", "ghost", "line[0]", "site"}
	if got := fieldsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if err := f.svc.SetValues(ctx, admin, "zed", "acme", map[string][]string{"dept": {"x"}}); !slices.Equal(fieldsOf(t, err), []string{"account"}) {
		t.Errorf("a non-member got values: %v", err)
	}
	if err := f.svc.SetValues(ctx, admin, "nobody", "acme", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if vals, _ := f.st.ListPropertyValues(ctx, "alice", "acme"); len(vals) != 0 {
		t.Errorf("refused values were stored: %v", vals)
	}
}

func TestDefinitions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreateDef(ctx, admin, store.PropertyDef{CompanyID: "acme", Key: "site", Labels: map[string]string{"en": "x"}, Type: store.PropertyText}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate key: %v", err)
	}
	err := ValidateDef(store.PropertyDef{Key: "9x", Labels: map[string]string{"de": "x"}, Type: "number"})
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"key", "labels.en", "labels.de", "type"}) {
		t.Errorf("fields %v", got)
	}
	// Renaming works; the key and type stay.
	d, err := f.svc.UpdateDef(ctx, admin, "acme", "site", map[string]string{"en": "Plant", "fr": "Usine"}, []string{"Toulouse", "Lyon", "Nantes"})
	if err != nil || d.Labels["en"] != "Plant" || len(d.Choices) != 3 || d.Type != store.PropertyChoice {
		t.Fatalf("rename: %v %v", d, err)
	}
	f.rule(t, "toulouse", "edit_objects", "site:Toulouse", `{"property":"site","op":"equals","value":"Toulouse"}`)
	f.set(t, "bob", map[string][]string{"site": {"Lyon"}})
	// Removing a choice a rule compares with, or an account holds, is refused.
	if _, err := f.svc.UpdateDef(ctx, admin, "acme", "site", nil, []string{"Lyon", "Nantes"}); !errors.Is(err, ErrInUse) {
		t.Errorf("removing a choice in use by a rule: %v", err)
	}
	if _, err := f.svc.UpdateDef(ctx, admin, "acme", "site", nil, []string{"Toulouse", "Nantes"}); !slices.Equal(fieldsOf(t, err), []string{"choices"}) {
		t.Errorf("removing a held choice: %v", err)
	}
	if _, err := f.svc.UpdateDef(ctx, admin, "acme", "site", nil, []string{"Toulouse", "Lyon"}); err != nil {
		t.Errorf("removing an unused choice: %v", err)
	}
	// Deleting a property a rule reads is refused with the rule named.
	var iu *InUseError
	if err := f.svc.DeleteDef(ctx, admin, "acme", "site"); !errors.As(err, &iu) || len(iu.Rules) != 1 || iu.Rules[0].Name != "toulouse" {
		t.Fatalf("delete in use: %v", err)
	}
	if err := f.svc.DeleteDef(ctx, admin, "acme", "dept"); err != nil {
		t.Fatalf("delete unused: %v", err)
	}
	// Every change is audited with before and after.
	events, _ := f.audit.ListAudit(ctx, store.AuditQuery{})
	var actions []string
	for _, e := range events {
		if _, ok := e.Details["before"]; !ok {
			t.Errorf("%s has no before", e.Action)
		}
		if _, ok := e.Details["after"]; !ok {
			t.Errorf("%s has no after", e.Action)
		}
		actions = append(actions, e.Action)
		// Details read as the API names things, never as Go fields.
		raw, _ := json.Marshal(e.Details)
		for _, goName := range []string{"CompanyID", "CreatedAt", "UpdatedAt", "Labels", "Key"} {
			if strings.Contains(string(raw), `"`+goName+`"`) {
				t.Errorf("%s details name the Go field %s: %s", e.Action, goName, raw)
			}
		}
	}
	for _, a := range []string{"property.create", "property.update", "property.delete", "property.values.set", "access_rule.create"} {
		if !slices.Contains(actions, a) {
			t.Errorf("no %s audited: %v", a, actions)
		}
	}
}

func grantStrings(gs []identity.Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Capability+"@"+g.Tag)
	}
	return out
}

func TestEvaluate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.rule(t, "toulouse edit", "edit_objects", "site:Toulouse", `{"property":"site","op":"equals","value":"Toulouse"}`)
	f.rule(t, "certified", "sign_documents", "zone:atex", `{"all":[{"property":"certs","op":"in","values":["atex","fire"]},{"role":true,"op":"in","values":["viewer","manager"]}]}`)
	f.rule(t, "line 7", "be_responsible", "line:L7", `{"any":[{"property":"line","op":"has_relation","value":"L7"},{"property":"dept","op":"equals","value":"quality"}]}`)
	f.rule(t, "dup", "edit_objects", "site:Toulouse", `{"property":"dept","op":"equals","value":"quality"}`)
	f.set(t, "alice", map[string][]string{"site": {"Toulouse"}, "certs": {"atex"}, "line": {"L7", "L8"}, "dept": {"quality"}})
	f.set(t, "bob", map[string][]string{"site": {"Lyon"}})
	f.set(t, "ws", map[string][]string{"site": {"Toulouse"}, "line": {"L7"}})

	r, err := f.svc.Evaluate(ctx, "alice", "acme", store.KindPersonal, "viewer")
	if err != nil {
		t.Fatal(err)
	}
	if got := grantStrings(r.Grants); !slices.Equal(got, []string{"edit_objects@site:Toulouse", "sign_documents@zone:atex", "be_responsible@line:L7"}) {
		t.Errorf("alice grants %v", got)
	}
	if r.Props["site"] != "Toulouse" || !slices.Equal(r.Props["line"].([]string), []string{"L7", "L8"}) || r.Props["dept"] != "quality" {
		t.Errorf("alice props %v", r.Props)
	}
	if r, _ := f.svc.Evaluate(ctx, "bob", "acme", store.KindPersonal, "viewer"); len(r.Grants) != 0 || r.Props["site"] != "Lyon" {
		t.Errorf("bob: %+v", r)
	}
	// A rule never gives a workstation what its kind forbids.
	if r, _ := f.svc.Evaluate(ctx, "ws", "acme", store.KindSharedComputer, "shared_computer"); !slices.Equal(grantStrings(r.Grants), []string{"edit_objects@site:Toulouse"}) {
		t.Errorf("workstation grants %v", grantStrings(r.Grants))
	}
	// Not a member: no grants.
	if r, _ := f.svc.Evaluate(ctx, "alice", "acme", store.KindPersonal, ""); len(r.Grants) != 0 {
		t.Errorf("non-member grants %v", r.Grants)
	}
	ex, err := f.svc.Explain(ctx, "ws", "acme", "be_responsible", "line:L7")
	if err != nil || ex.Granted || len(ex.Rules) != 1 || !ex.Rules[0].Matched || !strings.Contains(ex.Rules[0].Reason, "shared-computer") {
		t.Errorf("explain workstation: %+v %v", ex, err)
	}
	ex, _ = f.svc.Explain(ctx, "alice", "acme", "edit_objects", "site:Toulouse")
	if !ex.Granted || len(ex.Rules) != 2 || !slices.Equal(ex.Rules[0].MatchedOn["site"], []string{"Toulouse"}) || !slices.Equal(ex.Rules[1].MatchedOn["dept"], []string{"quality"}) {
		t.Errorf("explain alice: %+v", ex)
	}
	ex, _ = f.svc.Explain(ctx, "bob", "acme", "edit_objects", "site:Toulouse")
	if ex.Granted || ex.Rules[0].Matched {
		t.Errorf("explain bob: %+v", ex)
	}
}

func TestCacheAndInvalidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rule := f.rule(t, "toulouse", "edit_objects", "site:Toulouse", `{"property":"site","op":"equals","value":"Toulouse"}`)
	f.set(t, "alice", map[string][]string{"site": {"Toulouse"}})
	eval := func() []string {
		r, err := f.svc.Evaluate(ctx, "alice", "acme", store.KindPersonal, "viewer")
		if err != nil {
			t.Fatal(err)
		}
		return grantStrings(r.Grants)
	}
	if len(eval()) != 1 {
		t.Fatal("no grant")
	}
	// A change through the service is seen at once and announced by the store.
	before := f.changes
	if _, err := f.svc.UpdateRule(ctx, admin, rule.ID, RuleInput{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if f.changes != before+1 || len(eval()) != 0 {
		t.Fatalf("disable not seen: changes %d, grants %v", f.changes-before, eval())
	}
	if _, err := f.svc.UpdateRule(ctx, admin, rule.ID, RuleInput{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if len(eval()) != 1 {
		t.Fatal("enable not seen")
	}
	// A change made behind the service (another replica) is seen once
	// CacheTTL has passed, and not evaluated again before.
	_ = f.st.SetPropertyValue(ctx, store.PropertyValue{AccountID: "alice", CompanyID: "acme", Key: "site", Values: []string{"Lyon"}})
	if len(eval()) != 1 {
		t.Fatal("cache not used")
	}
	f.now = f.now.Add(f.svc.CacheTTL + time.Second)
	if len(eval()) != 0 {
		t.Fatal("stale past CacheTTL")
	}
}

func TestRuleOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.rule(t, "a", "view", "t:a", `{"property":"dept","op":"equals","value":"x"}`)
	b := f.rule(t, "b", "view", "t:b", `{"property":"dept","op":"equals","value":"x"}`)
	c, err := f.svc.CreateRule(ctx, admin, "acme", RuleInput{Name: ptr("c"), Capability: ptr("view"), Tag: ptr("t:c"), Position: ptr(1),
		Condition: []byte(`{"property":"dept","op":"equals","value":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	names := func() string {
		rs, _ := f.svc.ListRules(ctx, "acme")
		var s []string
		for i, r := range rs {
			if r.Position != i+1 {
				t.Errorf("rule %s at position %d, index %d", r.Name, r.Position, i)
			}
			s = append(s, r.Name)
		}
		return strings.Join(s, ",")
	}
	if got := names(); got != "c,a,b" {
		t.Fatalf("order %s", got)
	}
	if _, err := f.svc.UpdateRule(ctx, admin, c.ID, RuleInput{Position: ptr(9)}); err != nil {
		t.Fatal(err)
	}
	if got := names(); got != "a,b,c" {
		t.Fatalf("order after move %s", got)
	}
	if err := f.svc.DeleteRule(ctx, admin, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(); got != "b,c" {
		t.Fatalf("order after delete %s", got)
	}
	_ = b
}

func TestCompactGrants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 120 {
		f.rule(t, fmt.Sprintf("r%d", i), []string{"edit_objects", "view"}[i%2], fmt.Sprintf("site:S%03d", i), `{"property":"site","op":"equals","value":"Toulouse"}`)
	}
	f.set(t, "alice", map[string][]string{"site": {"Toulouse"}})
	r, err := f.svc.Evaluate(ctx, "alice", "acme", store.KindPersonal, "viewer")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Compact || len(r.Grants) != 2 {
		t.Fatalf("want the compact form: %v", r.Grants)
	}
	tags := strings.Fields(r.Grants[0].Tag)
	if r.Grants[0].Capability != "edit_objects" || len(tags) != 60 || tags[0] != "site:S000" || tags[1] != "S002" {
		t.Errorf("compact grant %v", r.Grants[0])
	}
	full := evaluate(&companyRules{defs: map[string]store.PropertyDef{}, rules: mustCompiled(t, f)}, []store.PropertyValue{{Key: "site", Values: []string{"Toulouse"}}}, store.KindPersonal, "viewer", 0)
	if !slices.Equal(ExpandGrants(r.Grants), sortedLike(full.Grants, ExpandGrants(r.Grants))) || len(full.Grants) != 120 {
		t.Errorf("expanding the compact form does not give the full list")
	}
}

func TestImport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.set(t, "alice", map[string][]string{"site": {"Toulouse"}})
	csv := "\ufeffemail,site,certs,line\n" +
		"alice@example.com,Lyon,iso;atex,L1;L2\n" +
		"bob@example.com,Paris,nope,\n" +
		"nobody@example.com,,,\n" +
		"zed@example.com,Lyon,,\n" +
		"ALICE@example.com,,,\n" +
		",Lyon,,\n"
	rep, err := f.svc.PreviewImport(ctx, "acme", []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Rows) != 6 {
		t.Fatalf("preview %+v", rep)
	}
	wantErrs := map[int][]string{2: nil, 3: {"site", "certs[0]"}, 4: {"email"}, 5: {"account"}, 6: {"email"}, 7: {"email"}}
	for _, row := range rep.Rows {
		var got []string
		for _, p := range row.Errors {
			got = append(got, p.Field)
		}
		if !slices.Equal(got, wantErrs[row.Line]) {
			t.Errorf("line %d errors %v, want %v", row.Line, row.Errors, wantErrs[row.Line])
		}
	}
	if c := rep.Rows[0].Changes["site"]; c.Before != "Toulouse" || c.After != "Lyon" {
		t.Errorf("alice's change %+v", rep.Rows[0].Changes)
	}
	if _, err := f.svc.ApplyImport(ctx, admin, "acme", []byte(csv), rep.Confirm); !errors.Is(err, ErrImportInvalid) {
		t.Fatalf("applying a bad import: %v", err)
	}
	if v, _ := f.svc.Values(ctx, "alice", "acme"); v["site"] != "Toulouse" {
		t.Fatalf("a refused import changed values: %v", v)
	}
	good := "email,site,certs\nalice@example.com,Lyon,iso;atex\nbob@example.com,Toulouse,\n"
	rep, _ = f.svc.PreviewImport(ctx, "acme", []byte(good))
	if !rep.Valid {
		t.Fatalf("good preview %+v", rep)
	}
	if _, err := f.svc.ApplyImport(ctx, admin, "acme", []byte(good+"bob@example.com,Lyon,\n"), rep.Confirm); !errors.Is(err, ErrStaleImport) {
		t.Fatalf("confirm of another file: %v", err)
	}
	if _, err := f.svc.ApplyImport(ctx, admin, "acme", []byte(good), rep.Confirm); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Values(ctx, "alice", "acme"); v["site"] != "Lyon" || len(v["certs"].([]string)) != 2 {
		t.Errorf("alice after import %v", v)
	}
	if v, _ := f.svc.Values(ctx, "bob", "acme"); v["site"] != "Toulouse" {
		t.Errorf("bob after import %v", v)
	}
	// Header problems are all reported.
	rep, _ = f.svc.PreviewImport(ctx, "acme", []byte("site,ghost,site\n"))
	if len(rep.Errors) != 3 || rep.Valid {
		t.Errorf("header errors %v", rep.Errors)
	}
}

func TestRelations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.set(t, "alice", map[string][]string{"line": {"L1", "L2"}})
	f.set(t, "bob", map[string][]string{"line": {"L2"}, "site": {"Lyon"}})
	links, err := f.svc.LinkedObjects(ctx, "bob", "acme", "")
	if err != nil || len(links) != 1 || links[0].Object != "L2" {
		t.Errorf("bob's objects %v %v", links, err)
	}
	links, _ = f.svc.LinkedAccounts(ctx, "L2", "acme", "line")
	if len(links) != 2 || links[0].Account != "alice" || links[1].Account != "bob" {
		t.Errorf("L2's accounts %v", links)
	}
	if links, _ = f.svc.LinkedAccounts(ctx, "Lyon", "acme", ""); len(links) != 0 {
		t.Errorf("a choice counted as a relation: %v", links)
	}
}

func mustCompiled(t *testing.T, f *fixture) []compiledRule {
	t.Helper()
	cr, err := f.svc.loadCompanyRules(context.Background(), "acme", 0, f.now)
	if err != nil {
		t.Fatal(err)
	}
	return cr.rules
}

// sortedLike returns want when it holds the same grants as got.
func sortedLike(want, got []identity.Grant) []identity.Grant {
	if len(want) != len(got) {
		return want
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return want
		}
	}
	return got
}
