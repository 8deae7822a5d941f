package panel

import (
	"bytes"
	"image/png"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

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
