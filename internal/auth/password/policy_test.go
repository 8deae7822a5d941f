package password

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		pw, email, code string
	}{
		{"short", "", CodeTooShort},
		{"elevenchars", "", CodeTooShort},
		{"été été été", "", CodeTooShort}, // 11 runes, 14 bytes: runes count
		{"twelve chars", "", ""},
		{"ééééééééééé€", "", ""},
		{strings.Repeat("ab", 32), "", ""},                 // 64 characters are accepted
		{strings.Repeat("x1", 512), "", ""},                // exactly 1024 bytes
		{strings.Repeat("x1", 512) + "z", "", CodeTooLong}, // 1025 bytes
		{"Password1234", "", CodeCommon},
		{"PASSWORD1234", "", CodeCommon},
		{"iloveyou2024", "", CodeCommon},
		{"qwertyuiop123", "", CodeCommon},
		{"aaaaaaaaaaaaaaaa", "", CodeCommon},
		{"ada@example.com", "Ada@Example.com", CodeEqualsEmail},
		{"ada@example.com", "bob@example.com", ""},
		{"just some words here", "", ""},
	}
	for _, tt := range tests {
		err := CheckPolicy(tt.pw, tt.email)
		if tt.code == "" {
			if err != nil {
				t.Errorf("CheckPolicy(%q) = %v; want nil", tt.pw, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Code != tt.code || pe.Message == "" {
			t.Errorf("CheckPolicy(%q, %q) = %v; want code %s with a message", tt.pw, tt.email, err, tt.code)
		}
	}
}

func TestCommonListLoaded(t *testing.T) {
	n := len(commonSet())
	if n < 2000 {
		t.Fatalf("common list has %d entries; want a few thousand", n)
	}
	for s := range commonSet() {
		if s != strings.ToLower(s) || utf8.RuneCountInString(s) < MinLength {
			t.Fatalf("entry %q is not lower case or is shorter than the minimum", s)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	r := mrand.NewChaCha8([32]byte{1}) // deterministic, yet not periodic
	for range 50 {
		pw, err := Generate(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != GeneratedLength || CheckPolicy(pw, "") != nil {
			t.Fatalf("generated %q does not pass the policy", pw)
		}
		for _, c := range pw {
			if !strings.ContainsRune(generatedAlphabet, c) {
				t.Fatalf("generated %q has %q outside the alphabet", pw, c)
			}
		}
		if seen[pw] {
			t.Fatalf("generated %q twice", pw)
		}
		seen[pw] = true
	}
	if _, err := Generate(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Fatal("Generate with a short reader succeeded")
	}
	if _, err := Generate(bytes.NewReader(bytes.Repeat([]byte{7}, 64))); err == nil {
		t.Fatal("Generate accepted a password of one repeated character")
	}
}
