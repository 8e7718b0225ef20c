package schedule

import (
	"fmt"
	"strings"
	"time"
)

// WarningKind names a way a schedule runs other than its text suggests.
type WarningKind string

const (
	// WarnDSTGap: an occurrence's wall time does not exist (clocks jump
	// forward over it); the run is moved forward by the gap.
	WarnDSTGap WarningKind = "dst-gap"
	// WarnDSTOverlap: an occurrence's wall time happens twice (clocks go
	// back); which of the two runs depends on the schedule.
	WarnDSTOverlap WarningKind = "dst-overlap"
	// WarnDSTShift: a period of whole elapsed days (PT24H) keeps the time in
	// UTC, so the local time of the runs moves when the clocks change.
	WarnDSTShift WarningKind = "dst-shift"
	// WarnShortMonth: the schedule names a day of the month some months lack.
	WarnShortMonth WarningKind = "short-month"
	// WarnExhausted: a repeat count whose runs all lie before now, or R0.
	WarnExhausted WarningKind = "exhausted"
)

// Warning is one thing a reviewer of a schedule would likely miss.
type Warning struct {
	Kind WarningKind
	// At is the occurrence the warning is about (the first one, when several
	// are); zero when it concerns no single occurrence.
	At      time.Time
	Message string
}

// PreviewHorizon is how far ahead Preview looks for DST changes and short
// months: a year holds every seasonal change once.
const PreviewHorizon = 366 * 24 * time.Hour

// maxWindowOccurrences bounds the occurrences examined around one DST change:
// a job every second has 7,200 in the two hours looked at, and the first
// ones say all there is to say.
const maxWindowOccurrences = 2000

// Preview is what a reviewer should see about a schedule from one moment.
type Preview struct {
	// Next are the first n occurrences at or after the moment.
	Next []time.Time
	// Ended is true when fewer than n occurrences are left.
	Ended    bool
	Warnings []Warning
}

// Preview lists the next n occurrences at or after now and warns about the
// occurrences within PreviewHorizon that fall in a DST gap or overlap, a day
// of month that some months lack, and a repeat count already used up. A
// schedule without a start is anchored at now, as the scheduler anchors a
// job it sees for the first time. Preview is pure.
func (s Schedule) Preview(now time.Time, n int) Preview {
	s = s.Anchor(now)
	var p Preview
	p.Next = s.NextN(now, n)
	p.Ended = len(p.Next) < n
	if w, ok := s.exhausted(now); ok {
		p.Warnings = append(p.Warnings, w)
		return p
	}
	p.Warnings = append(p.Warnings, s.dstWarnings(now)...)
	if w, ok := s.shortMonth(now); ok {
		p.Warnings = append(p.Warnings, w)
	}
	return p
}

// exhausted warns when a counted series has nothing left at or after now.
func (s Schedule) exhausted(now time.Time) (Warning, bool) {
	if s.iso == nil || s.iso.repeats < 0 {
		return Warning{}, false
	}
	if s.iso.repeats == 0 {
		return Warning{Kind: WarnExhausted, Message: "R0 never runs: the job will never run on its schedule"}, true
	}
	if _, ok := s.Next(now); ok {
		return Warning{}, false
	}
	last, ok := s.iso.at(s.iso.start, s.Location(), s.iso.repeats-1)
	if !ok {
		return Warning{Kind: WarnExhausted, Message: fmt.Sprintf("R%d: no run before the year %d: the job will never run", s.iso.repeats, lastYear+1)}, true
	}
	return Warning{Kind: WarnExhausted, At: last, Message: fmt.Sprintf(
		"all %d runs of R%d are before %s (the last was %s): the job will never run on its schedule again",
		s.iso.repeats, s.iso.repeats, now.UTC().Format(time.RFC3339), both(last))}, true
}

// dstWarnings looks at the occurrences around every offset change of the
// schedule's zone within PreviewHorizon of now.
func (s Schedule) dstWarnings(now time.Time) []Warning {
	if s.iso == nil && s.cron == nil {
		return nil
	}
	loc := s.Location()
	end := now.Add(PreviewHorizon)
	var out []Warning
	t := now.In(loc)
	// A zone changes its offset a few times a year at most; the bound keeps
	// a pathological zone from looping.
	for range 16 {
		_, change := t.ZoneBounds()
		if change.IsZero() || change.After(end) {
			break
		}
		t = change.In(loc)
		before, after := offsetOf(change.Add(-time.Nanosecond).In(loc)), offsetOf(t)
		if before == after {
			continue // only the abbreviation changed
		}
		out = append(out, s.aroundChange(now, change, before, after)...)
		if w, ok := s.shift(now, change); ok {
			out = append(out, w)
		}
	}
	return out
}

