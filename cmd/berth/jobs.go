package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/schedule"
	"github.com/spf13/cobra"
)

// newJobsCmd is the `berth jobs` group: Chronos-style jobs and their
// schedules.
func newJobsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Inspect Chronos-style jobs and their schedules",
	}
	cmd.AddCommand(
		newJobsNextCmd(),
	)
	return cmd
}

func newJobsNextCmd() *cobra.Command {
	var (
		iso, cron, tz, from, dir string
		n                        int
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "next (NAME | --schedule EXPR [--tz ZONE] | --cron EXPR [--tz ZONE])",
		Short: "Print a schedule's next occurrences, one RFC 3339 time a line",
		Long: `next prints the next occurrences of a job's schedule at or after --from
(default now), in the schedule's time zone, so a schedule can be checked
before it merges. NAME is a Job in the manifests under --dir; --schedule takes
an ISO 8601 repeating interval (R/2026-01-01T02:00:00Z/P1D) and --cron a
5-field cron expression, with --tz as the job's scheduleTimeZone.
See docs/schedules.md.`,
		Example: `  berth jobs next chronos-nginx --dir examples
  berth jobs next --schedule R/2026-03-01T02:30:00Z/P1D --tz America/Los_Angeles
  berth jobs next --cron '0 9 * * MON-FRI' --tz Europe/Berlin -n 3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			given := 0
			for _, set := range []bool{len(args) == 1, iso != "", cron != ""} {
				if set {
					given++
				}
			}
			if given != 1 {
				return errors.New("give exactly one of NAME, --schedule or --cron")
			}
			if n < 1 || n > 100000 {
				return fmt.Errorf("-n must be between 1 and 100000, found %d", n)
			}
			start := time.Now()
			if from != "" {
				t, err := time.Parse(time.RFC3339Nano, from)
				if err != nil {
					return fmt.Errorf("--from %q is not an RFC 3339 time such as 2026-03-08T00:00:00-08:00", from)
				}
				start = t
			}
			var (
				s   schedule.Schedule
				err error
			)
			switch {
			case iso != "":
				s, err = schedule.ParseISO(iso, tz)
				if err != nil {
					return fmt.Errorf("--schedule: %w", err)
				}
			case cron != "":
				s, err = schedule.ParseCron(cron, tz)
				if err != nil {
					return fmt.Errorf("--cron: %w", err)
				}
			default:
				if tz != "" {
					return errors.New("--tz goes with --schedule or --cron; a named job uses its own scheduleTimeZone")
				}
				s, err = jobSchedule(cmd, dir, args[0])
				if err != nil {
					return err
				}
			}
			times := s.NextN(start, n)
			out := cmd.OutOrStdout()
			lines := make([]string, len(times))
			for i, t := range times {
				lines[i] = t.In(s.Location()).Format(time.RFC3339Nano)
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Schedule string   `json:"schedule"`
					TimeZone string   `json:"timeZone"`
					Next     []string `json:"next"`
					Ended    bool     `json:"ended"`
				}{s.String(), s.Location().String(), lines, len(times) < n})
			}
			for _, l := range lines {
				fmt.Fprintln(out, l)
			}
			if len(times) < n {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s has no further occurrences after %s\n", s, nthOr(times, start).Format(time.RFC3339Nano))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&iso, "schedule", "", "ISO 8601 repeating interval, e.g. R/2026-01-01T02:00:00Z/P1D")
	f.StringVar(&cron, "cron", "", "5-field cron expression or @daily-style shortcut")
	f.StringVar(&tz, "tz", "", "time zone of --schedule or --cron (IANA name, PST-style id or offset); default UTC or the start's offset")
	f.StringVar(&from, "from", "", "RFC 3339 time to start from (default now)")
	f.IntVarP(&n, "count", "n", 5, "number of occurrences to print")
	f.StringVar(&dir, "dir", ".", "manifest directory NAME is looked up in")
	f.BoolVar(&asJSON, "json", false, "print {schedule, timeZone, next, ended} as JSON")
	return cmd
}

func nthOr(times []time.Time, fallback time.Time) time.Time {
	if len(times) == 0 {
		return fallback
	}
	return times[len(times)-1]
}

// jobSchedule loads the manifests under dir and parses the named job's
// schedule or cron with its scheduleTimeZone.
func jobSchedule(cmd *cobra.Command, dir, name string) (schedule.Schedule, error) {
	set, err := manifests.LoadDir(dir)
	var list manifests.ErrorList
	if errors.As(err, &list) {
		fmt.Fprintln(cmd.ErrOrStderr(), list.Error())
		return schedule.Schedule{}, &exitError{code: 1, msg: fmt.Sprintf("berth jobs next: the manifests in %s have errors", dir)}
	}
	if err != nil {
		return schedule.Schedule{}, err
	}
	j := set.Job(name)
	if j == nil {
		names := make([]string, len(set.Jobs))
		for i, job := range set.Jobs {
			names[i] = job.Name
		}
		if len(names) == 0 {
			return schedule.Schedule{}, fmt.Errorf("no job named %q in %s: it declares no jobs", name, dir)
		}
		return schedule.Schedule{}, fmt.Errorf("no job named %q in %s; its jobs are: %s", name, dir, strings.Join(names, ", "))
	}
	where := fmt.Sprintf("%s:%d", j.Origin.File, j.Origin.Line)
	if j.Disabled {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: job %s is disabled: these times are when it would run\n", where, j.Name)
	}
	s, err := schedule.Parse(j.Schedule, j.Cron, j.ScheduleTimeZone)
	switch {
	case errors.Is(err, schedule.ErrNoSchedule):
		return s, fmt.Errorf("%s: job %s has no schedule: it runs after its parents (%s)", where, j.Name, strings.Join(j.Parents, ", "))
	case err != nil:
		return s, fmt.Errorf("%s: job %s: %w", where, j.Name, err)
	}
	return s, nil
}
