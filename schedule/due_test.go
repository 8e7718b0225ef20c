package schedule

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	const hourly = "R/2026-01-01T00:00:00Z/PT1H"
	tests := []struct {
		name           string
		expr, tz       string // cron when expr has spaces or starts with @
		last, now, eps string
		run            string
		skipped        []string
		skippedCount   int64
		handled, next  string
	}{
		{name: "nothing due yet", expr: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T10:59:59Z",
			handled: "2026-05-01T10:00:00Z", next: "2026-05-01T11:00:00Z"},
		{name: "due exactly now", expr: hourly, last: "2026-05-01T10:00:00Z", now: "2026-05-01T11:00:00Z",
			run: "2026-05-01T11:00:00Z", handled: "2026-05-01T11:00:00Z", next: "2026-05-01T12:00:00Z"},
		{name: "after downtime: one catch-up run of the latest occurrence (Chronos 3)", expr: hourly,
			last: "2026-05-01T10:00:00Z", now: "2026-05-01T15:30:00Z",
			run:     "2026-05-01T15:00:00Z",
			skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z"}, skippedCount: 4,
			handled: "2026-05-01T15:00:00Z", next: "2026-05-01T16:00:00Z"},
		{name: "epsilon: the latest is within epsilon and runs (Chronos 2)", expr: hourly, eps: "PT15M",
			last: "2026-05-01T10:00:00Z", now: "2026-05-01T15:10:00Z",
			run:     "2026-05-01T15:00:00Z",
			skipped: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z"}, skippedCount: 4,
			handled: "2026-05-01T15:00:00Z", next: "2026-05-01T16:00:00Z"},
		{name: "epsilon: exactly epsilon late still runs", expr: hourly, eps: "PT15M",
			last: "2026-05-01T14:00:00Z", now: "2026-05-01T15:15:00Z",
			run: "2026-05-01T15:00:00Z", handled: "2026-05-01T15:00:00Z", next: "2026-05-01T16:00:00Z"},
		{name: "epsilon: everything is too late, all skipped", expr: hourly, eps: "PT15M",
			last: "2026-05-01T10:00:00Z", now: "2026-05-01T15:30:00Z",
			skipped:      []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z", "2026-05-01T15:00:00Z"},
			skippedCount: 5, handled: "2026-05-01T15:00:00Z", next: "2026-05-01T16:00:00Z"},
		{name: "epsilon longer than the period: the oldest in epsilon runs, the next is already due", expr: hourly, eps: "PT2H",
			last: "2026-05-01T10:00:00Z", now: "2026-05-01T13:30:00Z",
			run: "2026-05-01T12:00:00Z", skipped: []string{"2026-05-01T11:00:00Z"}, skippedCount: 1,
			handled: "2026-05-01T12:00:00Z", next: "2026-05-01T13:00:00Z"},
		{name: "... and asked again it runs that one", expr: hourly, eps: "PT2H",
			last: "2026-05-01T12:00:00Z", now: "2026-05-01T13:30:01Z",
			run: "2026-05-01T13:00:00Z", handled: "2026-05-01T13:00:00Z", next: "2026-05-01T14:00:00Z"},
		{name: "new job whose start is long past: one run now, the rest counted", expr: "R/2000-01-01T00:00:00Z/PT1M",
			now: "2026-01-01T00:00:30Z", run: "2026-01-01T00:00:00Z", skippedCount: 9497 * 1440, // every minute of 26 years with 7 leap days
			handled: "2026-01-01T00:00:00Z", next: "2026-01-01T00:01:00Z"},
		{name: "new job starting in the future", expr: "R/2026-06-01T00:00:00Z/P1D",
			now: "2026-05-01T00:00:00Z", next: "2026-06-01T00:00:00Z"},
		{name: "R3 done", expr: "R3/2026-01-01T00:00:00Z/P1D", last: "2026-01-03T00:00:00Z", now: "2026-02-01T00:00:00Z",
			handled: "2026-01-03T00:00:00Z"},
		{name: "R3 catches up to its last run and ends", expr: "R3/2026-01-01T00:00:00Z/P1D", last: "2026-01-01T00:00:00Z", now: "2026-02-01T00:00:00Z",
			run: "2026-01-03T00:00:00Z", skipped: []string{"2026-01-02T00:00:00Z"}, skippedCount: 1, handled: "2026-01-03T00:00:00Z"},
		{name: "R3 with epsilon: all too late", expr: "R3/2026-01-01T00:00:00Z/P1D", eps: "PT1H", now: "2026-02-01T00:00:00Z",
			skipped: []string{"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}, skippedCount: 3, handled: "2026-01-03T00:00:00Z"},
		{name: "R0", expr: "R0/2026-01-01T00:00:00Z/P1D", now: "2026-02-01T00:00:00Z"},
		{name: "empty start, new job: runs now", expr: "R//PT1H", now: "2026-05-01T10:17:00Z",
			run: "2026-05-01T10:17:00Z", handled: "2026-05-01T10:17:00Z", next: "2026-05-01T11:17:00Z"},
		{name: "empty start counts from the last run", expr: "R//PT1H", last: "2026-05-01T10:17:00Z", now: "2026-05-01T11:20:00Z",
			run: "2026-05-01T11:17:00Z", handled: "2026-05-01T11:17:00Z", next: "2026-05-01T12:17:00Z"},
		{name: "daily 02:30 after the DST change", expr: "R/2026-03-01T02:30:00Z/P1D", tz: "America/Los_Angeles",
			last: "2026-03-07T02:30:00-08:00", now: "2026-03-08T04:00:00-07:00",
			run: "2026-03-08T03:30:00-07:00", handled: "2026-03-08T03:30:00-07:00", next: "2026-03-09T02:30:00-07:00"},
		{name: "cron, new job: nothing is owed", expr: "*/10 * * * *", now: "2026-05-01T10:05:00Z",
			next: "2026-05-01T10:10:00Z"},
		{name: "cron after downtime", expr: "*/10 * * * *", last: "2026-05-01T10:00:00Z", now: "2026-05-01T10:45:00Z",
			run:     "2026-05-01T10:40:00Z",
			skipped: []string{"2026-05-01T10:10:00Z", "2026-05-01T10:20:00Z", "2026-05-01T10:30:00Z"}, skippedCount: 3,
			handled: "2026-05-01T10:40:00Z", next: "2026-05-01T10:50:00Z"},
		{name: "cron with epsilon", expr: "@hourly", eps: "PT5M", last: "2026-05-01T10:00:00Z", now: "2026-05-01T12:04:00Z",
			run: "2026-05-01T12:00:00Z", skipped: []string{"2026-05-01T11:00:00Z"}, skippedCount: 1,
			handled: "2026-05-01T12:00:00Z", next: "2026-05-01T13:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Schedule
			var err error
			if strings.ContainsAny(tt.expr, " @") {
				s, err = ParseCron(tt.expr, tt.tz)
			} else {
				s, err = ParseISO(tt.expr, tt.tz)
			}
			if err != nil {
				t.Fatal(err)
			}
			var last time.Time
			if tt.last != "" {
				last = mustTime(t, tt.last)
			}
			var eps time.Duration
			if tt.eps != "" {
				if eps, err = ParseDuration(tt.eps); err != nil {
					t.Fatal(err)
				}
			}
			d := s.Due(last, mustTime(t, tt.now), eps)
			check := func(field string, got time.Time, want string) {
				t.Helper()
				if want == "" && !got.IsZero() || want != "" && !got.Equal(mustTime(t, want)) {
					t.Errorf("%s = %v, want %q", field, got, want)
				}
			}
			check("Run", d.Run, tt.run)
			check("Handled", d.Handled, tt.handled)
			check("Next", d.Next, tt.next)
			if d.SkippedCount != tt.skippedCount {
				t.Errorf("SkippedCount = %d, want %d", d.SkippedCount, tt.skippedCount)
			}
			if tt.skipped != nil || tt.skippedCount <= MaxSkippedListed {
				if got := format(d.Skipped); strings.Join(got, " ") != strings.Join(tt.skipped, " ") {
					t.Errorf("Skipped = %v, want %v", got, tt.skipped)
				}
			} else if len(d.Skipped) != MaxSkippedListed {
				t.Errorf("listed %d skipped, want the last %d", len(d.Skipped), MaxSkippedListed)
			}
			if d.Ended() != (tt.next == "") {
				t.Errorf("Ended() = %v with Next %v", d.Ended(), d.Next)
			}
		})
	}
}

