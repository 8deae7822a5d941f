package validation

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	var err error = &Error{Problems: []Problem{
		{Field: "email", Code: "required", Message: "an email is required"},
		{Field: "sites[1]", Code: "unknown", Message: "no such site"},
	}}
	if got, want := err.Error(), "email: an email is required; sites[1]: no such site"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var ve *Error
	if !errors.As(fmt.Errorf("creating: %w", err), &ve) || len(ve.Problems) != 2 {
		t.Error("a wrapped validation error must still be found with errors.As")
	}
}
