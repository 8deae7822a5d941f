package panel

import (
	"bytes"
	"image/png"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestFormatDate(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ format, date, full string }{
		{"MM/DD/YYYY", "03/14/2026", "03/14/2026 08:26 UTC"},
		{"DD/MM/YYYY", "14/03/2026", "14/03/2026 08:26 UTC"},
		{"", "03/14/2026", "03/14/2026 08:26 UTC"}, // unknown: the default
	} {
		if got := formatDate(at, tc.format); got != tc.date {
			t.Errorf("formatDate(%q) = %q, want %q", tc.format, got, tc.date)
		}
		if got := formatTime(at, tc.format); got != tc.full {
			t.Errorf("formatTime(%q) = %q, want %q", tc.format, got, tc.full)
		}
	}
	if formatDate(time.Time{}, "DD/MM/YYYY") != "" || formatTime(time.Time{}, "") != "" {
		t.Error("a zero time must show as empty")
	}
}

func TestQRPNG(t *testing.T) {
	const link = "https://gate.example.com/.gatehouse/enrol?token=abcdefghijklmnopqrstuvwxyz234567"
	b, err := qrPNG(link)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != r.Dy() || r.Dx() < 100 {
		t.Errorf("QR image bounds %v", r)
	}
}

func TestPropertyHelpers(t *testing.T) {
	if got := lines(" Toulouse \r\n\r\nLyon\n"); !slices.Equal(got, []string{"Toulouse", "Lyon"}) {
		t.Errorf("lines = %q", got)
	}
	d := store.PropertyDef{Key: "site", Labels: map[string]string{"en": "Site", "ja": "拠点"}}
	for lang, want := range map[string]string{"ja": "拠点", "fr": "Site", "en": "Site"} {
		if got := label(d, lang); got != want {
			t.Errorf("label(%s) = %q, want %q", lang, got, want)
		}
	}
	if got := label(store.PropertyDef{Key: "k"}, "fr"); got != "k" {
		t.Errorf("label without labels = %q, want the key", got)
	}
	for _, tc := range []struct {
		in   any
		want []string
	}{
		{"Toulouse", []string{"Toulouse"}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]any{"a", 1, "b"}, []string{"a", "b"}},
		{nil, nil},
	} {
		if got := valueStrings(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("valueStrings(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
