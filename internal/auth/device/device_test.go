package device_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/device"
	"github.com/gatehouse/gatehouse/internal/clocktest"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func issue(t testing.TB, c *device.Cookies, login string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := c.Issue(w, login); err != nil {
		t.Fatal(err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Issue set %d cookies", len(cs))
	}
	return cs[0]
}

func with(ck *http.Cookie) *http.Request {
	r := httptest.NewRequest("POST", "/.gatehouse/login", nil)
	r.AddCookie(ck)
	return r
}

func TestCookieNamesTheDeviceForItsLoginOnly(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := device.New(key, true, 24*time.Hour, rand.Reader, clock.Now)
	ck := issue(t, c, "Ada@Example.com")
	if ck.Name != "__Host-gatehouse_device" || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.MaxAge != 86400 {
		t.Fatalf("cookie %+v: want __Host-gatehouse_device, Secure, HttpOnly, Path=/, a day", ck)
	}
	id := c.ID(with(ck), " ada@example.COM ")
	if id == "" {
		t.Fatal("a fresh cookie is not recognised for its login")
	}
	if again := issue(t, c, "ada@example.com"); c.ID(with(again), "ada@example.com") == id {
		t.Fatal("two cookies name the same device")
	}
	if c.ID(with(ck), "bob@example.com") != "" {
		t.Fatal("a cookie for ada names a device for bob")
	}
	if device.New([]byte("another key......................"), true, 0, rand.Reader, clock.Now).ID(with(ck), "ada@example.com") != "" {
		t.Fatal("a cookie verifies under another key")
	}
	clock.Add(24*time.Hour + time.Second)
	if c.ID(with(ck), "ada@example.com") != "" {
		t.Fatal("a cookie past its TTL is still honoured")
	}
}

func TestTamperedCookiesAreRefused(t *testing.T) {
	c := device.New(key, false, 0, rand.Reader, time.Now)
	ck := issue(t, c, "ada@example.com")
	if ck.Name != "gatehouse_device" {
		t.Fatalf("cookie name on http = %q", ck.Name)
	}
	parts := strings.Split(ck.Value, ".")
	bob := issue(t, c, "bob@example.com")
	swapped := strings.Split(bob.Value, ".")
	for name, v := range map[string]string{
		"login swapped":  strings.Join([]string{parts[0], swapped[1], parts[2], parts[3], parts[4]}, "."),
		"nonce swapped":  strings.Join([]string{parts[0], parts[1], swapped[2], parts[3], parts[4]}, "."),
		"version":        "d2" + ck.Value[2:],
		"no mac":         strings.Join(parts[:4], "."),
		"empty":          "",
		"too long":       ck.Value + strings.Repeat("A", 800),
		"mac of another": strings.Join(append(parts[:4:4], swapped[4]), "."),
	} {
		if c.ID(with(&http.Cookie{Name: ck.Name, Value: v}), "ada@example.com") != "" {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzID(f *testing.F) {
	c := device.New(key, false, 0, rand.Reader, time.Now)
	f.Add(issue(f, c, "ada@example.com").Value, "ada@example.com")
	f.Add("d1....", "")
	f.Add("d1.YWRh.AAAA.AAAAAAAAAAA.AAAA", "ada")
	f.Fuzz(func(t *testing.T, value, login string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "gatehouse_device="+value)
		// Nothing but a cookie this key issued may name a device; a
		// random value never should.
		if id := c.ID(r, login); id != "" && !strings.HasPrefix(value, "d1.") {
			t.Fatalf("ID(%q, %q) = %q", value, login, id)
		}
	})
}
