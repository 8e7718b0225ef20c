package schedule

import (
	"strings"
	"testing"
	"time"
)

func parseEither(t *testing.T, expr, tz string) Schedule {
	t.Helper()
	var s Schedule
	var err error
	if strings.HasPrefix(expr, "R") {
		s, err = ParseISO(expr, tz)
	} else {
		s, err = ParseCron(expr, tz)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPreviewWarnings checks each warning kind: which occurrence it names and
// what it says.
func TestPreviewWarnings(t *testing.T) {
	now := mustTime(t, "2026-03-01T00:00:00Z")
	type want struct {
		kind WarningKind
		at   string // RFC 3339, empty for none
		says string
	}
	tests := []struct {
		expr, tz string
		want     []want
	}{
		{"R/2026-03-06T02:30:00Z/P1D", "America/Los_Angeles", []want{
			{WarnDSTGap, "2026-03-08T03:30:00-07:00", "02:30 does not exist in America/Los_Angeles on 2026-03-08 (clocks jump forward 1h)"},
		}},
		{"R/2026-03-20T02:30:00Z/P1D", "Europe/Berlin", []want{
			{WarnDSTGap, "2026-03-29T03:30:00+02:00", "moved to 2026-03-29 03:30 CEST (01:30 UTC)"},
			{WarnDSTOverlap, "2026-10-25T02:30:00+02:00", "02:30 happens twice in Europe/Berlin on 2026-10-25 (clocks go back 1h): the job runs once, at the first"},
		}},
		{"30 2 * * *", "Europe/Berlin", []want{
			{WarnDSTGap, "2026-03-29T03:30:00+02:00", "02:30 does not exist"},
			{WarnDSTOverlap, "2026-10-25T02:30:00+02:00", "runs once"},
		}},
		{"*/30 1 * * *", "America/Los_Angeles", []want{
			{WarnDSTOverlap, "2026-11-01T01:00:00-07:00", "(and 1 more run that night)"},
		}},
		{"R/2026-03-08T00:30:00Z/PT1H", "America/Los_Angeles", []want{
			{WarnDSTOverlap, "2026-11-01T01:30:00-07:00", "elapsed time"},
		}},
		// Lord Howe Island moves its clocks by half an hour.
		{"R/2026-01-01T02:15:00Z/P1D", "Australia/Lord_Howe", []want{
			{WarnDSTGap, "2026-10-04T02:45:00+11:00", "clocks jump forward 30m"},
		}},
		{"R/2026-01-01T01:45:00Z/P1D", "Australia/Lord_Howe", []want{
			{WarnDSTOverlap, "2026-04-05T01:45:00+11:00", "clocks go back 30m"},
		}},
		{"R/2026-01-31T09:00:00Z/P1M", "", []want{
			{WarnShortMonth, "2026-04-30T09:00:00Z", "day 31"},
		}},
		{"R/2024-02-29T06:00:00Z/P1Y", "", []want{
			{WarnShortMonth, "2027-02-28T06:00:00Z", "day 29"},
		}},
		{"R/2026-01-30T09:00:00Z/P12M", "", nil},
		{"0 0 31 * *", "", []want{{WarnShortMonth, "", "no run at all in Feb, Apr, Jun, Sep, Nov"}}},
		{"0 0 29 * *", "", []want{{WarnShortMonth, "", "no run at all in Feb except in leap years"}}},
		{"0 0 15,31 * *", "", []want{{WarnShortMonth, "", "fewer runs in Feb, Apr, Jun, Sep, Nov"}}},
		{"0 0 31 * MON", "", nil}, // either day field matches: every Monday still runs
		{"R5/2025-01-01T00:00:00Z/P1D", "", []want{
			{WarnExhausted, "2025-01-05T00:00:00Z", "all 5 runs of R5 are before 2026-03-01T00:00:00Z"},
		}},
		{"R0/2027-01-01T00:00:00Z/P1D", "", []want{{WarnExhausted, "", "R0 never runs"}}},
		{"R/2026-01-01T00:00:00Z/PT1S", "America/Los_Angeles", []want{
			{WarnDSTOverlap, "2026-11-01T01:00:00-07:00", "(and more than 1939 more runs that night)"},
		}},
		{"* * * * *", "America/Los_Angeles", []want{
			{WarnDSTGap, "2026-03-08T03:00:00-07:00", "02:00 does not exist in America/Los_Angeles on 2026-03-08 (clocks jump forward 1h): the run is moved to 2026-03-08 03:00 PDT (10:00 UTC) (and 59 more runs that night)"},
			{WarnDSTOverlap, "2026-11-01T01:00:00-07:00", "(and 59 more runs that night)"},
		}},
		{"*/15 2 * * *", "America/Los_Angeles", []want{
			{WarnDSTGap, "2026-03-08T03:00:00-07:00", "(and 3 more runs that night)"},
		}},
		{"R/2026-03-07T12:00:00Z/PT24H", "America/Los_Angeles", []want{
			{WarnDSTShift, "2026-03-08T13:00:00-07:00", "PT24H counts elapsed hours, so when the clocks change in America/Los_Angeles on 2026-03-08 the runs move from 12:00 to 13:00 local time"},
			{WarnDSTShift, "2026-11-01T12:00:00-08:00", "from 13:00 to 12:00"},
		}},
		{"R/2026-01-01T12:00:00Z/P2DT12H", "America/Los_Angeles", nil},
		{"R/2026-01-01T12:00:00Z/P1D", "UTC", nil},
		{"0 9 * * MON-FRI", "Asia/Tokyo", nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.tz, func(t *testing.T) {
			p := parseEither(t, tt.expr, tt.tz).Preview(now, 5)
			if len(p.Warnings) != len(tt.want) {
				t.Fatalf("warnings = %+v, want %d", p.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				got := p.Warnings[i]
				at := ""
				if !got.At.IsZero() {
					at = got.At.Format(time.RFC3339)
				}
				if got.Kind != w.kind || at != w.at || !strings.Contains(got.Message, w.says) {
					t.Errorf("warning %d = %s at %q: %s\nwant %s at %q saying %q", i, got.Kind, at, got.Message, w.kind, w.at, w.says)
				}
			}
		})
	}
}

func TestPreviewNext(t *testing.T) {
	now := mustTime(t, "2026-03-01T00:00:00Z")
	p := parseEither(t, "R3/2026-03-01T00:00:00Z/P1D", "").Preview(now, 5)
	if len(p.Next) != 3 || !p.Ended {
		t.Errorf("R3 preview: next %v, ended %v; want 3 runs and ended", p.Next, p.Ended)
	}
	// Without a start the series starts at the moment previewed from.
	p = parseEither(t, "R//PT1H", "").Preview(now, 2)
	if len(p.Next) != 2 || !p.Next[0].Equal(now) || p.Ended {
		t.Errorf("R//PT1H preview: %+v", p)
	}
}

func TestCatchUp(t *testing.T) {
	now := mustTime(t, "2026-03-01T15:30:00Z")
	hourly := parseEither(t, "R/2026-03-01T00:00:00Z/PT1H", "")
	tests := []struct {
		name    string
		s       Schedule
		last    time.Time
		epsilon time.Duration
		runs    int
		first   string
		skipped int64
	}{
		{"new job, no epsilon: one run for the latest", hourly, time.Time{}, 0, 1, "2026-03-01T15:00:00Z", 15},
		{"epsilon longer than the outage: each runs", hourly, mustTime(t, "2026-03-01T12:00:00Z"), 4 * time.Hour, 3, "2026-03-01T13:00:00Z", 0},
		{"epsilon shorter: late ones skipped", hourly, time.Time{}, 15 * time.Minute, 0, "", 16},
		{"up to date", hourly, mustTime(t, "2026-03-01T15:00:00Z"), 0, 0, "", 0},
		{"start in the future", parseEither(t, "R/2026-04-01T00:00:00Z/P1D", ""), time.Time{}, 0, 0, "", 0},
		{"cron owes nothing from now", parseEither(t, "*/5 * * * *", ""), now, 0, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.s.CatchUp(tt.last, now, tt.epsilon)
			if c.RunCount != tt.runs || len(c.Runs) != tt.runs || c.Skipped != tt.skipped {
				t.Fatalf("catch-up = %+v, want %d runs, %d skipped", c, tt.runs, tt.skipped)
			}
			if tt.runs > 0 && c.Runs[0].Format(time.RFC3339) != tt.first {
				t.Errorf("first run %s, want %s", c.Runs[0].Format(time.RFC3339), tt.first)
			}
		})
	}
}

func TestLast(t *testing.T) {
	at := mustTime(t, "2026-03-01T15:30:00Z")
	tests := []struct {
		expr, tz, want string
	}{
		{"R/2026-03-01T00:00:00Z/PT1H", "", "2026-03-01T15:00:00Z"},
		{"R/2026-03-01T15:30:00Z/PT1H", "", "2026-03-01T15:30:00Z"},
		{"R3/2026-01-01T00:00:00Z/P1D", "", "2026-01-03T00:00:00Z"},
		{"R/2026-04-01T00:00:00Z/P1D", "", ""},
		{"R//PT1H", "", "2026-03-01T15:30:00Z"},
		{"*/7 * * * *", "", "2026-03-01T15:28:00Z"},
		{"0 0 29 2 *", "", "2024-02-29T00:00:00Z"},
		{"0 9 * * MON", "Europe/Berlin", "2026-02-23T09:00:00+01:00"},
	}
	for _, tt := range tests {
		got, ok := parseEither(t, tt.expr, tt.tz).Last(at)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != tt.want {
			t.Errorf("Last(%s %s) = %q, want %q", tt.expr, tt.tz, s, tt.want)
		}
	}
}
