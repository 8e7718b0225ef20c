package schedule

import (
	"errors"
	"fmt"
	"time"
)

// Schedule is a parsed schedule: either an ISO 8601 repeating interval or a
// cron expression, bound to its time zone. The zero value never fires. A
// Schedule is an immutable value and safe to share between goroutines.
type Schedule struct {
	expr string
	tz   string
	loc  *time.Location
	iso  *isoSpec
	cron *cronSpec
}

// String returns the expression the schedule was parsed from.
func (s Schedule) String() string { return s.expr }

// Location is the zone occurrences are computed in.
func (s Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// HasStart reports whether the schedule knows its first occurrence. It is
// false only for an ISO interval written with an empty start ("R//PT1H"),
// whose start is "now": the scheduler should Anchor it when it first sees
// the job and keep that time, or every restart would move the series.
func (s Schedule) HasStart() bool {
	return s.cron != nil || (s.iso != nil && s.iso.hasStart)
}

// Anchor returns the schedule with its start set to t (as wall clock in the
// schedule's zone) when it was written without one; other schedules are
// returned unchanged.
func (s Schedule) Anchor(t time.Time) Schedule {
	if s.iso == nil || s.iso.hasStart {
		return s
	}
	spec := *s.iso
	spec.hasStart, spec.start = true, wallOf(t.In(s.Location()))
	s.iso = &spec
	return s
}

// Next returns the first occurrence at or after t, and false when the
// schedule has no occurrence left (Rn exhausted, R0, or beyond year 9999).
// A schedule without a start is anchored at t.
func (s Schedule) Next(t time.Time) (time.Time, bool) {
	return s.cursor(t, t).next()
}

// NextN returns up to n occurrences at or after t, in order.
func (s Schedule) NextN(t time.Time, n int) []time.Time {
	if n <= 0 {
		return nil
	}
	c := s.cursor(t, t)
	out := make([]time.Time, 0, min(n, 1024))
	for len(out) < n {
		o, ok := c.next()
		if !ok {
			break
		}
		out = append(out, o)
	}
	return out
}

// cursor walks occurrences at or after from, in order. anchor is the start
// used when the schedule has none.
type cursor struct {
	s Schedule
	// ISO: the next index and the start it counts from.
	k     int64
	start time.Time
	done  bool
	// cron: the earliest time the next occurrence may have.
	from time.Time
	// cron fast path: the zone period of the last occurrence and its wall
	// clock, so that occurrences far from any DST change are found by
	// stepping the wall clock and applying the one offset in force.
	fast         bool
	wall         time.Time
	zStart, zEnd time.Time
	off          int64
}

// cronMargin keeps the fast path away from DST changes, where a wall time
// may be skipped or repeated; offsets differ by less than a day.
const cronMargin = 26 * time.Hour

func (s Schedule) cursor(from, anchor time.Time) *cursor {
	c := &cursor{s: s, from: from}
	switch {
	case s.iso != nil:
		s = s.Anchor(anchor)
		c.s, c.start = s, s.iso.start
		k, ok := s.iso.index(c.start, s.Location(), from)
		c.k, c.done = k, !ok
	case s.cron != nil:
	default:
		c.done = true
	}
	return c
}

func (c *cursor) next() (time.Time, bool) {
	if c.done {
		return time.Time{}, false
	}
	if c.s.iso != nil {
		if c.k >= c.s.iso.limit() {
			c.done = true
			return time.Time{}, false
		}
		o, ok := c.s.iso.at(c.start, c.s.Location(), c.k)
		if !ok {
			c.done = true
			return time.Time{}, false
		}
		c.k++
		return o, true
	}
	if c.fast {
		if w, ok := c.s.cron.nextWall(c.wall.Add(time.Minute)); ok && w.Year() <= lastYear {
			o := time.Unix(w.Unix()-c.off, 0).In(c.s.Location())
			if (c.zStart.IsZero() || o.Sub(c.zStart) >= cronMargin) && (c.zEnd.IsZero() || c.zEnd.Sub(o) >= cronMargin) {
				c.wall, c.from = w, o.Add(time.Nanosecond)
				return o, true
			}
		}
	}
	o, ok := c.s.cron.next(c.from, c.s.Location())
	if !ok {
		c.done = true
		return time.Time{}, false
	}
	c.from = o.Add(time.Nanosecond)
	c.fast, c.wall, c.off = true, wallOf(o), int64(offsetOf(o))
	c.zStart, c.zEnd = o.ZoneBounds()
	return o, true
}

// ErrNoSchedule is returned by Parse for a job with neither a schedule nor
// a cron expression: a dependent job, which runs after its parents.
var ErrNoSchedule = errors.New("no schedule or cron: the job runs only after its parents")

// Parse reads a Job manifest's schedule fields: the ISO interval iso or the
// cron expression cron (exactly one of them), in the zone tz
// (scheduleTimeZone). Errors name the field they come from.
func Parse(iso, cron, tz string) (Schedule, error) {
	switch {
	case iso != "" && cron != "":
		return Schedule{}, errors.New("set schedule or cron, not both")
	case iso != "":
		s, err := ParseISO(iso, tz)
		if err != nil {
			return s, fmt.Errorf("schedule: %w", err)
		}
		return s, nil
	case cron != "":
		s, err := ParseCron(cron, tz)
		if err != nil {
			return s, fmt.Errorf("cron: %w", err)
		}
		return s, nil
	}
	return Schedule{}, ErrNoSchedule
}
