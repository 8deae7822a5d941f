package password

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
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

// TestBreachCorpusLoaded: the corpus is the real one, not a sample.
func TestBreachCorpusLoaded(t *testing.T) {
	if n := len(breached()); n < 25000 {
		t.Fatalf("breach corpus has %d entries; want the 30,000 of the zxcvbn passwords list", n)
	}
	for _, pw := range []string{"123456", "password", "qwerty", "dragon", "trustno1", "iloveyou", "letmein"} {
		if _, ok := breached()[pw]; !ok {
			t.Errorf("%q, among the most breached passwords, is not in the corpus", pw)
		}
	}
}

// TestBreachedPasswordsRefused: passwords from breach data, at the
// minimum length or stretched to it the way people do, are refused with
// a message that says why; honest passphrases are not.
func TestBreachedPasswordsRefused(t *testing.T) {
	for _, pw := range []string{
		"1qaz2wsx3edc", "qwertyuiop123", "123456789012", "987654321098", "abcdefghijklmn",
		"Password2024!", "dragon123456", "!!!sunshine!!!", "P@ssw0rd12345", "trustno1trustno1",
		"passwordpassword", "P4ssw0rd!2024", "baseball1986!",
	} {
		var pe *PolicyError
		if err := CheckPolicy(pw, ""); !errors.As(err, &pe) || pe.Code != CodeCommon || !strings.Contains(pe.Message, "breach") {
			t.Errorf("CheckPolicy(%q) = %v; want code %s saying it was breached", pw, err, CodeCommon)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "a fine long passphrase", "tulips in the rain 1987",
		"a brand new passphrase 42", "Zq8#mW2!pL4v"} {
		if err := CheckPolicy(pw, "ada@example.com", "Ada", "Lovelace", "acme"); err != nil {
			t.Errorf("CheckPolicy(%q) = %v; want nil", pw, err)
		}
	}
}

// TestContextWordsRefused: the person's names, the parts of their email,
// their company and the service's name are the first guesses.
func TestContextWordsRefused(t *testing.T) {
	for _, tc := range []struct{ pw, email, first, last, company string }{
		{"lovelace rules 1815", "ada@example.com", "Ada", "Lovelace", ""},
		{"Mr Babbage's friend", "ada@example.com", "Ada", "Lovelace-Babbage", ""},
		{"my gatehouse login", "ada@example.com", "", "", ""},
		{"Gate House rules!", "ada@example.com", "", "", ""},
		{"welcome to initech 7", "peter@example.com", "", "", "Initech"},
		{"xx ada.lovelace xx", "ada.lovelace@example.com", "", "", ""},
	} {
		var pe *PolicyError
		err := CheckPolicy(tc.pw, tc.email, tc.first, tc.last, tc.company)
		if !errors.As(err, &pe) || pe.Code != CodeContext || pe.Message == "" {
			t.Errorf("CheckPolicy(%q, %q, %q %q %q) = %v; want code %s", tc.pw, tc.email, tc.first, tc.last, tc.company, err, CodeContext)
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
