package schedule

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCronOccurrences(t *testing.T) {
	tests := []struct {
		name, expr, tz, from string
		want                 []string
	}{
		{name: "every 15 minutes", expr: "*/15 * * * *", from: "2026-01-01T00:07:00Z",
			want: []string{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"}},
		{name: "at a whole minute is inclusive", expr: "*/15 * * * *", from: "2026-01-01T00:15:00Z",
			want: []string{"2026-01-01T00:15:00Z"}},
		{name: "seconds round up", expr: "*/15 * * * *", from: "2026-01-01T00:15:00.001Z",
			want: []string{"2026-01-01T00:30:00Z"}},
		{name: "list and range with step", expr: "5,35 8-18/5 * * *", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-01T08:05:00Z", "2026-01-01T08:35:00Z", "2026-01-01T13:05:00Z", "2026-01-01T13:35:00Z", "2026-01-01T18:05:00Z", "2026-01-01T18:35:00Z", "2026-01-02T08:05:00Z"}},
		{name: "value with step runs to the end", expr: "50/5 0 1 1 *", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-01T00:50:00Z", "2026-01-01T00:55:00Z", "2027-01-01T00:50:00Z"}},
		{name: "weekday names", expr: "0 9 * * MON-FRI", tz: "Europe/Berlin", from: "2026-11-27T00:00:00+01:00",
			want: []string{"2026-11-27T09:00:00+01:00", "2026-11-30T09:00:00+01:00"}},
		{name: "month names, lower case", expr: "0 0 1 jan,jul *", from: "2026-02-01T00:00:00Z",
			want: []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{name: "7 is Sunday", expr: "0 12 * * 7", from: "2026-11-25T00:00:00Z",
			want: []string{"2026-11-29T12:00:00Z", "2026-12-06T12:00:00Z"}},
		{name: "both day fields set: either matches (Vixie)", expr: "0 0 13 * FRI", from: "2026-11-01T00:00:00Z",
			want: []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"}},
		{name: "day-of-month starting with * makes both count (Vixie)", expr: "0 0 */2 * MON", from: "2026-11-01T00:00:00Z",
			want: []string{"2026-11-09T00:00:00Z", "2026-11-23T00:00:00Z"}},
		{name: "Feb 29 only in leap years", expr: "0 0 29 2 *", from: "2026-01-01T00:00:00Z",
			want: []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{name: "31st skips short months", expr: "0 0 31 * *", from: "2026-01-31T00:00:01Z",
			want: []string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
		{name: "@yearly", expr: "@yearly", from: "2026-11-25T00:00:00Z", want: []string{"2027-01-01T00:00:00Z"}},
		{name: "@annually", expr: "@annually", from: "2026-11-25T00:00:00Z", want: []string{"2027-01-01T00:00:00Z"}},
		{name: "@monthly", expr: "@monthly", from: "2026-11-25T00:00:00Z", want: []string{"2026-12-01T00:00:00Z"}},
		{name: "@weekly is Sunday midnight", expr: "@weekly", from: "2026-11-25T00:00:00Z", want: []string{"2026-11-29T00:00:00Z"}},
		{name: "@daily", expr: "@daily", from: "2026-11-25T00:00:01Z", want: []string{"2026-11-26T00:00:00Z"}},
		{name: "@midnight in a zone", expr: "@midnight", tz: "America/Los_Angeles", from: "2026-11-25T00:00:00Z",
			want: []string{"2026-11-25T00:00:00-08:00"}},
		{name: "@hourly", expr: "@hourly", from: "2026-11-25T10:00:01Z", want: []string{"2026-11-25T11:00:00Z"}},
		{name: "02:30 on the spring-forward day runs at 03:30", expr: "30 2 * * *", tz: "America/Los_Angeles", from: "2026-03-07T03:00:00-08:00",
			want: []string{"2026-03-08T03:30:00-07:00", "2026-03-09T02:30:00-07:00"}},
		{name: "asked inside the gap's shadow", expr: "30 2 * * *", tz: "America/Los_Angeles", from: "2026-03-08T03:10:00-07:00",
			want: []string{"2026-03-08T03:30:00-07:00", "2026-03-09T02:30:00-07:00"}},
		{name: "every 20 minutes across spring forward: gap minutes coincide with real ones", expr: "*/20 * * * *", tz: "America/Los_Angeles", from: "2026-03-08T01:30:00-08:00",
			want: []string{"2026-03-08T01:40:00-08:00", "2026-03-08T03:00:00-07:00", "2026-03-08T03:20:00-07:00"}},
		{name: "shifted gap minute and an earlier real minute", expr: "45 2,3 * * *", tz: "America/Los_Angeles", from: "2026-03-08T00:00:00-08:00",
			want: []string{"2026-03-08T03:45:00-07:00", "2026-03-09T02:45:00-07:00"}},
		{name: "hourly across fall back: the repeated hour runs once", expr: "0 * * * *", tz: "America/Los_Angeles", from: "2026-11-01T00:30:00-07:00",
			want: []string{"2026-11-01T01:00:00-07:00", "2026-11-01T02:00:00-08:00"}},
		{name: "asked during the repeated hour", expr: "30 1 * * *", tz: "America/Los_Angeles", from: "2026-11-01T01:10:00-08:00",
			want: []string{"2026-11-02T01:30:00-08:00"}},
		{name: "Berlin spring forward", expr: "30 2 * * *", tz: "Europe/Berlin", from: "2026-03-29T00:00:00+01:00",
			want: []string{"2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{name: "Berlin fall back", expr: "30 2 * * *", tz: "Europe/Berlin", from: "2026-10-25T00:00:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseCron(tt.expr, tt.tz)
			if err != nil {
				t.Fatalf("ParseCron(%q, %q): %v", tt.expr, tt.tz, err)
			}
			got := format(s.NextN(mustTime(t, tt.from), len(tt.want)))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s from %s:\n got %v\nwant %v", tt.expr, tt.from, got, tt.want)
			}
		})
	}
}

// TestCronMatchesBruteForce checks the field-skipping search and its DST
// handling against the definition: every matching wall-clock minute, resolved
// in the zone, deduplicated and sorted.
func TestCronMatchesBruteForce(t *testing.T) {
	exprs := []string{"*/7 * * * *", "30 2 * * *", "0,30 1-3 * * *", "15 */2 * * SUN", "59 23 31 * *", "0 0 13 * FRI", "45 2,3 8 3 *"}
	zones := []string{"UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe"}
	from := mustTime(t, "2026-02-27T00:00:00Z")
	to := mustTime(t, "2026-04-07T00:00:00Z")
	for _, zone := range zones {
		loc, err := LoadZone(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, expr := range exprs {
			s, err := ParseCron(expr, zone)
			if err != nil {
				t.Fatal(err)
			}
			var want []time.Time
			for w := wallOf(from.In(loc)).Add(-24 * time.Hour); w.Before(wallOf(to.In(loc)).Add(24 * time.Hour)); w = w.Add(time.Minute) {
				if s.cron.month&(1<<int(w.Month())) == 0 || !s.cron.dayMatches(w) || s.cron.hour&(1<<w.Hour()) == 0 || s.cron.minute&(1<<w.Minute()) == 0 {
					continue
				}
				if r := resolve(w, loc); !r.Before(from) && r.Before(to) {
					want = append(want, r)
				}
			}
			slices.SortFunc(want, time.Time.Compare)
			want = slices.CompactFunc(want, time.Time.Equal)
			var got []time.Time
			for _, o := range s.NextN(from, len(want)+1) {
				if o.Before(to) {
					got = append(got, o)
				}
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("%s in %s: NextN disagrees with brute force\n got %v\nwant %v", expr, zone, format(got), format(want))
			}
			// Next from arbitrary times, dense around the DST changes where
			// the search starts before a gap or inside a repeated hour.
			probes := []time.Time{}
			for i, w := range want {
				start, end := w.ZoneBounds()
				nearChange := !start.IsZero() && w.Sub(start) < 3*time.Hour || !end.IsZero() && end.Sub(w) < 3*time.Hour
				if !nearChange && i%11 != 0 {
					continue
				}
				for _, d := range []time.Duration{-time.Hour - time.Second, -31 * time.Minute, -time.Minute, -time.Nanosecond, 0, time.Second, 29 * time.Minute} {
					probes = append(probes, w.Add(d))
				}
			}
			for _, p := range probes {
				if p.Before(from) {
					continue
				}
				i, _ := slices.BinarySearchFunc(want, p, time.Time.Compare)
				if i == len(want) {
					continue
				}
				if got, ok := s.Next(p); !ok || !got.Equal(want[i]) {
					t.Errorf("%s in %s: Next(%s) = %s, want %s", expr, zone, p.In(loc).Format(time.RFC3339Nano), got.Format(time.RFC3339), want[i].Format(time.RFC3339))
				}
			}
		}
	}
}

func TestParseCronErrors(t *testing.T) {
	tests := []struct{ expr, tz, want string }{
		{"", "", "5 fields"},
		{"* * * *", "", "found 4"},
		{"* * * * * *", "", "found 6"},
		{"60 * * * *", "", "minute: \"60\" is not a number from 0 to 59"},
		{"* 24 * * *", "", "hour"},
		{"* * 0 * *", "", "day-of-month"},
		{"* * * 13 *", "", "month"},
		{"* * * * 8", "", "day-of-week"},
		{"* * * FOO *", "", "nor a name"},
		{"5-1 * * * *", "", "goes backwards"},
		{"*/0 * * * *", "", "step"},
		{"*/x * * * *", "", "step"},
		{"1,,2 * * * *", "", "empty list item"},
		{"1- * * * *", "", "missing value"},
		{"@reboot", "", "unknown shortcut"},
		{"0 0 30 2 *", "", "never occurs"},
		{"0 0 31 4,6,9,11 *", "", "never occurs"},
		{"0 0 * * *", "Nowhere/Town", "unknown time zone"},
	}
	for _, tt := range tests {
		_, err := ParseCron(tt.expr, tt.tz)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCron(%q, %q) = %v, want an error containing %q", tt.expr, tt.tz, err, tt.want)
		}
	}
}

func TestCronErrorPosition(t *testing.T) {
	_, err := ParseCron("0 9 * * MON-FRY", "")
	se, ok := err.(*SyntaxError)
	if !ok || se.Pos != 12 {
		t.Fatalf("got %#v, want a *SyntaxError at byte 12 (FRY)", err)
	}
}
