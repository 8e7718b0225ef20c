package schedule

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func format(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, v := range ts {
		out[i] = v.Format(time.RFC3339Nano)
	}
	return out
}

func TestISOOccurrences(t *testing.T) {
	tests := []struct {
		name, expr, tz, from string
		want                 []string
		all                  bool // want lists every remaining occurrence
	}{
		{
			name: "daily in UTC",
			expr: "R/2026-01-01T02:00:00Z/PT24H", from: "2026-03-01T02:00:00Z",
			want: []string{"2026-03-01T02:00:00Z", "2026-03-02T02:00:00Z", "2026-03-03T02:00:00Z"},
		},
		{
			name: "from between occurrences",
			expr: "R/2026-01-01T02:00:00Z/PT24H", from: "2026-03-01T02:00:00.000000001Z",
			want: []string{"2026-03-02T02:00:00Z", "2026-03-03T02:00:00Z", "2026-03-04T02:00:00Z"},
		},
		{
			name: "from before the start",
			expr: "R/2026-06-01T00:00:00Z/P1W", from: "2020-01-01T00:00:00Z",
			want: []string{"2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z"},
		},
		{
			name: "daily 02:30 stays 02:30 across spring forward in Los Angeles; the missing 02:30 moves forward by the gap",
			expr: "R/2026-03-06T02:30:00Z/P1D", tz: "America/Los_Angeles", from: "2026-03-07T00:00:00-08:00",
			want: []string{"2026-03-07T02:30:00-08:00", "2026-03-08T03:30:00-07:00", "2026-03-09T02:30:00-07:00"},
		},
		{
			name: "daily 01:30 across fall back in Los Angeles takes the earlier offset",
			expr: "R/2026-10-30T01:30:00Z/P1D", tz: "America/Los_Angeles", from: "2026-10-31T00:00:00-07:00",
			want: []string{"2026-10-31T01:30:00-07:00", "2026-11-01T01:30:00-07:00", "2026-11-02T01:30:00-08:00"},
		},
		{
			name: "daily 02:30 across both Berlin changes",
			expr: "R/2026-03-28T02:30:00Z/P1D", tz: "Europe/Berlin", from: "2026-03-28T00:00:00+01:00",
			want: []string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"},
		},
		{
			name: "Berlin fall back: 02:30 happens twice, the first one counts",
			expr: "R/2026-10-24T02:30:00Z/P1D", tz: "Europe/Berlin", from: "2026-10-25T00:00:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
		},
		{
			name: "hours are elapsed time, as in Joda: hourly across spring forward",
			expr: "R/2026-03-08T00:30:00Z/PT1H", tz: "America/Los_Angeles", from: "2026-03-08T00:00:00-08:00",
			want: []string{"2026-03-08T00:30:00-08:00", "2026-03-08T01:30:00-08:00", "2026-03-08T03:30:00-07:00", "2026-03-08T04:30:00-07:00"},
		},
		{
			name: "P1D and PT24H differ on the DST day",
			expr: "R/2026-03-07T12:00:00Z/PT24H", tz: "America/Los_Angeles", from: "2026-03-07T00:00:00-08:00",
			want: []string{"2026-03-07T12:00:00-08:00", "2026-03-08T13:00:00-07:00", "2026-03-09T13:00:00-07:00"},
		},
		{
			name: "monthly from Jan 31 clamps to month ends without drifting",
			expr: "R/2026-01-31T09:00:00Z/P1M", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z", "2026-05-31T09:00:00Z"},
		},
		{
			name: "monthly from Jan 31 in a leap year",
			expr: "R/2028-01-31T00:00:00Z/P1M", from: "2028-01-31T00:00:00Z",
			want: []string{"2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"},
		},
		{
			name: "yearly from a leap day",
			expr: "R/2024-02-29T06:00:00Z/P1Y", from: "2024-02-29T06:00:00Z",
			want: []string{"2024-02-29T06:00:00Z", "2025-02-28T06:00:00Z", "2026-02-28T06:00:00Z", "2027-02-28T06:00:00Z", "2028-02-29T06:00:00Z"},
		},
		{
			name: "years and months are added separately, each clamped (Joda)",
			expr: "R/2024-01-31T00:00:00Z/P1Y1M", from: "2024-01-01T00:00:00Z",
			want: []string{"2024-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2026-03-31T00:00:00Z"},
		},
		{
			name: "mixed period P1DT12H",
			expr: "R/2026-01-01T00:00:00Z/P1DT12H", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-01T00:00:00Z", "2026-01-02T12:00:00Z", "2026-01-04T00:00:00Z"},
		},
		{
			name: "R5 is five runs in all, counted from the start",
			expr: "R5/2026-01-01T00:00:00Z/PT10M", from: "2025-01-01T00:00:00Z",
			all:  true,
			want: []string{"2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:40:00Z"},
		},
		{
			name: "R5 asked after its third run",
			expr: "R5/2026-01-01T00:00:00Z/PT10M", from: "2026-01-01T00:25:00Z",
			all:  true,
			want: []string{"2026-01-01T00:30:00Z", "2026-01-01T00:40:00Z"},
		},
		{
			name: "R5 finished",
			expr: "R5/2026-01-01T00:00:00Z/PT10M", from: "2026-01-01T00:40:01Z",
			all:  true,
			want: []string{},
		},
		{
			name: "R0 never runs",
			expr: "R0/2026-01-01T00:00:00Z/PT10M", from: "2020-01-01T00:00:00Z",
			all:  true,
			want: []string{},
		},
		{
			name: "R1 runs once",
			expr: "R1/2026-01-01T00:00:00Z/P1D", from: "2020-01-01T00:00:00Z",
			all:  true,
			want: []string{"2026-01-01T00:00:00Z"},
		},
		{
			name: "empty start is the time asked from",
			expr: "R//PT1H", from: "2026-05-05T10:17:00Z",
			want: []string{"2026-05-05T10:17:00Z", "2026-05-05T11:17:00Z", "2026-05-05T12:17:00Z"},
		},
		{
			name: "fractional seconds in the start (Chronos examples write .000Z)",
			expr: "R/2014-03-08T20:00:00.125Z/PT2H", from: "2014-03-08T21:00:00Z",
			want: []string{"2014-03-08T22:00:00.125Z", "2014-03-09T00:00:00.125Z"},
		},
		{
			name: "scheduleTimeZone PST keeps the wall clock of the start (Chronos docs example)",
			expr: "R/2014-10-10T18:32:00Z/PT60M", tz: "PST", from: "2014-10-10T00:00:00Z",
			want: []string{"2014-10-10T18:32:00-07:00", "2014-10-10T19:32:00-07:00"},
		},
		{
			name: "a start with an offset and no scheduleTimeZone stays on that offset",
			expr: "R/2026-03-07T02:30:00-08:00/P1D", from: "2026-03-07T00:00:00-08:00",
			want: []string{"2026-03-07T02:30:00-08:00", "2026-03-08T02:30:00-08:00"},
		},
		{
			name: "a start without an offset is UTC",
			expr: "R/2026-01-01T05:00/P1D", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-01T05:00:00Z", "2026-01-02T05:00:00Z"},
		},
		{
			name: "date-only start",
			expr: "R3/2026-01-01/P1W", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z", "2026-01-15T00:00:00Z"},
		},
		{
			name: "far from the start: index arithmetic, not iteration",
			expr: "R/2000-01-01T00:00:00Z/PT1S", from: "2026-06-15T12:34:56.5Z",
			want: []string{"2026-06-15T12:34:57Z", "2026-06-15T12:34:58Z"},
		},
		{
			name: "schedule ends at year 9999",
			expr: "R/9999-12-31T00:00:00Z/P1D", from: "9999-01-01T00:00:00Z",
			all:  true,
			want: []string{"9999-12-31T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseISO(tt.expr, tt.tz)
			if err != nil {
				t.Fatalf("ParseISO(%q, %q): %v", tt.expr, tt.tz, err)
			}
			n := len(tt.want)
			if tt.all {
				n += 3
			}
			got := format(s.NextN(mustTime(t, tt.from), n))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s from %s:\n got %v\nwant %v", tt.expr, tt.from, got, tt.want)
			}
		})
	}
}

