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

func TestLocalize(t *testing.T) {
	p := New("emails[0]", "invalid", "%q is not a valid email address", "x")
	if p.Message != `"x" is not a valid email address` {
		t.Fatalf("Message = %q", p.Message)
	}
	fr := map[string]string{MessageKey("%q is not a valid email address"): "%q n’est pas une adresse e-mail valide"}
	tr := func(k string) (string, bool) { v, ok := fr[k]; return v, ok }
	if got := p.Localize(tr); got != `"x" n’est pas une adresse e-mail valide` {
		t.Errorf("Localize = %q", got)
	}
	other := New("x", "invalid", "untranslated %d", 3)
	if got := other.Localize(tr); got != "untranslated 3" {
		t.Errorf("an untranslated problem must keep its English message, got %q", got)
	}
	if got := (Problem{Message: "bare"}).Localize(tr); got != "bare" {
		t.Errorf("a problem without a format keeps its message, got %q", got)
	}
}

func TestProblems(t *testing.T) {
	var ps Problems
	if ps.Err() != nil {
		t.Fatal("no problems must be no error")
	}
	ps.Add("name", "too_long", "at most %d characters", 100)
	ps.Add("email", "required", "an email is required")
	var ve *Error
	if !errors.As(ps.Err(), &ve) || len(ve.Problems) != 2 {
		t.Fatalf("Err() = %v, want both problems", ps.Err())
	}
	if got := ve.Problems[0]; got.Field != "name" || got.Code != "too_long" || got.Message != "at most 100 characters" || got.Format != "at most %d characters" {
		t.Errorf("first problem = %+v", got)
	}
	if got := One("expires_at", "invalid", "in the past").Error(); got != "expires_at: in the past" {
		t.Errorf("One(...) = %q", got)
	}
}
