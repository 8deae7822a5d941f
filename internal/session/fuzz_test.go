package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fuzzToken is the only token the fuzz manager ever issues, so any other
// token that ReadToken accepts would be a forgery.
var fuzzToken = bytes.Repeat([]byte{0x01}, tokenLen)

// newFuzzManager signs with a fixed key and a very long absolute timeout so
// the committed seed corpus keeps holding a genuine, unexpired cookie.
func newFuzzManager(tb testing.TB) (*Manager, string) {
	tb.Helper()
	rnd := bytes.NewReader(append(append([]byte(nil), fuzzToken...), make([]byte, 16)...))
	clk := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	m, err := NewManager(newFakeStore(), Options{HashKey: bytes.Repeat([]byte("fuzz"), 8), AbsoluteTimeout: 50 * 365 * 24 * time.Hour}, clk, rnd, nil)
	if err != nil {
		tb.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := m.Start(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), StartParams{AccountID: "a"}); err != nil {
		tb.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == m.CookieName() {
			return m, c.Value
		}
	}
	tb.Fatal("no session cookie")
	return nil, ""
}

// FuzzDecodeCookie feeds arbitrary Cookie header lines to the cookie
// reader and the lookup: they must never panic, and must accept nothing
// but the genuine cookie.
func FuzzDecodeCookie(f *testing.F) {
	m, good := newFuzzManager(f)
	name := m.CookieName()
	f.Add(name + "=" + good)
	f.Add("a=b; " + name + "=\"" + good + "\"; c=d")
	f.Add(name + "=" + good[:len(good)-1])
	f.Add(name + "=" + good + "; " + name + "=" + good)
	f.Add(name + "=" + good + "AAAA")
	f.Add(name + "=")
	f.Add(name)
	f.Add(";;;=;" + name + "==")
	f.Add(name + "=MTIzNDU2Nzg5MHx8")
	f.Fuzz(func(t *testing.T, line string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", line)
		token, ok := m.ReadToken(r)
		if ok && !bytes.Equal(token, fuzzToken) {
			t.Fatalf("accepted a forged token %x from %q", token, line)
		}
		s, err := m.Lookup(context.Background(), r)
		switch {
		case err == nil:
			if !ok {
				t.Fatalf("Lookup found session %q for a cookie ReadToken refused: %q", s.ID, line)
			}
		case errors.Is(err, ErrNoSession), errors.Is(err, store.ErrUnavailable):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
