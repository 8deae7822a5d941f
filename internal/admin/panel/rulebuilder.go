package panel

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/rules"
)

// The rule editor builds a condition from rows (a property or the role,
// a comparison, a value) joined by "all" or "any", so nobody writes JSON in
// the panel; the JSON API still takes any condition. A stored condition
// the rows cannot show (groups inside groups) is edited as JSON, the one
// case where the panel shows it.

// condRow is one comparison of the rule editor.
type condRow struct{ Subject, Op, Value string }

// subjectRole is the rows' name for the account's role.
const subjectRole = "role"

// minRows is how many rows the editor offers at least; one more than the
// condition has, so another comparison can always be added.
const minRows = 3

// ruleChoices is what the rule editor offers: the capabilities of the role
// model, the company's properties, the comparisons, and the values it
// knows (the choices of the properties and the role names).
type ruleChoices struct {
	Capabilities []string
	Subjects     []ruleSubject
	Ops          []string
	Values       []string
}

type ruleSubject struct{ Key, Label string }

func (h *Handler) ruleChoices(x *call, company string) (ruleChoices, error) {
	defs, err := h.d.Service.ListProperties(x.ctx(), x.c, company)
	if err != nil {
		return ruleChoices{}, err
	}
	roles := h.d.Service.Accounts.Roles().RoleNames()
	ch := ruleChoices{Capabilities: h.capabilities(), Ops: []string{rules.OpEquals, rules.OpIn, rules.OpHasRelation}, Values: slices.Clone(roles)}
	for _, d := range defs {
		label := d.Labels[x.lang]
		if label == "" {
			label = d.Labels["en"]
		}
		ch.Subjects = append(ch.Subjects, ruleSubject{Key: d.Key, Label: label})
		ch.Values = append(ch.Values, d.Choices...)
	}
	slices.Sort(ch.Values)
	ch.Values = slices.Compact(ch.Values)
	return ch, nil
}

// conditionRows shows a stored condition as rows; ok is false when it
// has groups inside groups, which rows cannot show.
func conditionRows(raw []byte) (match string, rows []condRow, ok bool) {
	c, err := rules.ParseCondition(raw)
	if err != nil {
		return "", nil, false
	}
	match, leaves := "all", []rules.Condition{c}
	switch {
	case len(c.All) > 0:
		leaves = c.All
	case len(c.Any) > 0:
		match, leaves = "any", c.Any
	}
	for _, l := range leaves {
		if len(l.All) > 0 || len(l.Any) > 0 {
			return "", nil, false
		}
		r := condRow{Subject: l.Property, Op: l.Op, Value: l.Value}
		if l.Role {
			r.Subject = subjectRole
		}
		if len(l.Values) > 0 {
			r.Value = strings.Join(l.Values, ", ")
		}
		rows = append(rows, r)
	}
	return match, rows, true
}

// padRows adds empty rows up to what the editor offers.
func padRows(rows []condRow) []condRow {
	for target := max(minRows, len(rows)+1); len(rows) < target; {
		rows = append(rows, condRow{Op: rules.OpEquals})
	}
	return rows
}

// submittedRows reads the editor's rows from a form.
func submittedRows(x *call) (match string, rows []condRow) {
	f := x.r.PostForm
	subjects, ops, values := f["cond_subject"], f["cond_op"], f["cond_value"]
	for i, s := range subjects {
		r := condRow{Subject: strings.TrimSpace(s), Op: rules.OpEquals}
		if i < len(ops) {
			r.Op = ops[i]
		}
		if i < len(values) {
			r.Value = strings.TrimSpace(values[i])
		}
		rows = append(rows, r)
	}
	match = f.Get("match")
	if match != "any" {
		match = "all"
	}
	return match, rows
}

// buildCondition turns rows into the condition's JSON; rows without a
// subject are left out, and none at all is no condition (which the
// service refuses as missing). The rules service validates the rest.
func buildCondition(match string, rows []condRow) json.RawMessage {
	var leaves []rules.Condition
	for _, r := range rows {
		if r.Subject == "" {
			continue
		}
		l := rules.Condition{Property: r.Subject, Op: r.Op, Value: r.Value}
		if r.Subject == subjectRole {
			l.Property, l.Role = "", true
		}
		if r.Op == rules.OpIn {
			l.Value = ""
			for v := range strings.SplitSeq(r.Value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					l.Values = append(l.Values, v)
				}
			}
		}
		leaves = append(leaves, l)
	}
	var c rules.Condition
	switch {
	case len(leaves) == 0:
		return nil
	case len(leaves) == 1:
		c = leaves[0]
	case match == "any":
		c.Any = leaves
	default:
		c.All = leaves
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil // a Condition always marshals
	}
	return b
}

// describeCondition says a stored condition in words for the rules list:
// `site equals Toulouse and role is one of manager, admin`.
func (h *Handler) describeCondition(x *call, raw []byte) string {
	c, err := rules.ParseCondition(raw)
	if err != nil {
		return string(raw)
	}
	return h.describe(x, c, false)
}

func (h *Handler) describe(x *call, c rules.Condition, nested bool) string {
	t := func(key string) string { return h.d.Renderer.Catalog.T(x.lang, key) }
	group := func(cs []rules.Condition, joiner string) string {
		parts := make([]string, len(cs))
		for i, sub := range cs {
			parts[i] = h.describe(x, sub, true)
		}
		s := strings.Join(parts, " "+t(joiner)+" ")
		if nested && len(cs) > 1 {
			s = "(" + s + ")"
		}
		return s
	}
	switch {
	case len(c.All) > 0:
		return group(c.All, "rule_builder.and")
	case len(c.Any) > 0:
		return group(c.Any, "rule_builder.or")
	}
	subject := c.Property
	if c.Role {
		subject = t("admin.field.role")
	}
	value := c.Value
	if len(c.Values) > 0 {
		value = strings.Join(c.Values, ", ")
	}
	return subject + " " + t("rule_builder.op."+c.Op) + " " + value
}