// TestDueISOAgreesWithCron compares the ISO path, which jumps by index,
// with the cron path, which walks, on two spellings of the same series.
func TestDueISOAgreesWithCron(t *testing.T) {
	iso, err := ParseISO("R/2026-01-01T00:00:00Z/PT1M", "")
	if err != nil {
		t.Fatal(err)
	}
	cron, err := ParseCron("* * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	base := mustTime(t, "2026-03-01T00:00:00Z")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		last := base.Add(time.Duration(rng.IntN(600)) * time.Minute)
		now := last.Add(time.Duration(rng.Int64N(int64(500 * time.Minute))))
		eps := []time.Duration{0, 30 * time.Second, 7 * time.Minute, 3 * time.Hour}[rng.IntN(4)]
		a, b := iso.Due(last, now, eps), cron.Due(last, now, eps)
		if !a.Run.Equal(b.Run) || !a.Handled.Equal(b.Handled) || !a.Next.Equal(b.Next) ||
			a.SkippedCount != b.SkippedCount || !slices.EqualFunc(a.Skipped, b.Skipped, time.Time.Equal) {
			t.Fatalf("last %v now %v eps %v:\n iso  %+v\n cron %+v", last, now, eps, a, b)
		}
	}
}

func TestZeroSchedule(t *testing.T) {
	var s Schedule
	now := mustTime(t, "2026-05-01T10:00:00Z")
	if o, ok := s.Next(now); ok {
		t.Errorf("zero Schedule Next = %v", o)
	}
	if d := s.Due(time.Time{}, now, 0); !d.Run.IsZero() || !d.Ended() {
		t.Errorf("zero Schedule Due = %+v", d)
	}
}
