// Package dateformat holds the date formats and time zones an account may
// choose and renders times in them, so the account rules and every page agree.
package dateformat

import (
	"slices"
	"strings"
	"time"

	// The zone database travels in the binary, so a zone name validates
	// and renders the same on a minimal container as on a full host.
	_ "time/tzdata"
)

// The formats an account may choose.
const (
	MonthFirst = "MM/DD/YYYY"
	DayFirst   = "DD/MM/YYYY"
	YearFirst  = "YYYY/MM/DD" // how Japan writes dates
	ISO        = "YYYY-MM-DD" // ISO 8601
)

var layouts = map[string]string{
	MonthFirst: "01/02/2006",
	DayFirst:   "02/01/2006",
	YearFirst:  "2006/01/02",
	ISO:        "2006-01-02",
}

// All lists the formats in the order forms offer them.
func All() []string { return []string{MonthFirst, DayFirst, YearFirst, ISO} }

// Valid reports whether format is one an account may choose.
func Valid(format string) bool { return slices.Contains(All(), format) }

// ForLanguage is the format an account gets when it names none: English
// speakers read month first, Japanese year first, French day first.
func ForLanguage(lang string) string {
	switch lang {
	case "en":
		return MonthFirst
	case "ja":
		return YearFirst
	}
	return DayFirst
}

// ValidZone reports whether name is an IANA time zone name an account may
// choose. "Local" is refused: it names the server's zone, not the user's.
func ValidZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, " \\") {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// location is the zone times are shown in: the account's, or UTC while it
// has none (or one this build no longer knows).
func location(zone string) *time.Location {
	if zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return time.UTC
	}
	return loc
}

// Date shows t in format, in the account's zone; an unknown format reads
// month first rather than failing a page.
func Date(t time.Time, format, zone string) string {
	if t.IsZero() {
		return ""
	}
	layout, ok := layouts[format]
	if !ok {
		layout = layouts[MonthFirst]
	}
	return t.In(location(zone)).Format(layout)
}

// Time shows t as a date in format followed by the hour, the minute and
// the zone, so a reader never has to guess which clock a time follows.
func Time(t time.Time, format, zone string) string {
	if t.IsZero() {
		return ""
	}
	loc := location(zone)
	abbr := t.In(loc).Format("MST")
	if strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-") {
		// Zones without a common abbreviation print an offset: say so.
		abbr = "UTC" + abbr
	}
	return Date(t, format, zone) + " " + t.In(loc).Format("15:04") + " " + abbr
}

// SuggestedZones are offered as a list beside the free zone field; any
// other IANA name is accepted too.
func SuggestedZones() []string {
	return []string{
		"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels",
		"Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Warsaw", "Europe/Athens",
		"Africa/Casablanca", "Africa/Johannesburg", "America/New_York", "America/Chicago", "America/Denver",
		"America/Los_Angeles", "America/Toronto", "America/Montreal", "America/Sao_Paulo", "America/Mexico_City",
		"Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Seoul", "Asia/Tokyo",
		"Australia/Sydney", "Pacific/Auckland", "Indian/Reunion", "America/Martinique", "Pacific/Noumea",
	}
}
