package password

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Length limits. The minimum counts characters, so a passphrase in any
// script is judged fairly; the maximum counts bytes and only bounds the
// work one hash may cost. Nothing is ever truncated.
const (
	MinLength       = 12
	MaxBytes        = 1024
	GeneratedLength = 20
)

// Policy error codes, stable for the API and the pages.
const (
	CodeTooShort    = "too_short"
	CodeTooLong     = "too_long"
	CodeCommon      = "common"
	CodeEqualsEmail = "equals_email"
)

// PolicyError says why a password was refused, in words a user can act on.
type PolicyError struct {
	Code    string
	Message string
}

func (e *PolicyError) Error() string { return e.Message }

// PolicyCode is Code, for callers that know the refusal by its behaviour
// rather than by this package's type.
func (e *PolicyError) PolicyCode() string { return e.Code }

//go:generate sh -c "go run gen_common.go > common.txt"
//go:embed common.txt
var commonText string

// commonSet is built on first use: a read-only index of commonText, so it
// is derived data rather than mutable state.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 6000)
	for _, line := range strings.Split(commonText, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// CheckPolicy is the package's CheckPolicy, so a Hasher is all an account
// service needs of passwords.
func (h *Hasher) CheckPolicy(pw, email string) error { return CheckPolicy(pw, email) }

// CheckPolicy returns a *PolicyError when pw may not be used by the
// account with this email, nil when it may. There are no composition rules:
// length and not being an obvious guess are what make a password strong.
func CheckPolicy(pw, email string) error {
	if n := utf8.RuneCountInString(pw); n < MinLength {
		return &PolicyError{Code: CodeTooShort, Message: fmt.Sprintf("the password must be at least %d characters long", MinLength)}
	}
	if len(pw) > MaxBytes {
		return &PolicyError{Code: CodeTooLong, Message: fmt.Sprintf("the password must be at most %d bytes long", MaxBytes)}
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(pw), strings.TrimSpace(email)) {
		return &PolicyError{Code: CodeEqualsEmail, Message: "the password must not be your email address"}
	}
	if isCommon(pw) {
		return &PolicyError{Code: CodeCommon, Message: "this password is too common and easy to guess; choose another"}
	}
	return nil
}

func isCommon(pw string) bool {
	lower := strings.ToLower(pw)
	if _, ok := commonSet()[lower]; ok {
		return true
	}
	// One character repeated ("aaaaaaaaaaaaaa") is a guess at any length.
	first, _ := utf8.DecodeRuneInString(lower)
	return strings.Trim(lower, string(first)) == ""
}

// generatedAlphabet leaves out characters people misread when copying a
// password from a terminal (0/O, 1/l/I).
const generatedAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// Generate returns a random GeneratedLength-character password (about 116 bits)
// drawn uniformly from rand, for the CLI to print once.
func Generate(rand io.Reader) (string, error) {
	const n = len(generatedAlphabet)
	// Bytes at or above limit are rejected so every character is equally likely.
	const limit = 256 - 256%n
	var b strings.Builder
	buf := make([]byte, 32)
	for b.Len() < GeneratedLength {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return "", fmt.Errorf("password: generating: %w", err)
		}
		for _, c := range buf {
			if int(c) < limit && b.Len() < GeneratedLength {
				b.WriteByte(generatedAlphabet[int(c)%n])
			}
		}
	}
	pw := b.String()
	if err := CheckPolicy(pw, ""); err != nil {
		// Only a broken reader (all the same byte) gets here.
		return "", fmt.Errorf("password: generated password refused: %w", err)
	}
	return pw, nil
}
