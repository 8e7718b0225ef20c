package schedule

import (
	"testing"
	"time"
)

// checkSeries asserts what must hold for any parsed schedule: occurrences
// are at or after the time asked, strictly increasing, each one is its own
// Next, and Due never panics.
func checkSeries(t *testing.T, s Schedule, from time.Time) {
	prev := time.Time{}
	for i, o := range s.NextN(from, 4) {
		if o.Before(from) {
			t.Fatalf("%q: occurrence %d %v is before %v", s, i, o, from)
		}
		if !prev.IsZero() && !o.After(prev) {
			t.Fatalf("%q: occurrence %d %v is not after %v", s, i, o, prev)
		}
		if s.HasStart() {
			if again, ok := s.Next(o); !ok || !again.Equal(o) {
				t.Fatalf("%q: Next(%v) = %v, %v", s, o, again, ok)
			}
		}
		prev = o
	}
	d := s.Due(from.Add(-3*time.Hour), from, time.Minute)
	if !d.Run.IsZero() && d.Run.After(from) {
		t.Fatalf("%q: Due ran %v after now %v", s, d.Run, from)
	}
	// The schedule preview of berth diff: same runs as NextN, nothing in the
	// past, and warnings about real occurrences.
	p := s.Preview(from, 4)
	if want := s.Anchor(from).NextN(from, 4); len(p.Next) != len(want) || (len(want) > 0 && !p.Next[0].Equal(want[0])) {
		t.Fatalf("%q: Preview(%v).Next = %v, NextN = %v", s, from, p.Next, want)
	}
	for _, w := range p.Warnings {
		if w.Message == "" {
			t.Fatalf("%q: warning %s without a message", s, w.Kind)
		}
	}
	if l, ok := s.Last(from); ok && l.After(from) {
		t.Fatalf("%q: Last(%v) = %v, after it", s, from, l)
	}
	c := s.CatchUp(from.Add(-3*time.Hour), from, time.Minute)
	for _, r := range c.Runs {
		if r.After(from) {
			t.Fatalf("%q: catch-up run %v after now %v", s, r, from)
		}
	}
}

// fuzzFrom is an hour before clocks go forward in Los Angeles.
func fuzzFrom() time.Time { return time.Date(2026, 3, 8, 9, 59, 0, 0, time.UTC) }

func FuzzParseISO(f *testing.F) {
	for _, seed := range []string{
		"R/2026-01-01T02:00:00Z/PT24H", "R5/2014-03-08T20:00:00.000Z/PT2H", "R0/2026-01-01T00:00:00Z/P1D",
		"R//PT1H", "R/2026-01-31T00:00:00+01:00/P1Y2M3DT4H5M6S", "R/2026-01-01/P1W", "R10/2012-10-01T05:52:00Z/PT2S",
		"R/2026-01-01T00:00:00Z/PT0.5S", "R/9999-12-31T23:59:59Z/P1D",
	} {
		f.Add(seed, "")
		f.Add(seed, "America/Los_Angeles")
	}
	f.Add("R/2014-10-10T18:32:00Z/PT60M", "PST")
	f.Fuzz(func(t *testing.T, expr, tz string) {
		s, err := ParseISO(expr, tz)
		if err != nil {
			return
		}
		checkSeries(t, s, fuzzFrom())
	})
}

func FuzzParseCron(f *testing.F) {
	for _, seed := range []string{
		"*/15 * * * *", "0 9 * * MON-FRI", "5,35 8-18/5 1,15 * *", "0 0 29 2 *", "@weekly", "@daily",
		"0 0 13 * FRI", "30 2 * * 7", "0 0 1 jan,JUL ?", "50/5 0 1 1 *",
	} {
		f.Add(seed, "")
		f.Add(seed, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, expr, tz string) {
		s, err := ParseCron(expr, tz)
		if err != nil {
			return
		}
		checkSeries(t, s, fuzzFrom())
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{"PT15M", "P1D", "PT1.5S", "P2W", "P1DT2H3M4S", "P1M"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDuration(in)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", in, d)
		}
	})
}
