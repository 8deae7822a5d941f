// Package jsonerr says in plain words what is wrong with a JSON value that
// did not decode, for messages shown to API callers: encoding/json's own
// errors name Go types ("rules.Condition") and struct fields, which are
// nobody's business outside the code.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Describe returns what is wrong, without Go type names and without
// echoing the input: a wrong type names the JSON field (its path, as
// "all.0.op" reads) and the kind of value expected.
func Describe(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		want := kind(ute.Type)
		if ute.Field == "" {
			return "the value must be " + want
		}
		return fmt.Sprintf("field %q must be %s", ute.Field, want)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	// encoding/json has no type for these two; their text names only
	// what the client sent.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + name
	}
	return "malformed JSON"
}

// kind names a Go type by the JSON value that decodes into it.
func kind(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, not negative"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "of another type"
}
