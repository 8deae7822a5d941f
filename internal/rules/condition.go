// Package rules owns account properties and access rules: it validates
// definitions, values and rules, and evaluates which grants an account holds.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/jsonerr"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// Comparison operators of a condition leaf.
const (
	OpEquals      = "equals"       // the value is (or, for a list, contains) Value
	OpIn          = "in"           // the value is (or contains) one of Values
	OpHasRelation = "has_relation" // a relation property links to the object Value
)

// Limits that keep a rule cheap to evaluate and to store.
const (
	maxDepth  = 6
	maxLeaves = 64
	maxValues = 200
)

// Condition is the JSON condition of an access rule. A node is exactly one
// of: a group (All or Any, non-empty), or a leaf comparing one property
// (Property) or the account's role (Role: true) with Op and Value/Values.
//
//	{"all": [{"property": "site", "op": "equals", "value": "Toulouse"},
//	         {"role": true, "op": "in", "values": ["manager", "admin"]}]}
type Condition struct {
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
	Property string      `json:"property,omitempty"`
	Role     bool        `json:"role,omitempty"`
	Op       string      `json:"op,omitempty"`
	Value    string      `json:"value,omitempty"`
	Values   []string    `json:"values,omitempty"`
}

// ParseCondition decodes a stored or submitted condition strictly. Its
// error says what is wrong in plain words, fit to show an API caller.
func ParseCondition(data []byte) (Condition, error) {
	var c Condition
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Condition{}, errors.New(jsonerr.Describe(err))
	}
	if dec.More() {
		return Condition{}, errors.New("trailing data after the condition")
	}
	return c, nil
}

// Facts are what a condition is evaluated against.
type Facts struct {
	Role   string
	Values map[string][]string // property key -> values
}

// Match reports whether the condition holds, and records in matched the
// values each satisfied leaf matched on (key "role" for the role), for
// explanations. matched may be nil.
func (c Condition) Match(f Facts, matched map[string][]string) bool {
	switch {
	case len(c.All) > 0:
		for _, sub := range c.All {
			if !sub.Match(f, matched) {
				return false
			}
		}
		return true
	case len(c.Any) > 0:
		hit := false
		for _, sub := range c.Any {
			// Every branch runs so an explanation shows each that held.
			if sub.Match(f, matched) {
				hit = true
			}
		}
		return hit
	}
	var have []string
	key := c.Property
	if c.Role {
		key = "role"
		if f.Role != "" {
			have = []string{f.Role}
		}
	} else {
		have = f.Values[c.Property]
	}
	want := c.Values
	if c.Op != OpIn {
		want = []string{c.Value}
	}
	var hits []string
	for _, v := range have {
		if slices.Contains(want, v) {
			hits = append(hits, v)
		}
	}
	if len(hits) == 0 {
		return false
	}
	if matched != nil {
		for _, h := range hits {
			if !slices.Contains(matched[key], h) {
				matched[key] = append(matched[key], h)
			}
		}
	}
	return true
}

// Properties lists the property keys the condition reads.
func (c Condition) Properties() []string {
	var keys []string
	c.walk(func(leaf Condition) {
		if !leaf.Role && leaf.Property != "" && !slices.Contains(keys, leaf.Property) {
			keys = append(keys, leaf.Property)
		}
	})
	return keys
}

// usesChoice reports whether a leaf on key compares with choice.
func (c Condition) usesChoice(key, choice string) bool {
	found := false
	c.walk(func(leaf Condition) {
		if leaf.Role || leaf.Property != key {
			return
		}
		if leaf.Value == choice || slices.Contains(leaf.Values, choice) {
			found = true
		}
	})
	return found
}

func (c Condition) walk(fn func(leaf Condition)) {
	if len(c.All) > 0 || len(c.Any) > 0 {
		for _, sub := range c.All {
			sub.walk(fn)
		}
		for _, sub := range c.Any {
			sub.walk(fn)
		}
		return
	}
	fn(c)
}

// validate checks the condition against the company's definitions and the
// role model, adding a problem per mistake under the field path.
func (c Condition) validate(ps *validation.Problems, field string, defs map[string]store.PropertyDef, roles *account.Model) {
	leaves := 0
	c.check(ps, field, defs, roles, 1, &leaves)
	if leaves > maxLeaves {
		ps.Add(field, "too_long", "a condition has at most %d comparisons", maxLeaves)
	}
}

