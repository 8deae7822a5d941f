package account

import (
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns prefix + 16 random bytes from rnd in lower-case base32:
// opaque, never derived from what it names, so it is stable and never
// reused. Accounts, sites and access rules are all named this way.
func NewID(rnd io.Reader, prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("account: generating id: %w", err)
	}
	return prefix + strings.ToLower(idEncoding.EncodeToString(b)), nil
}
