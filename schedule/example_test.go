package schedule_test

import (
	"fmt"
	"time"

	"github.com/berthops/berth/schedule"
)

func ExampleParseISO() {
	// A daily 02:30 job in Los Angeles keeps its local time across the
	// spring-forward night, when 02:30 does not exist and it runs at 03:30.
	s, err := schedule.ParseISO("R/2026-03-06T02:30:00Z/P1D", "America/Los_Angeles")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range s.NextN(time.Date(2026, 3, 7, 0, 0, 0, 0, s.Location()), 3) {
		fmt.Println(t.Format(time.RFC3339))
	}
	// Output:
	// 2026-03-07T02:30:00-08:00
	// 2026-03-08T03:30:00-07:00
	// 2026-03-09T02:30:00-07:00
}

func ExampleSchedule_Due() {
	s, _ := schedule.ParseCron("@hourly", "")
	last := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := time.Date(2026, 5, 1, 15, 30, 0, 0, time.UTC)

	// Down from 10:00 to 15:30: one catch-up run for 15:00 (Chronos 3) ...
	d := s.Due(last, now, 0)
	fmt.Println("run", d.Run.Format("15:04"), "skipped", d.SkippedCount, "next", d.Next.Format("15:04"))

	// ... or, with an epsilon of 15 minutes, nothing recent enough to run (Chronos 2).
	d = s.Due(last, now, 15*time.Minute)
	fmt.Println("run", !d.Run.IsZero(), "skipped", d.SkippedCount, "next", d.Next.Format("15:04"))
	// Output:
	// run 15:00 skipped 4 next 16:00
	// run false skipped 5 next 16:00
}

func ExampleParseDuration() {
	eps, _ := schedule.ParseDuration("PT15M")
	fmt.Println(eps)
	// Output: 15m0s
}
