package panel

import (
	"testing"
	"time"
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
