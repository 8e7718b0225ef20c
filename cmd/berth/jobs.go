package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/schedule"
	"github.com/spf13/cobra"
)

// newJobsCmd is the `berth jobs` group: Chronos-style jobs and their
// schedules.
func newJobsCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List Chronos-style jobs; run them, read their history and schedules",
		Long: `jobs lists every declared job as the scheduler saw it in its last pass
(GET /v1/jobs): its schedule (or its parents), the next occurrence, the last
run and its state, and the success and error counts. Subcommands read a job's
history, run a job now and print a schedule's next occurrences.
See docs/jobs.md.`,
		Example: `  berth jobs
  berth jobs history nightly-report
  berth jobs run nightly-report
  berth jobs next nightly-report --dir examples`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			jobs, err := c.Jobs(ctx)
			if err != nil {
				return f.hint(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), jobs)
			}
			if len(jobs) == 0 {
				cmd.PrintErrln("no jobs")
				return nil
			}
			renderJobList(cmd.OutOrStdout(), jobs, time.Now())
			return nil
		},
	}
	f.register(cmd)
	cmd.AddCommand(
		newJobsNextCmd(),
		newJobsHistoryCmd(),
		newJobsRunCmd(),
	)
	return cmd
}

func newJobsHistoryCmd() *cobra.Command {
	var (
		f    apiFlags
		tail int
	)
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Print a job's recorded runs, newest first",
		Long: `history prints the runs the cluster state keeps for a job (the last 100,
GET /v1/jobs/NAME/runs), newest first: when each was due, started and ended,
its state and exit code, the agent, the attempt (1 + retries used), what
triggered it (schedule, parents or manual) and the last lines of its output
(--tail lines; -o json has the whole recorded tail).`,
		Example: `  berth jobs history nightly-report
  berth jobs history nightly-report --tail 5
  berth jobs history nightly-report -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tail < 0 {
				return fmt.Errorf("--tail must be 0 or more, found %d", tail)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			runs, err := c.JobRuns(ctx, args[0])
			if err != nil {
				return f.hint(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), runs)
			}
			if len(runs) == 0 {
				cmd.PrintErrf("no recorded runs of %s\n", args[0])
				return nil
			}
			renderJobRuns(cmd.OutOrStdout(), runs, tail)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&tail, "tail", 1, "lines of each run's output to show (0: none)")
	return cmd
}

func newJobsRunCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a job now (recorded as a manual run; needs the token)",
		Long: `run asks the leader to run a job now (POST /v1/jobs/NAME/run). The run is
recorded with the trigger "manual" in the next reconcile pass and follows the
job's rules like any other run: its retries, and concurrent: false (a run
asked for while another still runs is recorded SKIPPED). Follow it with
berth jobs history NAME.`,
		Example: `  berth jobs run nightly-report --token-file /etc/berth/token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			if err := c.RunJob(ctx, args[0]); err != nil {
				return f.hint(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"job": args[0], "run": "requested"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run of %s requested; follow it with: berth jobs history %s\n", args[0], args[0])
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// renderJobList prints the `berth jobs` table, sorted by name.
func renderJobList(w io.Writer, jobs []decide.JobOutcome, now time.Time) {
	jobs = append([]decide.JobOutcome(nil), jobs...)
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Name < jobs[j].Name })
	tw := newTable(w, "NAME", "SCHEDULE", "NEXT", "LAST RUN", "STATE", "SUCCESS", "ERRORS", "MESSAGE")
	for _, j := range jobs {
		sched := j.Schedule
		if len(j.Parents) > 0 {
			after := "after " + strings.Join(j.Parents, ",")
			if sched == "" {
				sched = after
			} else {
				sched += " + " + after
			}
		}
		next := ""
		if !j.Next.IsZero() {
			next = j.Next.Format(time.RFC3339) + " (" + until(now, j.Next) + ")"
		}
		state := j.LastState
		if j.Disabled {
			state = "DISABLED"
			next = ""
		}
		row(tw, j.Name, sched, next, runTime(j.LastRun), state, strconv.Itoa(j.SuccessCount), strconv.Itoa(j.ErrorCount), oneLine(j.Message))
	}
	tw.Flush()
}

// renderJobRuns prints `berth jobs history`, in the order given (newest
// first from the API), with the last tail lines of each run's output.
func renderJobRuns(w io.Writer, runs []cluster.JobRun, tail int) {
	header := []string{"DUE", "STARTED", "ENDED", "STATE", "EXIT", "AGENT", "ATTEMPT", "TRIGGER"}
	if tail > 0 {
		header = append(header, "OUTPUT")
	}
	tw := newTable(w, header...)
	for _, r := range runs {
		exit := ""
		if r.ExitCode != nil {
			exit = strconv.Itoa(*r.ExitCode)
		}
		attempt := ""
		if r.Attempt > 0 { // a skipped occurrence never had one
			attempt = strconv.Itoa(r.Attempt)
		}
		cells := []string{stamp(r.ScheduledAt), stamp(r.StartedAt), stamp(r.FinishedAt), string(r.State), exit, r.AgentID, attempt, r.Trigger}
		if tail > 0 {
			out := lastLines(r.OutputTail, tail)
			if out == "" {
				out = oneLine(r.Message) // a skipped or waiting run says why
			}
			cells = append(cells, out)
		}
		row(tw, cells...)
	}
	tw.Flush()
}

// runTime turns a run id (its due time and trigger) into the due time an
// operator reads in a table.
func runTime(runID string) string {
	at, _, ok := strings.Cut(runID, "-")
	if !ok {
		return runID
	}
	t, err := time.Parse("20060102T150405.000Z", at)
	if err != nil {
		return runID
	}
	return t.Format(time.RFC3339)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// until is how long from now to t, as `age` prints it.
func until(now, t time.Time) string {
	if !t.After(now) {
		return "due"
	}
	return "in " + age(now, t)
}

// lastLines is the last n non-empty lines of s joined with " | ", so a
// run's output fits one table row.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(oneLine(l)); l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	return strings.Join(kept, " | ")
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

// oneLine replaces control characters (a program's \r, \f or escape
// sequences) with spaces: the table writer would break rows at some of them,
// and a terminal would act on the others.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
