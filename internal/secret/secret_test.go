package secret

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lookup := EnvLookup([]string{"DB_PASS=s3cret", "EMPTY=", "DUP=first", "DUP=second"})
	cases := []struct {
		secret Value
		want   string
	}{
		{"literal-value", "literal-value"},
		{"", ""},
		{"env:DB_PASS", "s3cret"},
		{"env:EMPTY", ""},
		{"env:DUP", "second"},
		{Value("file:" + write("nl", "from-file\n")), "from-file"},
		{Value("file:" + write("crlf", "from-file\r\n")), "from-file"},
		{Value("file:" + write("two", "from-file\n\n")), "from-file\n"},
		{Value("file:" + write("none", "from-file")), "from-file"},
	}
	for _, c := range cases {
		got, err := c.secret.Resolve(lookup)
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", string(c.secret), got, err, c.want)
		}
	}
	if _, err := Value("env:NOT_SET").Resolve(lookup); !errors.Is(err, ErrUnset) {
		t.Errorf("unset env: err = %v, want ErrUnset", err)
	}
	if _, err := Value("file:" + filepath.Join(dir, "missing")).Resolve(lookup); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}