// aroundChange examines the occurrences near one offset change.
func (s Schedule) aroundChange(now, change time.Time, before, after int) []Warning {
	loc := s.Location()
	shift := time.Duration(after-before) * time.Second
	// A run moved out of a gap lands within the gap's length after the
	// change, and a repeated wall time lies within the overlap's length of
	// it: nothing further away can be affected.
	margin := max(shift, -shift) + time.Minute
	from := change.Add(-margin)
	if from.Before(now) {
		from = now
	}
	to := change.Add(margin)
	var gap, overlap Warning
	gaps, overlaps := 0, 0
	truncated := false
	c := s.cursor(from, now)
	for i := 0; ; i++ {
		if i == maxWindowOccurrences {
			truncated = true
			break
		}
		k := c.k
		o, ok := c.next()
		if !ok || o.After(to) {
			break
		}
		o = o.In(loc)
		// intended is the wall time the schedule asks for; elapsed is true
		// when the occurrence is reached by adding elapsed time to it.
		var intended time.Time
		elapsed := false
		switch {
		case s.iso != nil:
			intended = s.iso.calendarWall(c.start, k)
			elapsed = s.iso.period.clock != 0
			if elapsed {
				// The gap can only move the calendar part, and that
				// matters only when it lies at this change.
				if p := s.iso.period; p.years == 0 && p.months == 0 && p.weeks == 0 && p.days == 0 {
					intended = wallOf(o)
				} else if d := resolve(intended, loc).Sub(change); d > cronMargin || d < -cronMargin {
					intended = wallOf(o)
				}
			}
		default:
			// Cron's gap is found from the expression below: a minute in
			// it may land on one that matches anyway.
			intended = wallOf(o)
		}
		switch n := len(instants(intended, loc)); {
		case n == 0:
			if gaps == 0 {
				gap = Warning{Kind: WarnDSTGap, At: o, Message: fmt.Sprintf(
					"%s does not exist in %s on %s (clocks jump forward %s): the run is moved to %s",
					intended.Format("15:04"), zoneName(loc), intended.Format("2006-01-02"), clockShift(shift), both(o))}
			}
			gaps++
		case n == 2 || (elapsed && len(instants(wallOf(o), loc)) == 2):
			if overlaps == 0 {
				what := "the job runs once, at the first of them: " + both(o)
				if elapsed {
					what = "the period counts elapsed time, so runs follow the clock change: this one is at " + both(o)
				}
				w := wallOf(o)
				overlap = Warning{Kind: WarnDSTOverlap, At: o, Message: fmt.Sprintf(
					"%s happens twice in %s on %s (clocks go back %s): %s",
					w.Format("15:04"), zoneName(loc), w.Format("2006-01-02"), clockShift(-shift), what)}
			}
			overlaps++
		}
	}
	if s.cron != nil && shift > 0 {
		gap, gaps = s.cronGap(change, before, shift)
	}
	var out []Warning
	for _, w := range []struct {
		w Warning
		n int
	}{{gap, gaps}, {overlap, overlaps}} {
		if w.n == 0 {
			continue
		}
		switch {
		case truncated:
			w.w.Message += fmt.Sprintf(" (and more than %d more runs that night)", w.n-1)
		case w.n == 2:
			w.w.Message += " (and 1 more run that night)"
		case w.n > 2:
			w.w.Message += fmt.Sprintf(" (and %d more runs that night)", w.n-1)
		}
		out = append(out, w.w)
	}
	return out
}

