package schedule

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. The benchmarks report it
// per pass beside wall time because the shared build machine runs many
// things at once, which inflates ns/op but not the CPU a pass costs.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchJobs builds n jobs with a mix of schedules a real cluster has: ISO
// intervals of minutes to months in several zones, cron expressions of every
// shape, some with epsilon, each last run about one period ago.
func benchJobs(b *testing.B, n int, now time.Time) ([]Schedule, []time.Time, []time.Duration) {
	b.Helper()
	zones := []string{"", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "PST"}
	isos := []string{"R/2024-01-01T02:30:00Z/P1D", "R/2025-06-01T00:05:00Z/PT1H", "R/2020-01-31T12:00:00Z/P1M",
		"R/2026-01-01T00:00:00.000Z/PT2M", "R/2023-03-01T08:00:00Z/P1W", "R100000/2026-01-01T00:00:00Z/PT30S",
		"R/2021-02-28T23:59:00Z/P1Y", "R/2026-11-01T00:00:00Z/P1DT6H"}
	crons := []string{"*/5 * * * *", "0 2 * * *", "30 9 * * MON-FRI", "0 0 1 * *", "15 */3 * * *", "@hourly", "0 0 13 * FRI", "@weekly"}
	scheds := make([]Schedule, n)
	lasts := make([]time.Time, n)
	eps := make([]time.Duration, n)
	for i := range n {
		tz := zones[i%len(zones)]
		var s Schedule
		var err error
		if i%2 == 0 {
			s, err = ParseISO(isos[(i/2)%len(isos)], tz)
		} else {
			s, err = ParseCron(crons[(i/2)%len(crons)], tz)
		}
		if err != nil {
			b.Fatal(err)
		}
		scheds[i] = s
		// The last handled occurrence as a running scheduler has it: the
		// latest one up to a few minutes ago, so a pass finds a few jobs due
		// and most not yet.
		lasts[i] = s.Due(now.Add(-48*time.Hour), now.Add(-time.Duration(i%7)*time.Minute), 0).Handled
		if i%3 == 0 {
			eps[i] = 15 * time.Minute
		}
	}
	return scheds, lasts, eps
}

// BenchmarkDue10k measures one scheduler pass: deciding what is due, and
// when to wake up next, for 10,000 jobs. The target is under 50 ms.
func BenchmarkDue10k(b *testing.B) {
	now := time.Date(2026, 11, 25, 14, 7, 30, 0, time.UTC)
	scheds, lasts, eps := benchJobs(b, 10000, now)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		due := 0
		for i, s := range scheds {
			if d := s.Due(lasts[i], now, eps[i]); !d.Run.IsZero() {
				due++
			}
		}
		if due == 0 {
			b.Fatal("nothing due: the benchmark is not exercising catch-up")
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkNext10k measures computing every job's next occurrence.
func BenchmarkNext10k(b *testing.B) {
	now := time.Date(2026, 11, 25, 14, 7, 30, 0, time.UTC)
	scheds, _, _ := benchJobs(b, 10000, now)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		for _, s := range scheds {
			s.Next(now)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

func BenchmarkParse(b *testing.B) {
	for _, e := range []string{"R/2026-01-01T02:00:00Z/PT24H", "30 9 * * MON-FRI"} {
		b.Run(fmt.Sprintf("%q", e), func(b *testing.B) {
			for b.Loop() {
				if e[0] == 'R' {
					_, _ = ParseISO(e, "Europe/Berlin")
				} else {
					_, _ = ParseCron(e, "Europe/Berlin")
				}
			}
		})
	}
}

// BenchmarkCronCatchUpYear is the worst catch-up a cron job can need: a
// minutely job back after a year of downtime, whose 525,000 missed runs are
// walked one by one to count them.
func BenchmarkCronCatchUpYear(b *testing.B) {
	s, err := ParseCron("* * * * *", "Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cpu0 := cpuTime(b)
	for b.Loop() {
		if d := s.Due(now.AddDate(-1, 0, 0), now, 0); d.SkippedCount < 500000 {
			b.Fatalf("skipped %d", d.SkippedCount)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkPreview is the schedule preview of one job in berth diff, for the
// costliest schedules: every second and every minute across two DST changes
// (each walks the occurrences around both), a daily job, and a catch-up of a
// minutely cron job a day behind.
func BenchmarkPreview(b *testing.B) {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ name, expr, tz string }{
		{"iso-every-second", "R/2026-01-01T00:00:00Z/PT1S", "America/Los_Angeles"},
		{"cron-every-minute", "* * * * *", "Europe/Berlin"},
		{"iso-daily", "R/2026-01-01T02:30:00Z/P1D", "Europe/Berlin"},
	} {
		var s Schedule
		var err error
		if c.expr[0] == 'R' {
			s, err = ParseISO(c.expr, c.tz)
		} else {
			s, err = ParseCron(c.expr, c.tz)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s.Preview(now, 5)
				s.CatchUp(now.Add(-24*time.Hour), now, 0)
				s.Last(now)
			}
		})
	}
}
