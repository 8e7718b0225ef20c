package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	// The zone database is embedded so that a schedule means the same thing on
	// every host, including scratch containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// javaShortID maps the three-letter zone ids Chronos users write in
// scheduleTimeZone (its docs use "PST") to the regions Joda-Time and
// java.time give them (java.time.ZoneId.SHORT_IDS); Go's database has no
// "PST", so the mapping is done here. EST, MST and HST are in Go's database
// as the fixed offsets Java also uses, so they need no entry.
func javaShortID(name string) (string, bool) {
	switch name {
	case "ACT":
		return "Australia/Darwin", true
	case "AET":
		return "Australia/Sydney", true
	case "AGT":
		return "America/Argentina/Buenos_Aires", true
	case "ART":
		return "Africa/Cairo", true
	case "AST":
		return "America/Anchorage", true
	case "BET":
		return "America/Sao_Paulo", true
	case "BST":
		return "Asia/Dhaka", true
	case "CAT":
		return "Africa/Harare", true
	case "CNT":
		return "America/St_Johns", true
	case "CST":
		return "America/Chicago", true
	case "CTT":
		return "Asia/Shanghai", true
	case "EAT":
		return "Africa/Addis_Ababa", true
	case "ECT":
		return "Europe/Paris", true
	case "IET":
		return "America/Indiana/Indianapolis", true
	case "IST":
		return "Asia/Kolkata", true
	case "JST":
		return "Asia/Tokyo", true
	case "MIT":
		return "Pacific/Apia", true
	case "NET":
		return "Asia/Yerevan", true
	case "NST":
		return "Pacific/Auckland", true
	case "PLT":
		return "Asia/Karachi", true
	case "PNT":
		return "America/Phoenix", true
	case "PRT":
		return "America/Puerto_Rico", true
	case "PST":
		return "America/Los_Angeles", true
	case "SST":
		return "Pacific/Guadalcanal", true
	case "VST":
		return "Asia/Ho_Chi_Minh", true
	}
	return "", false
}

// LoadZone resolves a scheduleTimeZone value: an IANA name
// ("Europe/Berlin"), one of Java's short ids ("PST"), "UTC", or a fixed offset
// ("+05:30", "-08", "GMT+05:30"). The empty string is UTC.
func LoadZone(name string) (*time.Location, error) {
	switch {
	case name == "" || name == "UTC" || name == "Z":
		return time.UTC, nil
	case name == "Local":
		// The host's zone would make the same manifest mean different
		// things on different servers.
		return nil, fmt.Errorf("time zone %q is not allowed: name the zone, e.g. Europe/Berlin", name)
	case name[0] == '+' || name[0] == '-',
		// Java's custom ids, which Chronos accepts through TimeZone.getTimeZone.
		len(name) > 3 && (strings.HasPrefix(name, "GMT") || strings.HasPrefix(name, "UTC")) && (name[3] == '+' || name[3] == '-'):
		off, err := parseOffset(strings.TrimPrefix(strings.TrimPrefix(name, "GMT"), "UTC"))
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", name, err)
		}
		return time.FixedZone(name, off), nil
	}
	if long, ok := javaShortID(name); ok {
		name = long
	}
	// LoadLocation also accepts file-system-like names; refuse anything that
	// could not be a zone id before it gets there.
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("/_-+", r)) {
			return nil, unknownZone(name)
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, unknownZone(name)
	}
	return loc, nil
}

func unknownZone(name string) error {
	return fmt.Errorf("unknown time zone %q: use an IANA name such as America/Los_Angeles or Europe/Berlin, a short id such as PST, or an offset such as +01:00", name)
}

// parseOffset reads ±hh, ±hhmm or ±hh:mm and returns seconds east of UTC.
func parseOffset(s string) (int, error) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	rest := s[1:]
	var hh, mm string
	switch {
	case len(rest) == 2:
		hh = rest
	case len(rest) == 4:
		hh, mm = rest[:2], rest[2:]
	case len(rest) == 5 && rest[2] == ':':
		hh, mm = rest[:2], rest[3:]
	default:
		return 0, fmt.Errorf("offset must be ±hh, ±hhmm or ±hh:mm")
	}
	h, err := twoDigits(hh)
	if err != nil || h > 18 {
		return 0, fmt.Errorf("offset hours must be 00-18")
	}
	m := 0
	if mm != "" {
		m, err = twoDigits(mm)
		if err != nil || m > 59 {
			return 0, fmt.Errorf("offset minutes must be 00-59")
		}
	}
	return sign * (h*3600 + m*60), nil
}

func twoDigits(s string) (int, error) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, fmt.Errorf("%q is not two digits", s)
	}
	return strconv.Atoi(s)
}

// wallOf returns t's wall clock in its own location, as a UTC time: calendar
// arithmetic on it never meets a DST transition.
func wallOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

func offsetOf(t time.Time) int {
	_, off := t.Zone()
	return off
}

// resolve turns a wall-clock time (held as UTC) into an instant in loc the
// way Joda-Time does: a wall time that occurs twice (clocks going back) takes
// the earlier offset, and one that does not exist (clocks going forward) is
// moved forward by the length of the gap, which is what reading it with the
// offset in force before the gap gives.
func resolve(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	guess := time.Date(y, mo, d, h, mi, s, wall.Nanosecond(), loc)
	start, end := guess.ZoneBounds()
	// Away from any transition (offsets differ by less than a day) the
	// wall time exists exactly once and time.Date found it.
	const far = 26 * time.Hour
	if (start.IsZero() || guess.Sub(start) > far) && (end.IsZero() || end.Sub(guess) > far) {
		return guess
	}
	offs := [3]int{offsetOf(guess)}
	n := 1
	if !start.IsZero() {
		offs[n] = offsetOf(start.Add(-time.Nanosecond))
		n++
	}
	if !end.IsZero() {
		offs[n] = offsetOf(end)
		n++
	}
	var best time.Time
	found := false
	for _, o := range offs[:n] {
		t := wall.Add(-time.Duration(o) * time.Second).In(loc)
		if offsetOf(t) == o && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	if found {
		return best
	}
	for _, o := range offs[:n] {
		t := wall.Add(-time.Duration(o) * time.Second).In(loc)
		if wallOf(t).After(wall) && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	if found {
		return best
	}
	return guess
}