// shift warns when a period of whole elapsed days carries the runs to
// another local time across a change: the PT24H that was meant as P1D.
func (s Schedule) shift(now, change time.Time) (Warning, bool) {
	if s.iso == nil || s.iso.period.clock == 0 || s.iso.period.clock%(24*time.Hour) != 0 {
		return Warning{}, false
	}
	loc := s.Location()
	prev, ok1 := s.Last(change.Add(-time.Nanosecond))
	next, ok2 := s.Next(change)
	if !ok1 || !ok2 || next.Before(now) {
		return Warning{}, false
	}
	prev, next = prev.In(loc), next.In(loc)
	pw, nw := wallOf(prev), wallOf(next)
	if pw.Hour() == nw.Hour() && pw.Minute() == nw.Minute() {
		return Warning{}, false
	}
	return Warning{Kind: WarnDSTShift, At: next, Message: fmt.Sprintf(
		"%s counts elapsed hours, so when the clocks change in %s on %s the runs move from %s to %s local time (first: %s); a period in days (P1D) keeps the local time",
		s.iso.period, zoneName(loc), change.In(loc).Format("2006-01-02"), pw.Format("15:04"), nw.Format("15:04"), both(next))}, true
}

// cronGap finds the matching wall minutes that a forward change skips: the
// wall times from the change, read in the offset before it, for the length
// of the gap. Each runs moved forward by the gap.
func (s Schedule) cronGap(change time.Time, before int, shift time.Duration) (Warning, int) {
	loc := s.Location()
	start := time.Unix(change.Unix()+int64(before), 0).UTC()
	end := start.Add(shift)
	var first time.Time
	n := 0
	for w, ok := s.cron.nextWall(ceilMinute(start)); ok && w.Before(end); w, ok = s.cron.nextWall(w.Add(time.Minute)) {
		if n == 0 {
			first = w
		}
		n++
	}
	if n == 0 {
		return Warning{}, 0
	}
	o := resolve(first, loc)
	return Warning{Kind: WarnDSTGap, At: o, Message: fmt.Sprintf(
		"%s does not exist in %s on %s (clocks jump forward %s): the run is moved to %s",
		first.Format("15:04"), zoneName(loc), first.Format("2006-01-02"), clockShift(shift), both(o))}, n
}

