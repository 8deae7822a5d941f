package jsonerr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type leaf struct {
	Op     string   `json:"op"`
	Values []string `json:"values"`
	Count  int      `json:"count"`
	On     bool     `json:"on"`
}

type tree struct {
	All  []tree `json:"all"`
	Leaf *leaf  `json:"leaf"`
}

func TestDescribeNamesNoGoType(t *testing.T) {
	cases := map[string]string{
		`"x"`:                        "the value must be an object",
		`{"all": "x"}`:               `field "all" must be an array`,
		`{"leaf": {"op": 1}}`:        `field "leaf.op" must be a string`,
		`{"leaf": {"count": "one"}}`: `field "leaf.count" must be a whole number`,
		`{"leaf": {"on": "yes"}}`:    `field "leaf.on" must be true or false`,
		`{"leaf": {"values": [1]}}`:  `field "leaf.values" must be a string`,
		`{"nope": 1}`:                `unknown field "nope"`,
		`{"all": [}`:                 "syntax error at byte 10",
		`{"all": [`:                  "the JSON ends too early",
	}
	for in, want := range cases {
		dec := json.NewDecoder(bytes.NewReader([]byte(in)))
		dec.DisallowUnknownFields()
		var v tree
		err := dec.Decode(&v)
		if err == nil {
			t.Fatalf("%s decoded", in)
		}
		got := Describe(err)
		if got != want {
			t.Errorf("Describe(%s) = %q, want %q (from %v)", in, got, want, err)
		}
		if strings.Contains(got, "jsonerr.") || strings.Contains(got, "Go ") || strings.Contains(got, "struct") {
			t.Errorf("Describe(%s) = %q names Go types", in, got)
		}
	}
}
