package password

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
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
	CodeCommon      = "common" // found in breach data, or a repetition or sequence
	CodeEqualsEmail = "equals_email"
	CodeContext     = "context" // holds the person's name, email or the service's name
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

// breached is the corpus NIST SP 800-63B §5.1.1.2 asks new passwords to
// be checked against: the 30,000 most frequent passwords of the Xato
// corpus of ten million passwords exposed in breaches, as the zxcvbn
// project ranked them (github.com/trustelem/zxcvbn, the Go port of
// Dropbox's estimator, ships it). Most entries are shorter than
// MinLength; they matter as the heart of a longer password
// ("Password2024!", "dragon123456"), which isBreached finds.
var breached = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, p := range list {
		set[strings.ToLower(p)] = struct{}{}
	}
	return set
})

// serviceWords are context words of every deployment (NIST's
// "context-specific words, such as the name of the service").
var serviceWords = []string{"gatehouse"}

// minContextWord: shorter names and email parts ("ada", "bob") occur
// inside too many honest passphrases to refuse them.
const minContextWord = 4

// CheckPolicy is the package's CheckPolicy, so a Hasher is all an account
// service needs of passwords.
func (h *Hasher) CheckPolicy(pw, email string, context ...string) error {
	return CheckPolicy(pw, email, context...)
}

// CheckPolicy returns a *PolicyError when pw may not be used by the
// account with this email, nil when it may. context holds more words a
// guesser would try first: the person's names, the company. There are no
// composition rules: length and not being an obvious guess are what make
// a password strong.
func CheckPolicy(pw, email string, context ...string) error {
	if n := utf8.RuneCountInString(pw); n < MinLength {
		return &PolicyError{Code: CodeTooShort, Message: fmt.Sprintf("the password must be at least %d characters long", MinLength)}
	}
	if len(pw) > MaxBytes {
		return &PolicyError{Code: CodeTooLong, Message: fmt.Sprintf("the password must be at most %d bytes long", MaxBytes)}
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(pw), strings.TrimSpace(email)) {
		return &PolicyError{Code: CodeEqualsEmail, Message: "the password must not be your email address"}
	}
	lower := strings.ToLower(pw)
	if isCommon(lower) {
		return &PolicyError{Code: CodeCommon, Message: "this password is too common: it, or the word it is built on, appears in lists of " +
			"passwords exposed in data breaches (or it is a simple repetition or sequence), so attackers try it first; choose another"}
	}
	if w := contextWord(lower, email, context); w != "" {
		return &PolicyError{Code: CodeContext, Message: "the password must not contain your name, your email address, " +
			"your company or the name of this service; choose another"}
	}
	return nil
}

// isCommon reports whether lower (the password in lower case) is in the
// breach corpus, alone or at the heart of decorations (digits and symbols
// before or after it, l33t substitutions, repetition), or is one
// character repeated or a plain sequence ("123456789012", "abcdefghijkl").
func isCommon(lower string) bool {
	if repeatedOrSequence(lower) {
		return true
	}
	set := breached()
	candidates := []string{lower, core(lower)}
	for _, c := range candidates[:2] {
		candidates = append(candidates, unleet(c, '1', 'i'), unleet(c, '1', 'l'))
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) < 4 {
			continue
		}
		if _, ok := set[c]; ok {
			return true
		}
		if u := repeatedUnit(c); u != "" {
			if _, ok := set[u]; ok {
				return true
			}
		}
	}
	return false
}

// core is s without the digits, symbols and spaces around it, which is
// how people stretch a breached word to a length rule.
func core(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
}

// leet maps the substitutions in every cracker's rule set; one is read
// both as i and as l.
var leet = strings.NewReplacer("0", "o", "3", "e", "4", "a", "@", "a", "5", "s", "$", "s", "7", "t", "+", "t", "!", "i")

func unleet(s string, one, as rune) string {
	return strings.ReplaceAll(leet.Replace(s), string(one), string(as))
}

// repeatedUnit returns u when s is u repeated at least twice, else "".
func repeatedUnit(s string) string {
	for n := 1; n <= len(s)/2; n++ {
		if len(s)%n == 0 && strings.Repeat(s[:n], len(s)/n) == s {
			return s[:n]
		}
	}
	return ""
}

// repeatedOrSequence: one character repeated ("aaaaaaaaaaaa"), or
// characters that each step by the same +1 or -1 (digits wrap:
// "890123456789"). A repeated breached word is isCommon's.
func repeatedOrSequence(s string) bool {
	if u := repeatedUnit(s); u != "" && utf8.RuneCountInString(u) == 1 {
		return true
	}
	rs := []rune(s)
	for _, dir := range []rune{1, -1} {
		seq := true
		for i := 1; i < len(rs) && seq; i++ {
			next := rs[i-1] + dir
			if unicode.IsDigit(rs[i-1]) {
				next = '0' + (rs[i-1]-'0'+dir+10)%10
			}
			seq = rs[i] == next
		}
		if seq {
			return true
		}
	}
	return false
}

// contextWord returns the first context word found in lower: the
// email's local part and its pieces, the given words and their pieces,
// and the service's name, each of at least minContextWord characters.
// The email's domain is left out: it is usually a mail provider's, and
// the company, when it matters, is among the given words.
func contextWord(lower, email string, context []string) string {
	notWord := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	var words []string
	email = strings.ToLower(strings.TrimSpace(email))
	if local, _, ok := strings.Cut(email, "@"); ok {
		words = append(words, local)
		words = append(words, strings.FieldsFunc(local, notWord)...)
	}
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		words = append(words, c)
		words = append(words, strings.FieldsFunc(c, notWord)...)
	}
	words = append(words, serviceWords...)
	squashed := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, lower)
	for _, w := range words {
		if utf8.RuneCountInString(w) < minContextWord {
			continue
		}
		if strings.Contains(lower, w) || strings.Contains(squashed, w) {
			return w
		}
	}
	return ""
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
