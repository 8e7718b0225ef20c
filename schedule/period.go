package schedule

import (
	"fmt"
	"strings"
	"time"
)

// maxPeriodField bounds every number in a period so that multiplying it by
// an occurrence index can never overflow; no real schedule comes near it.
const maxPeriodField = 1_000_000_000

const maxClockSeconds = 100 * 366 * 24 * 3600

// period is an ISO 8601 period as Joda-Time's ISOPeriodFormat reads it. The
// calendar parts (years, months, weeks, days) are added to the local wall
// clock; the time parts are elapsed time, as Joda adds them.
type period struct {
	years, months, weeks, days int64
	clock                      time.Duration // hours, minutes, seconds and fractions
}

func (p period) isZero() bool {
	return p.years == 0 && p.months == 0 && p.weeks == 0 && p.days == 0 && p.clock == 0
}

// approx is the period's average length, used only to guess an occurrence
// index before it is checked exactly.
func (p period) approx() float64 {
	const day = float64(24 * time.Hour)
	return float64(p.years)*365.2425*day + float64(p.months)*30.436875*day +
		float64(7*p.weeks+p.days)*day + float64(p.clock)
}

func (p period) String() string {
	var b strings.Builder
	b.WriteByte('P')
	for _, f := range []struct {
		n    int64
		unit byte
	}{{p.years, 'Y'}, {p.months, 'M'}, {p.weeks, 'W'}, {p.days, 'D'}} {
		if f.n != 0 {
			fmt.Fprintf(&b, "%d%c", f.n, f.unit)
		}
	}
	if p.clock != 0 {
		b.WriteByte('T')
		d := p.clock
		if h := d / time.Hour; h != 0 {
			fmt.Fprintf(&b, "%dH", h)
			d -= h * time.Hour
		}
		if m := d / time.Minute; m != 0 {
			fmt.Fprintf(&b, "%dM", m)
			d -= m * time.Minute
		}
		if d != 0 {
			s := d / time.Second
			ns := d - s*time.Second
			if ns == 0 {
				fmt.Fprintf(&b, "%dS", s)
			} else {
				fmt.Fprintf(&b, "%d.%sS", s, strings.TrimRight(fmt.Sprintf("%09d", int64(ns)), "0"))
			}
		}
	}
	if b.Len() == 1 {
		b.WriteString("T0S")
	}
	return b.String()
}

// parsePeriod reads PnYnMnWnDTnHnMnS (any part may be left out, in that
// order; only seconds may have a fraction). input and base locate errors in
// the whole expression the period came from.
func parsePeriod(input string, base int, s string) (period, error) {
	var p period
	if len(s) == 0 || s[0] != 'P' {
		return p, syntaxErr(input, base, "a period starts with P, e.g. PT1H or P1D")
	}
	const dateUnits, timeUnits = "YMWD", "HMS"
	i := 1
	inTime := false
	next := 0 // index in the current unit list that the next part may use
	seen := false
	var clockSec, clockNs int64
	for i < len(s) {
		if s[i] == 'T' {
			if inTime {
				return p, syntaxErr(input, base+i, "T appears twice in the period")
			}
			inTime, next = true, 0
			i++
			if i == len(s) {
				return p, syntaxErr(input, base+i-1, "nothing follows T in the period")
			}
			continue
		}
		numStart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == numStart {
			return p, syntaxErr(input, base+i, "expected a number in the period, found %q", s[i:i+1])
		}
		whole := s[numStart:i]
		frac := ""
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			i++
			fs := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			frac = s[fs:i]
			if frac == "" || len(frac) > 9 {
				return p, syntaxErr(input, base+fs, "a fraction needs 1 to 9 digits")
			}
		}
		if i == len(s) {
			return p, syntaxErr(input, base+numStart, "number %s has no unit (Y, M, W, D, or after T: H, M, S)", whole)
		}
		unit := s[i]
		units := dateUnits
		if inTime {
			units = timeUnits
		}
		idx := strings.IndexByte(units[next:], unit)
		if idx < 0 {
			if strings.IndexByte(units, unit) >= 0 {
				return p, syntaxErr(input, base+i, "unit %c is repeated or out of order", unit)
			}
			if !inTime && strings.IndexByte(timeUnits, unit) >= 0 {
				return p, syntaxErr(input, base+i, "unit %c belongs after T (hours, minutes and seconds: PT%s%c)", unit, whole, unit)
			}
			return p, syntaxErr(input, base+i, "unknown unit %q", unit)
		}
		next += idx + 1
		if frac != "" && !(inTime && unit == 'S') {
			return p, syntaxErr(input, base+numStart, "only seconds may have a fraction")
		}
		n, ok := boundedInt(whole)
		if !ok {
			return p, syntaxErr(input, base+numStart, "%s is too large (at most %d)", whole, maxPeriodField)
		}
		switch {
		case !inTime && unit == 'Y':
			p.years = n
		case !inTime && unit == 'M':
			p.months = n
		case !inTime && unit == 'W':
			p.weeks = n
		case !inTime && unit == 'D':
			p.days = n
		case unit == 'H':
			clockSec += n * 3600
		case unit == 'M':
			clockSec += n * 60
		case unit == 'S':
			clockSec += n
			if frac != "" {
				ns := int64(0)
				for j := 0; j < 9; j++ {
					ns *= 10
					if j < len(frac) {
						ns += int64(frac[j] - '0')
					}
				}
				clockNs = ns
			}
		}
		seen = true
		i++
	}
	if !seen {
		return p, syntaxErr(input, base, "the period has no parts, e.g. PT1H or P1D")
	}
	// time.Duration holds about 292 years; hours, minutes and seconds beyond
	// a century belong in days or years.
	if clockSec > maxClockSeconds {
		return p, syntaxErr(input, base, "hours, minutes and seconds add up to more than 100 years; use days or years")
	}
	p.clock = time.Duration(clockSec)*time.Second + time.Duration(clockNs)
	return p, nil
}

// boundedInt parses a run of ASCII digits no larger than maxPeriodField.
func boundedInt(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
		if n > maxPeriodField {
			return 0, false
		}
	}
	return n, true
}

// ParseDuration reads an ISO 8601 duration such as Chronos's epsilon
// ("PT15M", "PT30S", "P1D"). Days count as 24 hours and weeks as 7 days, as
// Joda's toStandardDuration does; years and months have no fixed length and
// are refused.
func ParseDuration(iso string) (time.Duration, error) {
	p, err := parsePeriod(iso, 0, iso)
	if err != nil {
		return 0, err
	}
	if p.years != 0 || p.months != 0 {
		return 0, syntaxErr(iso, 0, "a duration cannot contain years or months (their length varies); use days, e.g. P30D")
	}
	const maxDays = int64(100 * 365) // far beyond any epsilon, far below overflow
	days := 7*p.weeks + p.days
	if days > maxDays || p.clock > time.Duration(maxDays)*24*time.Hour {
		return 0, syntaxErr(iso, 0, "duration is longer than 100 years")
	}
	return time.Duration(days)*24*time.Hour + p.clock, nil
}
