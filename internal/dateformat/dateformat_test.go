package dateformat

import (
	"testing"
	"time"
)

func TestFormatDate(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ format, zone, date, full string }{
		{"MM/DD/YYYY", "", "03/14/2026", "03/14/2026 08:26 UTC"},
		{"DD/MM/YYYY", "", "14/03/2026", "14/03/2026 08:26 UTC"},
		{"YYYY/MM/DD", "", "2026/03/14", "2026/03/14 08:26 UTC"},
		{"YYYY-MM-DD", "", "2026-03-14", "2026-03-14 08:26 UTC"},
		{"", "", "03/14/2026", "03/14/2026 08:26 UTC"},         // unknown: the default
		{"YY.MM.DD", "", "03/14/2026", "03/14/2026 08:26 UTC"}, // unknown: the default
		{"YYYY/MM/DD", "Asia/Tokyo", "2026/03/14", "2026/03/14 17:26 JST"},
		{"DD/MM/YYYY", "Europe/Paris", "14/03/2026", "14/03/2026 09:26 CET"},
		{"MM/DD/YYYY", "America/Los_Angeles", "03/14/2026", "03/14/2026 01:26 PDT"},
		{"YYYY-MM-DD", "America/Sao_Paulo", "2026-03-14", "2026-03-14 05:26 UTC-03"},
		{"YYYY-MM-DD", "Pacific/Kiritimati", "2026-03-14", "2026-03-14 22:26 UTC+14"},
		{"MM/DD/YYYY", "Nowhere/City", "03/14/2026", "03/14/2026 08:26 UTC"}, // unknown zone: UTC
		{"MM/DD/YYYY", "Local", "03/14/2026", "03/14/2026 08:26 UTC"},        // never the server's zone
	} {
		if got := Date(at, tc.format, tc.zone); got != tc.date {
			t.Errorf("Date(%q, %q) = %q, want %q", tc.format, tc.zone, got, tc.date)
		}
		if got := Time(at, tc.format, tc.zone); got != tc.full {
			t.Errorf("Time(%q, %q) = %q, want %q", tc.format, tc.zone, got, tc.full)
		}
	}
	// The date is the one of the zone: 23:30 UTC is already tomorrow in Tokyo.
	late := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
	if got := Date(late, ISO, "Asia/Tokyo"); got != "2026-03-15" {
		t.Errorf("Date in Tokyo = %q, want 2026-03-15", got)
	}
	if Date(time.Time{}, "DD/MM/YYYY", "Asia/Tokyo") != "" || Time(time.Time{}, "", "") != "" {
		t.Error("a zero time must show as empty")
	}
}

func TestChoices(t *testing.T) {
	if ForLanguage("en") != MonthFirst || ForLanguage("fr") != DayFirst || ForLanguage("ja") != YearFirst {
		t.Error("default format by language changed")
	}
	for _, f := range []string{MonthFirst, DayFirst, YearFirst, ISO} {
		if !Valid(f) {
			t.Errorf("Valid(%q) = false", f)
		}
	}
	if Valid("YYYY.MM.DD") || Valid("") || Valid("yyyy-mm-dd") {
		t.Error("Valid accepts the wrong formats")
	}
	all := All()
	all[0] = "changed"
	if All()[0] != MonthFirst {
		t.Error("All must hand out a fresh list")
	}
}

func TestValidZone(t *testing.T) {
	for _, z := range []string{"Europe/Paris", "Asia/Tokyo", "America/Argentina/Buenos_Aires", "UTC"} {
		if !ValidZone(z) {
			t.Errorf("ValidZone(%q) = false", z)
		}
	}
	for _, z := range []string{"", "Local", "Europe/Nowhere", "../../etc/passwd", "Europe/Paris ", "/etc/localtime", "Europe\\Paris"} {
		if ValidZone(z) {
			t.Errorf("ValidZone(%q) = true", z)
		}
	}
}
