package device_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/device"
	"github.com/gatehouse/gatehouse/internal/i18n"
)

func TestParse(t *testing.T) {
	cases := []struct {
		ua   string
		want device.Device
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			device.Device{Browser: "Chrome", OS: "Windows"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
			device.Device{Browser: "Edge", OS: "Windows"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			device.Device{Browser: "Firefox", OS: "Windows"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			device.Device{Browser: "Safari", OS: "MacOS"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			device.Device{Browser: "Safari", OS: "iOS"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			device.Device{Browser: "Chrome", OS: "Android"}},
		// What the browser tests' headless Chromium sends.
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36",
			device.Device{Browser: "Chrome", OS: "Linux"}},
		{"", device.Device{}},
		{"curl/8.5.0", device.Device{}},
		// Unknown text is never echoed back as a name.
		{"<script>alert(1)</script>", device.Device{}},
		{"Evil Browser/1.0 (EvilOS)", device.Device{}},
	}
	for _, c := range cases {
		if got := device.Parse(c.ua); got != c.want {
			t.Errorf("Parse(%.60q) = %+v, want %+v", c.ua, got, c.want)
		}
		if got := device.Parse(c.ua).Known(); got != (c.want != device.Device{}) {
			t.Errorf("Parse(%.60q).Known() = %v", c.ua, got)
		}
	}
}

// A header longer than the session layer stores is cut, not refused.
func TestParseLong(t *testing.T) {
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 " + strings.Repeat("x", 10000)
	if got := device.Parse(ua); got.OS != "Windows" {
		t.Fatalf("Parse(long) = %+v", got)
	}
}

// Pages are rendered concurrently: the shared parser must allow it.
func TestParseConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if d := device.Parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"); d.Browser != "Firefox" {
					t.Errorf("Parse = %+v", d)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	f.Add("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36")
	f.Add("((((;;;")
	f.Fuzz(func(t *testing.T, ua string) {
		d := device.Parse(ua)
		// Only the parser's own names come out: short words, never markup
		// or other pieces of the input.
		for _, name := range []string{d.Browser, d.OS} {
			if len(name) > 20 || strings.ContainsFunc(name, func(r rune) bool { return !(r == ' ' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
				t.Fatalf("Parse(%q) = %+v", ua, d)
			}
		}
	})
}

func TestLabel(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	devices := []struct {
		lang string
		d    device.Device
		want string
	}{
		{"en", device.Device{Browser: "Firefox", OS: "Windows"}, "Firefox on Windows"},
		{"fr", device.Device{Browser: "Firefox", OS: "Windows"}, "Firefox sur Windows"},
		{"ja", device.Device{Browser: "Firefox", OS: "Windows"}, "Windows の Firefox"},
		{"en", device.Device{Browser: "Safari"}, "Safari"},
		{"en", device.Device{OS: "Linux"}, "Linux"},
		{"en", device.Device{}, "Unknown device"},
		{"fr", device.Device{}, "Appareil inconnu"},
		{"ja", device.Device{}, "不明なデバイス"},
	}
	for _, c := range devices {
		tr := func(key string) string { return cat.T(c.lang, key) }
		if got := device.Label(tr, c.d); got != c.want {
			t.Errorf("Label(%s, %+v) = %q, want %q", c.lang, c.d, got, c.want)
		}
	}
}
