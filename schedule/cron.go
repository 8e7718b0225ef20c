package schedule

import (
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed 5-field cron expression: one bit per allowed value.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar follow Vixie cron: when both day fields are
	// restricted a day matches either of them; when one starts with "*" only
	// the other one counts.
	domStar, dowStar bool
}

// cronShortcut expands the @-shortcuts of Vixie cron.
func cronShortcut(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "@yearly", "@annually":
		return "0 0 1 1 *", true
	case "@monthly":
		return "0 0 1 * *", true
	case "@weekly":
		return "0 0 * * 0", true
	case "@daily", "@midnight":
		return "0 0 * * *", true
	case "@hourly":
		return "0 * * * *", true
	}
	return "", false
}

type cronField struct {
	name     string
	min, max int
	names    string // three letters per value from min, e.g. "JANFEB..."
}

const (
	monthNames = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
	dowNames   = "SUNMONTUEWEDTHUFRISAT"
)

// ParseCron reads a 5-field cron expression (minute hour day-of-month month
// day-of-week) with the usual lists (1,15), ranges (1-5), steps (*/10,
// 8-18/2), month and weekday names (JAN, MON-FRI), 7 for Sunday, and the
// shortcuts @yearly @annually @monthly @weekly @daily @midnight @hourly. The
// fields are wall-clock times in tz (UTC when empty). Around DST changes
// each matching wall-clock minute runs once: a minute clocks skip moves
// forward by the gap, and a minute clocks repeat runs the first time.
func ParseCron(expr string, tz string) (Schedule, error) {
	loc, err := LoadZone(tz)
	if err != nil {
		return Schedule{}, err
	}
	text := strings.TrimSpace(expr)
	if strings.HasPrefix(text, "@") {
		full, ok := cronShortcut(text)
		if !ok {
			return Schedule{}, syntaxErr(expr, 0, "unknown shortcut %s; known: @yearly @annually @monthly @weekly @daily @midnight @hourly", text)
		}
		text = full
	}
	fields := []cronField{
		{name: "minute", min: 0, max: 59},
		{name: "hour", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: monthNames},
		{name: "day-of-week", min: 0, max: 7, names: dowNames},
	}
	// Keep byte offsets of each field so errors can point at them.
	var starts []int
	var parts []string
	for i := 0; i < len(text); {
		if text[i] == ' ' || text[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(text) && text[j] != ' ' && text[j] != '\t' {
			j++
		}
		starts, parts = append(starts, i), append(parts, text[i:j])
		i = j
	}
	if len(parts) != 5 {
		return Schedule{}, syntaxErr(expr, 0, "cron needs 5 fields (minute hour day-of-month month day-of-week), found %d", len(parts))
	}
	// Offsets are into text; they match expr when no shortcut was expanded.
	offset := strings.Index(expr, text)
	if offset < 0 || text != strings.TrimSpace(expr) {
		offset = 0
	}
	var spec cronSpec
	sets := []*uint64{&spec.minute, &spec.hour, &spec.dom, &spec.month, &spec.dow}
	for i, f := range fields {
		set, err := parseCronField(expr, offset+starts[i], parts[i], f)
		if err != nil {
			return Schedule{}, err
		}
		*sets[i] = set
	}
	if spec.dow&(1<<7) != 0 {
		spec.dow = spec.dow&^(1<<7) | 1
	}
	spec.domStar = parts[2][0] == '*' || parts[2][0] == '?'
	spec.dowStar = parts[4][0] == '*' || parts[4][0] == '?'
	if spec.dowStar && !spec.domStar && !spec.dayPossible() {
		return Schedule{}, syntaxErr(expr, offset+starts[2], "day-of-month %s never occurs in month %s", parts[2], parts[3])
	}
	return Schedule{expr: expr, tz: tz, loc: loc, cron: &spec}, nil
}

// dayPossible reports whether some selected month has some selected day.
func (c *cronSpec) dayPossible() bool {
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) == 0 {
			continue
		}
		days := daysIn(2000, time.Month(m)) // a leap year: Feb 29 exists
		if c.dom&(uint64(1)<<(days+1)-1) != 0 {
			return true
		}
	}
	return false
}