// instants returns every instant whose wall clock in loc is wall: none in a
// gap, two in an overlap, one otherwise.
func instants(wall time.Time, loc *time.Location) []time.Time {
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	guess := time.Date(y, mo, d, h, mi, sec, wall.Nanosecond(), loc)
	start, end := guess.ZoneBounds()
	offs := []int{offsetOf(guess)}
	if !start.IsZero() {
		offs = append(offs, offsetOf(start.Add(-time.Nanosecond).In(loc)))
	}
	if !end.IsZero() {
		offs = append(offs, offsetOf(end.In(loc)))
	}
	var out []time.Time
	for _, o := range offs {
		t := wall.Add(-time.Duration(o) * time.Second).In(loc)
		if offsetOf(t) != o || !wallOf(t).Equal(wall) {
			continue
		}
		dup := false
		for _, u := range out {
			dup = dup || u.Equal(t)
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

// shortMonth warns about a day of the month that not every month has: an
// ISO schedule counting months or years from the 29th, 30th or 31st, whose
// runs fall on the last day of shorter months, or a cron day-of-month that
// cron skips in the months that lack it.
func (s Schedule) shortMonth(now time.Time) (Warning, bool) {
	switch {
	case s.iso != nil:
		p := s.iso.period
		day := s.iso.start.Day()
		if (p.months == 0 && p.years == 0) || day <= 28 {
			return Warning{}, false
		}
		// Occurrences are counted from the start, so the first clamped one
		// comes within a few years if it comes at all.
		c := s.cursor(now, now)
		for i := 0; i < 60; i++ {
			k := c.k
			o, ok := c.next()
			if !ok {
				break
			}
			if w := s.iso.calendarWall(c.start, k); w.Day() != day {
				return Warning{Kind: WarnShortMonth, At: o.In(s.Location()), Message: fmt.Sprintf(
					"the start is on day %d, which some months lack: those months the job runs on their last day instead (first: %s); counted from the start, it returns to day %d when the month has one",
					day, both(o.In(s.Location())), day)}, true
			}
		}
	case s.cron != nil && !s.cron.domStar && s.cron.dowStar:
		var none, some []string
		var days []string
		for d := 29; d <= 31; d++ {
			if s.cron.dom&(1<<d) != 0 {
				days = append(days, fmt.Sprint(d))
			}
		}
		if len(days) == 0 {
			return Warning{}, false
		}
		for m := time.January; m <= time.December; m++ {
			if s.cron.month&(1<<int(m)) == 0 {
				continue
			}
			n := daysIn(2001, m) // a common year: February has 28 days
			lacking, having := false, false
			for d := 1; d <= 31; d++ {
				if s.cron.dom&(1<<d) == 0 {
					continue
				}
				if d > n {
					lacking = true
				} else {
					having = true
				}
			}
			switch {
			case lacking && !having:
				none = append(none, m.String()[:3])
			case lacking:
				some = append(some, m.String()[:3])
			}
		}
		if len(none)+len(some) == 0 {
			return Warning{}, false
		}
		msg := fmt.Sprintf("day-of-month %s does not exist in every month, and cron does not move a run to a shorter month's last day:", strings.Join(days, ","))
		if len(none) > 0 {
			msg += " no run at all in " + strings.Join(none, ", ")
			if len(none) == 1 && none[0] == "Feb" && s.cron.dom&^(1<<29) == 0 {
				msg += " except in leap years"
			}
		}
		if len(some) > 0 {
			if len(none) > 0 {
				msg += ";"
			}
			msg += " fewer runs in " + strings.Join(some, ", ")
		}
		return Warning{Kind: WarnShortMonth, Message: msg}, true
	}
	return Warning{}, false
}

// CatchUp is what the scheduler would start at one moment for a job whose
// last handled occurrence is given.
type CatchUp struct {
	// Runs are the occurrences that would run now, oldest first: one at most
	// without epsilon; with epsilon, every occurrence within it (the first
	// MaxSkippedListed are listed; RunCount counts them all).
	Runs     []time.Time
	RunCount int
	// Skipped counts the occurrences passed over without a run of their
	// own: collapsed into the catch-up run, or later than epsilon.
	Skipped int64
}

// maxCatchUpRuns bounds the runs CatchUp counts one by one (epsilon P1D on a
// job every second would otherwise be 86,400 calls to Due).
const maxCatchUpRuns = 10000

// CatchUp plays Due forward at now, recording each run as the scheduler
// does, until nothing more is due: the runs a deploy at now would start at
// once. last is the job's last handled occurrence (zero for a new job with
// an ISO schedule); a schedule without a start is anchored at now.
func (s Schedule) CatchUp(last, now time.Time, epsilon time.Duration) CatchUp {
	s = s.Anchor(now)
	var c CatchUp
	for range maxCatchUpRuns {
		d := s.Due(last, now, epsilon)
		c.Skipped += d.SkippedCount
		if d.Run.IsZero() {
			break
		}
		c.RunCount++
		if len(c.Runs) < MaxSkippedListed {
			c.Runs = append(c.Runs, d.Run)
		}
		last = d.Handled
		if epsilon <= 0 {
			break // without epsilon every pending occurrence collapsed into this run
		}
	}
	return c
}

// Last returns the last occurrence at or before t, and false when there is
// none. A schedule without a start is anchored at t, so it has exactly one.
func (s Schedule) Last(t time.Time) (time.Time, bool) {
	switch {
	case s.iso != nil:
		s = s.Anchor(t)
		loc := s.Location()
		k, ok := s.iso.index(s.iso.start, loc, t.Add(time.Nanosecond))
		if !ok {
			if s.iso.repeats < 0 {
				return time.Time{}, false
			}
			k = s.iso.limit()
		}
		if k == 0 {
			return time.Time{}, false
		}
		return s.iso.at(s.iso.start, loc, k-1)
	case s.cron != nil:
		// Cron has no index to count back with: widen the window until it
		// holds an occurrence, so a frequent job walks a few, not a year's.
		for _, back := range []time.Duration{time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, cronSearchYears * 366 * 24 * time.Hour} {
			c := s.cursor(t.Add(-back), t)
			var last time.Time
			for {
				o, ok := c.next()
				if !ok || o.After(t) {
					break
				}
				last = o
			}
			if !last.IsZero() {
				return last, true
			}
		}
	}
	return time.Time{}, false
}

// both formats an occurrence in its zone and in UTC.
func both(t time.Time) string {
	local := t.Format("2006-01-02 15:04 MST")
	if t.Location() == time.UTC {
		return local
	}
	return local + " (" + t.UTC().Format("15:04 MST") + ")"
}

// clockShift prints a DST shift as people say it: 1h, 30m, 1h30m.
func clockShift(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case m == 0:
		return fmt.Sprintf("%dh", h)
	case h == 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

func zoneName(loc *time.Location) string {
	if loc.String() == "" {
		return "its zone"
	}
	return loc.String()
}
