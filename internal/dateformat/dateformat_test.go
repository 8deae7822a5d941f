package dateformat

import (
	"testing"
	"time"
)

func TestFormatDate(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ format, date, full string }{
		{"MM/DD/YYYY", "03/14/2026", "03/14/2026 08:26 UTC"},
		{"DD/MM/YYYY", "14/03/2026", "14/03/2026 08:26 UTC"},
		{"", "03/14/2026", "03/14/2026 08:26 UTC"},           // unknown: the default
		{"YYYY-MM-DD", "03/14/2026", "03/14/2026 08:26 UTC"}, // unknown: the default
	} {
		if got := Date(at, tc.format); got != tc.date {
			t.Errorf("Date(%q) = %q, want %q", tc.format, got, tc.date)
		}
		if got := Time(at, tc.format); got != tc.full {
			t.Errorf("Time(%q) = %q, want %q", tc.format, got, tc.full)
		}
	}
	if Date(time.Time{}, "DD/MM/YYYY") != "" || Time(time.Time{}, "") != "" {
		t.Error("a zero time must show as empty")
	}
}

func TestChoices(t *testing.T) {
	if ForLanguage("en") != MonthFirst || ForLanguage("fr") != DayFirst || ForLanguage("ja") != DayFirst {
		t.Error("default format by language changed")
	}
	if !Valid(MonthFirst) || !Valid(DayFirst) || Valid("YYYY-MM-DD") || Valid("") {
		t.Error("Valid accepts the wrong formats")
	}
	all := All()
	all[0] = "changed"
	if All()[0] != MonthFirst {
		t.Error("All must hand out a fresh list")
	}
}
