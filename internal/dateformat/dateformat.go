// Package dateformat holds the date formats an account may choose and
// renders times in them, so the account rules and every page agree.
package dateformat

import (
	"slices"
	"time"
)

// The formats an account may choose.
const (
	MonthFirst = "MM/DD/YYYY"
	DayFirst   = "DD/MM/YYYY"
)

var layouts = map[string]string{
	MonthFirst: "01/02/2006",
	DayFirst:   "02/01/2006",
}

// All lists the formats in the order forms offer them.
func All() []string { return []string{MonthFirst, DayFirst} }

// Valid reports whether format is one an account may choose.
func Valid(format string) bool { return slices.Contains(All(), format) }

// ForLanguage is the format an account gets when it names none: English
// speakers read month first, the other languages day first.
func ForLanguage(lang string) string {
	if lang == "en" {
		return MonthFirst
	}
	return DayFirst
}

// Date shows t (in UTC, as stored) in format; an unknown format reads
// month first rather than failing a page.
func Date(t time.Time, format string) string {
	if t.IsZero() {
		return ""
	}
	layout, ok := layouts[format]
	if !ok {
		layout = layouts[MonthFirst]
	}
	return t.UTC().Format(layout)
}

// Time shows t as a date in format followed by the UTC hour and minute.
func Time(t time.Time, format string) string {
	if t.IsZero() {
		return ""
	}
	return Date(t, format) + " " + t.UTC().Format("15:04") + " UTC"
}