func parseCronField(expr string, pos int, s string, f cronField) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(s, ",") {
		at := pos
		pos += len(item) + 1
		if item == "" {
			return 0, syntaxErr(expr, at, "%s: empty list item", f.name)
		}
		rangePart, stepPart, hasStep := strings.Cut(item, "/")
		lo, hi := f.min, f.max
		if f.name == "day-of-week" {
			hi = 6 // "*" is Sunday to Saturday; 7 is only an alias
		}
		switch {
		case rangePart == "*" || (rangePart == "?" && (f.name == "day-of-month" || f.name == "day-of-week")):
		default:
			a, b, isRange := strings.Cut(rangePart, "-")
			var err error
			if lo, err = cronValue(expr, at, a, f); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = cronValue(expr, at+len(a)+1, b, f); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, syntaxErr(expr, at, "%s: range %s goes backwards", f.name, rangePart)
				}
			} else if hasStep {
				// "5/15" means from 5 to the end in steps of 15.
				hi = f.max
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepPart)
			if err != nil || n < 1 || n > f.max+1 {
				return 0, syntaxErr(expr, at+len(rangePart)+1, "%s: step %q must be a number from 1 to %d", f.name, stepPart, f.max+1)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func cronValue(expr string, pos int, s string, f cronField) (int, error) {
	if s == "" {
		return 0, syntaxErr(expr, pos, "%s: missing value", f.name)
	}
	if s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			return 0, syntaxErr(expr, pos, "%s: %q is not a number from %d to %d", f.name, s, f.min, f.max)
		}
		return n, nil
	}
	var names []string
	for i := 0; i+3 <= len(f.names); i += 3 {
		if strings.EqualFold(s, f.names[i:i+3]) {
			return f.min + i/3, nil
		}
		names = append(names, f.names[i:i+3])
	}
	if names != nil {
		return 0, syntaxErr(expr, pos, "%s: %q is neither a number from %d to %d nor a name (%s)", f.name, s, f.min, f.max, strings.Join(names, " "))
	}
	return 0, syntaxErr(expr, pos, "%s: %q is not a number from %d to %d", f.name, s, f.min, f.max)
}

// cronSearchYears bounds the search for a matching wall time. The rarest
// possible match (Feb 29 falling on a given weekday, with both day fields
// set) recurs within 28 years.
const cronSearchYears = 30

func (c *cronSpec) dayMatches(wall time.Time) bool {
	dom := c.dom&(1<<wall.Day()) != 0
	dow := c.dow&(1<<int(wall.Weekday())) != 0
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

// nextWall returns the first matching wall-clock minute at or after wall
// (which must be a whole minute).
func (c *cronSpec) nextWall(wall time.Time) (time.Time, bool) {
	limit := wall.AddDate(cronSearchYears, 0, 0)
	for wall.Before(limit) {
		y, m, d := wall.Date()
		if c.month&(1<<int(m)) == 0 {
			wall = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.dayMatches(wall) {
			wall = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.hour&(1<<wall.Hour()) == 0 {
			wall = wall.Truncate(time.Hour).Add(time.Hour)
			continue
		}
		if rest := c.minute >> wall.Minute(); rest != 0 {
			return wall.Add(time.Duration(bits.TrailingZeros64(rest)) * time.Minute), true
		}
		wall = wall.Truncate(time.Hour).Add(time.Hour)
	}
	return time.Time{}, false
}

// next returns the first occurrence at or after t in loc. Each matching
// wall-clock minute occurs once: in the hour clocks repeat it takes the
// earlier offset, and in the hour clocks skip it is moved forward by the gap
// (a 02:30 job runs at 03:30 on the day clocks go from 02:00 to 03:00), the
// same rules as ISO schedules.
func (c *cronSpec) next(t time.Time, loc *time.Location) (time.Time, bool) {
	t = t.In(loc)
	walkFrom := wallOf(t)
	// Wall times just before a gap resolve to just after it, so when t is
	// within a gap's length after one, the walk starts before the gap.
	if zoneStart, _ := t.ZoneBounds(); !zoneStart.IsZero() {
		gap := time.Duration(offsetOf(t)-offsetOf(zoneStart.Add(-time.Nanosecond))) * time.Second
		if gap > 0 && t.Sub(zoneStart) < gap {
			walkFrom = wallOf(zoneStart).Add(-gap)
		}
	}
	wall := ceilMinute(walkFrom)
	if wall.Year() > lastYear {
		return time.Time{}, false
	}
	for {
		cand, ok := c.nextWall(wall)
		if !ok || cand.Year() > lastYear {
			return time.Time{}, false
		}
		r := resolve(cand, loc)
		if r.Before(t) {
			wall = cand.Add(time.Minute)
			continue
		}
		if wallOf(r).Equal(cand) {
			return r, true
		}
		// cand was in a gap and moved forward; a wall time just after the
		// gap may come earlier than where it landed.
		zoneStart, _ := r.ZoneBounds()
		after := zoneStart
		if t.After(after) {
			after = t
		}
		if c2, ok := c.nextWall(ceilMinute(wallOf(after.In(loc)))); ok {
			if r2 := resolve(c2, loc); r2.Before(r) && !r2.Before(t) {
				return r2, true
			}
		}
		return r, true
	}
}

func ceilMinute(wall time.Time) time.Time {
	if f := wall.Truncate(time.Minute); !f.Equal(wall) {
		return f.Add(time.Minute)
	}
	return wall
}