// Occurrences are start + k x period, not the previous occurrence plus a
// period: after the Feb 28 occurrence, the next is Mar 31, not Mar 28.
func TestISONoDrift(t *testing.T) {
	s, err := ParseISO("R/2026-01-31T00:00:00Z/P1M", "")
	if err != nil {
		t.Fatal(err)
	}
	feb := mustTime(t, "2026-02-28T00:00:00Z")
	next, ok := s.Next(feb.Add(time.Nanosecond))
	if !ok || !next.Equal(mustTime(t, "2026-03-31T00:00:00Z")) {
		t.Fatalf("after Feb 28: got %v %v, want 2026-03-31", next, ok)
	}
}

func TestParseISOErrors(t *testing.T) {
	tests := []struct{ expr, tz, want string }{
		{"", "", "three parts"},
		{"R/2026-01-01T00:00:00Z", "", "three parts"},
		{"X/2026-01-01T00:00:00Z/P1D", "", "starts with R"},
		{"R-1/2026-01-01T00:00:00Z/P1D", "", "must be digits"},
		{"R99999999999/2026-01-01T00:00:00Z/P1D", "", "too large"},
		{"R/2026-13-01T00:00:00Z/P1D", "", "month 13"},
		{"R/2026-02-29T00:00:00Z/P1D", "", "day 29 does not exist in 2026-02"},
		{"R/2026-01-01T24:00:00Z/P1D", "", "hour must be 00-23"},
		{"R/2026-01-01T00:60:00Z/P1D", "", "minute must be 00-59"},
		{"R/2026-01-01T00:00:00X/P1D", "", "time zone offset"},
		{"R/2026-01-01T00:00:00+25:00/P1D", "", "offset hours"},
		{"R/yesterday/P1D", "", "expected a date"},
		{"R/2026-01-01T00:00:00Z/1D", "", "starts with P"},
		{"R/2026-01-01T00:00:00Z/P", "", "no parts"},
		{"R/2026-01-01T00:00:00Z/PT", "", "nothing follows T"},
		{"R/2026-01-01T00:00:00Z/P0D", "", "longer than zero"},
		{"R/2026-01-01T00:00:00Z/P1H", "", "belongs after T"},
		{"R/2026-01-01T00:00:00Z/PT1D", "", "unknown unit"},
		{"R/2026-01-01T00:00:00Z/P1D1Y", "", "out of order"},
		{"R/2026-01-01T00:00:00Z/P1.5D", "", "only seconds"},
		{"R/2026-01-01T00:00:00Z/PT1", "", "no unit"},
		{"R/2026-01-01T00:00:00Z/PT999999999H", "", "more than 100 years"},
		{"R/2026-01-01T00:00:00Z/P1D", "Mars/Olympus", "unknown time zone \"Mars/Olympus\""},
		{"R/2026-01-01T00:00:00Z/P1D", "../../etc/passwd", "unknown time zone"},
		{"R/2026-01-01T00:00:00Z/P1D", "Local", "not allowed"},
		{`R\/2026-01-01T00:00:00Z\/P1D`, "", "JSON-escaped"},
	}
	for _, tt := range tests {
		_, err := ParseISO(tt.expr, tt.tz)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseISO(%q, %q) = %v, want an error containing %q", tt.expr, tt.tz, err, tt.want)
		}
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := ParseISO("R/2026-13-01T00:00:00Z/P1D", "")
	se, ok := err.(*SyntaxError)
	if !ok {
		t.Fatalf("error %T %v is not a *SyntaxError", err, err)
	}
	if se.Pos != 7 {
		t.Errorf("Pos = %d, want 7 (the month)", se.Pos)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "PT15M", want: 15 * time.Minute},
		{in: "PT30S", want: 30 * time.Second},
		{in: "PT1.5S", want: 1500 * time.Millisecond},
		{in: "PT0S", want: 0},
		{in: "P1D", want: 24 * time.Hour},
		{in: "P1W", want: 7 * 24 * time.Hour},
		{in: "P1DT2H3M4S", want: 26*time.Hour + 3*time.Minute + 4*time.Second},
		{in: "P1M", err: "years or months"},
		{in: "P1Y", err: "years or months"},
		{in: "15m", err: "starts with P"},
		{in: "P999999999D", err: "longer than 100 years"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPeriodString(t *testing.T) {
	for _, in := range []string{"P1Y2M3W4DT5H6M7S", "PT10M", "P1W", "PT1.5S", "PT0.000000001S"} {
		p, err := parsePeriod(in, 0, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.String(); got != in {
			t.Errorf("parsePeriod(%q).String() = %q", in, got)
		}
	}
}

// Tiny periods far from their start stress the index search: the guess is
// enormous and every probe past year 9999 must count as "not before".
func TestISOExtremes(t *testing.T) {
	tests := []struct {
		expr, from string
		want       []string
	}{
		{"R/2000-01-01T00:00:00Z/PT0.000000001S", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000001Z"}},
		// More occurrences than an int64 counts: treated as ended rather than wrapped.
		{"R/0001-01-01T00:00:00Z/PT0.000000001S", "2026-01-01T00:00:00Z", []string{}},
		{"R/2000-01-01T00:00:00Z/PT1S", "2400-01-01T00:00:00.5Z", []string{"2400-01-01T00:00:01Z", "2400-01-01T00:00:02Z"}},
		{"R/2000-01-01T00:00:00Z/PT0.7S", "9999-12-31T23:59:59Z", []string{"9999-12-31T23:59:59.3Z"}},
		{"R/2026-01-01T00:00:00Z/PT0.000000001S", "2026-01-01T00:00:01Z", []string{"2026-01-01T00:00:01Z", "2026-01-01T00:00:01.000000001Z"}},
		{"R/0000-01-01T00:00:00Z/P1000000000Y", "2026-01-01T00:00:00Z", []string{}},
		{"R/9999-12-31T23:59:59Z/PT1S", "9999-12-31T23:59:59Z", []string{"9999-12-31T23:59:59Z"}},
		{"R1000000000/2026-01-01T00:00:00Z/P1D", "9000-01-01T00:00:00Z", []string{"9000-01-01T00:00:00Z", "9000-01-02T00:00:00Z"}},
	}
	for _, tt := range tests {
		s, err := ParseISO(tt.expr, "")
		if err != nil {
			t.Fatalf("ParseISO(%q): %v", tt.expr, err)
		}
		got := format(s.NextN(mustTime(t, tt.from), 2))
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s from %s: got %v, want %v", tt.expr, tt.from, got, tt.want)
		}
	}
}

// TestISONextMatchesScan checks the index search against the definition:
// the first of occurrence 0, 1, 2, ... at or after t.
func TestISONextMatchesScan(t *testing.T) {
	cases := []struct{ expr, tz string }{
		{"R/2026-01-31T09:00:00Z/P1M", ""},
		{"R/2024-02-29T06:00:00Z/P1Y", "Europe/Berlin"},
		{"R/2026-03-01T02:30:00Z/P1D", "America/Los_Angeles"},
		{"R/2026-03-01T00:10:00Z/PT7H", "Europe/Berlin"},
		{"R/2026-01-31T00:00:00Z/P1M1DT1H", "America/Los_Angeles"},
		{"R40/2026-01-01T00:00:00Z/P1W", ""},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		s, err := ParseISO(c.expr, c.tz)
		if err != nil {
			t.Fatal(err)
		}
		var all []time.Time
		for k := int64(0); k < min(s.iso.limit(), 150); k++ {
			o, _ := s.iso.at(s.iso.start, s.Location(), k)
			all = append(all, o)
		}
		for range 300 {
			p := all[0].Add(-48 * time.Hour).Add(time.Duration(rng.Int64N(int64(all[len(all)-1].Sub(all[0]) + 96*time.Hour))))
			i, _ := slices.BinarySearchFunc(all, p, time.Time.Compare)
			got, ok := s.Next(p)
			if i == len(all) {
				if ok && s.iso.repeats >= 0 {
					t.Errorf("%s: Next(%v) = %v after the last run", c.expr, p, got)
				}
				continue
			}
			if !ok || !got.Equal(all[i]) {
				t.Errorf("%s in %q: Next(%v) = %v %v, want %v", c.expr, c.tz, p, got, ok, all[i])
			}
		}
	}
}

func TestParseJobFields(t *testing.T) {
	tests := []struct{ iso, cron, tz, want string }{
		{"R/2026-01-01T00:00:00Z/P1D", "", "Europe/Berlin", ""},
		{"", "@daily", "PST", ""},
		{"R/2026-01-01T00:00:00Z/P1D", "@daily", "", "not both"},
		{"", "", "", "runs only after its parents"},
		{"R/2026-01-01T00:00:00Z/P0D", "", "", "schedule: "},
		{"", "0 0 * *", "", "cron: "},
	}
	for _, tt := range tests {
		_, err := Parse(tt.iso, tt.cron, tt.tz)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Parse(%q, %q, %q) = %v, want %q", tt.iso, tt.cron, tt.tz, err, tt.want)
		}
	}
}