func (c Condition) check(ps *validation.Problems, field string, defs map[string]store.PropertyDef, roles *account.Model, depth int, leaves *int) {
	if depth > maxDepth {
		ps.Add(field, "too_deep", "conditions nest at most %d levels", maxDepth)
		return
	}
	isLeaf := c.Property != "" || c.Role || c.Op != "" || c.Value != "" || c.Values != nil
	kinds := 0
	for _, b := range []bool{c.All != nil, c.Any != nil, isLeaf} {
		if b {
			kinds++
		}
	}
	if kinds != 1 {
		ps.Add(field, "invalid", `a condition is exactly one of "all", "any" or a comparison`)
		return
	}
	if c.All != nil || c.Any != nil {
		name, subs := "all", c.All
		if c.Any != nil {
			name, subs = "any", c.Any
		}
		if len(subs) == 0 {
			ps.Add(field+"."+name, "required", "a group needs at least one condition")
		}
		for i, sub := range subs {
			sub.check(ps, fmt.Sprintf("%s.%s[%d]", field, name, i), defs, roles, depth+1, leaves)
		}
		return
	}
	*leaves++
	if c.Role && c.Property != "" {
		ps.Add(field, "invalid", `a comparison reads either "property" or "role", not both`)
		return
	}
	if !c.Role && c.Property == "" {
		ps.Add(field+".property", "required", "name the property to compare")
		return
	}
	c.checkOperands(ps, field)
	if c.Role {
		if c.Op == OpHasRelation {
			ps.Add(field+".op", "impossible", "a role is not a relation; use equals or in")
			return
		}
		if roles == nil {
			return
		}
		for i, v := range c.operands() {
			if _, ok := roles.Role(v); !ok {
				ps.Add(operandField(field, c.Op, i), "unknown", "no role %q in the role model", v)
			}
		}
		return
	}
	def, ok := defs[c.Property]
	if !ok {
		ps.Add(field+".property", "unknown", "no property %q in this company", c.Property)
		return
	}
	switch {
	case def.Type == store.PropertyRelation && c.Op != OpHasRelation && c.Op != "":
		ps.Add(field+".op", "impossible", "%q is a relation; compare it with has_relation", def.Key)
	case def.Type != store.PropertyRelation && c.Op == OpHasRelation:
		ps.Add(field+".op", "impossible", "%q is not a relation; use equals or in", def.Key)
	case def.Type == store.PropertyChoice || def.Type == store.PropertyMultiChoice:
		for i, v := range c.operands() {
			if !slices.Contains(def.Choices, v) {
				ps.Add(operandField(field, c.Op, i), "impossible", "%q is not a choice of %q, so it can never match", v, def.Key)
			}
		}
	}
}

func (c Condition) checkOperands(ps *validation.Problems, field string) {
	switch c.Op {
	case OpEquals, OpHasRelation:
		if c.Value == "" {
			ps.Add(field+".value", "required", "%s needs a value", c.Op)
		}
		if c.Values != nil {
			ps.Add(field+".values", "invalid", "%s takes one value; use in for several", c.Op)
		}
	case OpIn:
		if len(c.Values) == 0 {
			ps.Add(field+".values", "required", "in needs at least one value")
		}
		if len(c.Values) > maxValues {
			ps.Add(field+".values", "too_long", "at most %d values", maxValues)
		}
		if c.Value != "" {
			ps.Add(field+".value", "invalid", "in takes values, not value")
		}
	case "":
		ps.Add(field+".op", "required", "choose equals, in or has_relation")
	default:
		ps.Add(field+".op", "invalid", "unknown operator %q; choose equals, in or has_relation", c.Op)
	}
}

func (c Condition) operands() []string {
	if c.Op == OpIn {
		return c.Values
	}
	if c.Value == "" {
		return nil
	}
	return []string{c.Value}
}

func operandField(field, op string, i int) string {
	if op == OpIn {
		return fmt.Sprintf("%s.values[%d]", field, i)
	}
	return field + ".value"
}
