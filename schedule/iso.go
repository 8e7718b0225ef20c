package schedule

import (
	"math"
	"math/bits"
	"strings"
	"time"
)

// lastYear bounds every schedule: occurrences after it are never produced,
// which keeps index arithmetic far from overflow and RFC 3339 printable.
const lastYear = 9999

// isoSpec is a parsed repeating interval. start is a wall-clock time held as
// UTC and read in the schedule's location; hasStart is false for "R//PT1H",
// whose start is supplied when the schedule is used.
type isoSpec struct {
	repeats  int64 // -1: forever
	hasStart bool
	start    time.Time
	period   period
}

// ParseISO reads an ISO 8601 repeating interval the way Chronos does:
// "R/start/period" repeats forever, "Rn/start/period" runs n times in all
// counting from the start, "R0/..." never runs, and an empty start
// ("R//PT1H") means "now", supplied later through Anchor or the times
// passed to Next and Due.
//
// tz is Chronos's scheduleTimeZone. When set, the start's wall-clock fields
// are kept and re-read in that zone (Joda's withZoneRetainFields), and
// occurrences are computed on that zone's calendar, so a daily 02:30 job stays
// at 02:30 local time across DST changes. Without tz, the start's own offset
// (UTC for "Z") is the zone.
func ParseISO(expr string, tz string) (Schedule, error) {
	if i := strings.Index(expr, `\/`); i >= 0 {
		return Schedule{}, syntaxErr(expr, i, `JSON-escaped slash \/: write / (a JSON decoder unescapes it)`)
	}
	parts := strings.Split(expr, "/")
	if len(parts) != 3 {
		return Schedule{}, syntaxErr(expr, 0, "a schedule has three parts separated by /: R[n]/[start]/period, e.g. R/2026-01-01T02:00:00Z/P1D")
	}
	spec := &isoSpec{repeats: -1}
	rep := parts[0]
	if rep == "" || rep[0] != 'R' {
		return Schedule{}, syntaxErr(expr, 0, "a schedule starts with R (forever) or Rn (n runs)")
	}
	if len(rep) > 1 {
		for i := 1; i < len(rep); i++ {
			if rep[i] < '0' || rep[i] > '9' {
				return Schedule{}, syntaxErr(expr, i, "the repeat count after R must be digits")
			}
		}
		n, ok := boundedInt(rep[1:])
		if !ok {
			return Schedule{}, syntaxErr(expr, 1, "repeat count %s is too large (at most %d)", rep[1:], maxPeriodField)
		}
		spec.repeats = n
	}
	var loc *time.Location
	if tz != "" {
		l, err := LoadZone(tz)
		if err != nil {
			return Schedule{}, err
		}
		loc = l
	}
	startPos := len(rep) + 1
	if parts[1] != "" {
		wall, off, err := parseStart(expr, startPos, parts[1])
		if err != nil {
			return Schedule{}, err
		}
		spec.hasStart, spec.start = true, wall
		if loc == nil {
			loc = offsetZone(off)
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	p, err := parsePeriod(expr, startPos+len(parts[1])+1, parts[2])
	if err != nil {
		return Schedule{}, err
	}
	if p.isZero() {
		return Schedule{}, syntaxErr(expr, startPos+len(parts[1])+1, "the period must be longer than zero")
	}
	spec.period = p
	return Schedule{expr: expr, tz: tz, loc: loc, iso: spec}, nil
}

func offsetZone(off *int) *time.Location {
	if off == nil || *off == 0 {
		// No offset: Joda would use the JVM's zone; Berth does not depend on
		// the host, so it is UTC.
		return time.UTC
	}
	return time.FixedZone("", *off)
}

// parseStart reads an ISO 8601 date-time in extended format as Joda's
// DateTime.parse does: YYYY-MM-DD, then optionally Thh[:mm[:ss[.f]]] and an
// offset (Z, ±hh, ±hhmm, ±hh:mm). It returns the wall clock (as UTC) and the
// offset in seconds, nil when none was written.
func parseStart(input string, base int, s string) (time.Time, *int, error) {
	fail := func(i int, format string, args ...any) (time.Time, *int, error) {
		return time.Time{}, nil, syntaxErr(input, base+i, "start: "+format, args...)
	}
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for j := i; j < i+n; j++ {
			if s[j] < '0' || s[j] > '9' {
				return 0, false
			}
			v = v*10 + int(s[j]-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok || len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return fail(0, "expected a date like 2026-01-31T02:00:00Z")
	}
	month, ok1 := num(5, 2)
	day, ok2 := num(8, 2)
	if !ok1 || !ok2 {
		return fail(5, "expected a date like 2026-01-31T02:00:00Z")
	}
	if month < 1 || month > 12 {
		return fail(5, "month %02d is out of range 01-12", month)
	}
	if day < 1 || day > daysIn(year, time.Month(month)) {
		return fail(8, "day %02d does not exist in %04d-%02d", day, year, month)
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	i := 10
	if i < len(s) && s[i] == 'T' {
		i++
		var ok bool
		if hour, ok = num(i, 2); !ok || hour > 23 {
			return fail(i, "hour must be 00-23")
		}
		i += 2
		if i < len(s) && s[i] == ':' {
			if minute, ok = num(i+1, 2); !ok || minute > 59 {
				return fail(i+1, "minute must be 00-59")
			}
			i += 3
			if i < len(s) && s[i] == ':' {
				if sec, ok = num(i+1, 2); !ok || sec > 59 {
					return fail(i+1, "second must be 00-59")
				}
				i += 3
				if i < len(s) && (s[i] == '.' || s[i] == ',') {
					i++
					fs := i
					for i < len(s) && s[i] >= '0' && s[i] <= '9' {
						if i-fs < 9 {
							nsec = nsec*10 + int(s[i]-'0')
						}
						i++
					}
					if i == fs {
						return fail(fs, "a fraction of a second needs digits")
					}
					for d := i - fs; d < 9; d++ {
						nsec *= 10
					}
				}
			}
		}
	}
	var off *int
	if i < len(s) {
		switch rest := s[i:]; {
		case rest == "Z":
			z := 0
			off = &z
		case rest[0] == '+' || rest[0] == '-':
			o, err := parseOffset(rest)
			if err != nil {
				return fail(i, "%v", err)
			}
			off = &o
		default:
			return fail(i, "unexpected %q; a time zone offset is Z, +hh:mm or -hh:mm", rest)
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), off, nil
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths moves a wall clock by whole months, clamping the day to the end
// of the target month as Joda does (Jan 31 + 1 month = Feb 28 or 29).
func addMonths(wall time.Time, months int64) time.Time {
	y, m, d := wall.Date()
	total := int64(y)*12 + int64(m-1) + months
	ny, nm := int(total/12), time.Month(total%12+1)
	d = min(d, daysIn(ny, nm))
	h, mi, s := wall.Clock()
	return time.Date(ny, nm, d, h, mi, s, wall.Nanosecond(), time.UTC)
}

// at returns occurrence k: start + k x period, with the calendar parts added
// to the wall clock in loc (years, then months, each clamped to the month's
// end, then weeks and days), the result read in loc, and then the time parts
// added as elapsed time. That is Joda's start.plus(period.multipliedBy(k)),
// so occurrences do not drift the way adding the period run after run does.
// ok is false past year 9999.
func (s *isoSpec) at(start time.Time, loc *time.Location, k int64) (time.Time, bool) {
	p := s.period
	const maxYears = lastYear
	// Spans beyond ten thousand years end the series; checking them first
	// keeps every product below from overflowing.
	const maxClockNanos = float64(maxYears) * 366 * 24 * 3600 * 1e9
	if k > 0 && (p.years > maxYears/k || p.months > 12*maxYears/k ||
		7*p.weeks+p.days > 366*maxYears/k || float64(k)*float64(p.clock) > maxClockNanos) {
		return time.Time{}, false
	}
	t := resolve(s.calendarWall(start, k), loc)
	if p.clock != 0 {
		// k x clock can exceed time.Duration's 292 years (PT1S for a few
		// centuries), so it is multiplied in 128 bits and added as seconds.
		hi, lo := bits.Mul64(uint64(k), uint64(p.clock))
		secs, nanos := bits.Div64(hi, lo, uint64(time.Second))
		t = time.Unix(t.Unix()+int64(secs), int64(t.Nanosecond())+int64(nanos)).In(loc)
	}
	if t.Year() > lastYear {
		return time.Time{}, false
	}
	return t, true
}

// calendarWall is occurrence k's wall clock before it is read in the zone:
// the start with k times the period's calendar parts added. at checks that
// the products cannot overflow before calling it.
func (s *isoSpec) calendarWall(start time.Time, k int64) time.Time {
	p := s.period
	wall := start
	if p.years != 0 {
		wall = addMonths(wall, 12*k*p.years)
	}
	if p.months != 0 {
		wall = addMonths(wall, k*p.months)
	}
	if days := k * (7*p.weeks + p.days); days != 0 {
		wall = wall.AddDate(0, 0, int(days))
	}
	return wall
}

// limit is the number of occurrences (math.MaxInt64 for "forever").
func (s *isoSpec) limit() int64 {
	if s.repeats < 0 {
		return math.MaxInt64
	}
	return s.repeats
}

// index returns the smallest k with occurrence k at or after t, and whether
// such an occurrence exists. Occurrences grow with k, so a guess from the
// period's average length is corrected by galloping and bisection.
func (s *isoSpec) index(start time.Time, loc *time.Location, t time.Time) (int64, bool) {
	limit := s.limit()
	if limit == 0 {
		return 0, false
	}
	// before reports whether occurrence k is before t; occurrences past the
	// end of time count as not before.
	before := func(k int64) bool {
		o, ok := s.at(start, loc, k)
		return ok && o.Before(t)
	}
	first, ok := s.at(start, loc, 0)
	if !ok {
		return 0, false
	}
	if !first.Before(t) {
		return 0, true
	}
	// Clamp in floating point: converting an out-of-range float to int64
	// gives an unspecified value.
	g := float64(t.Sub(first)) / s.period.approx()
	guess := int64(1)
	if g >= 1 && g < float64(math.MaxInt64/2) {
		guess = int64(g)
	}
	guess = min(guess, limit-1)
	// Invariant sought: before(lo) and !before(hi).
	lo, hi := int64(0), guess
	if before(guess) {
		lo = guess
		step := int64(1)
		for {
			if limit-lo <= step {
				hi = limit
				break
			}
			hi = lo + step
			if !before(hi) {
				break
			}
			lo = hi
			step *= 2
		}
	} else {
		step := int64(1)
		for {
			c := hi - step
			if c <= 0 {
				lo = 0
				break
			}
			if before(c) {
				lo = c
				break
			}
			hi = c
			step *= 2
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if before(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if hi >= limit {
		return 0, false
	}
	if _, ok := s.at(start, loc, hi); !ok {
		return 0, false
	}
	return hi, true
}
