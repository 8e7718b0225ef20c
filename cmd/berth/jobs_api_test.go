package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

func intPtr(i int) *int { return &i }

func TestRenderJobsGolden(t *testing.T) {
	jobs := []decide.JobOutcome{
		{Name: "report", Schedule: "R/2026-03-01T02:30:00Z/P1D", Next: goldenNow.Add(90 * time.Minute),
			LastRun: "20261125T023000.000Z-schedule", LastState: "SUCCEEDED", SuccessCount: 42, ErrorCount: 1},
		{Name: "child", Parents: []string{"report", "load"}, LastRun: "20261125T023512.250Z-parents", LastState: "FAILED", ErrorCount: 3},
		{Name: "archive", Schedule: "R/2026-01-01T00:00:00Z/PT1H", Disabled: true, Next: goldenNow.Add(time.Hour)},
		{Name: "digest", Schedule: "0 9 * * MON-FRI", Next: goldenNow.Add(-time.Second), LastRun: "20261124T090000.000Z-manual", LastState: "RUNNING"},
		{Name: "broken", Schedule: "R/2026-01-01T00:00:00Z/P1D", Message: "unknown time zone Mars/Olympus"},
	}
	var buf bytes.Buffer
	renderJobList(&buf, jobs, goldenNow)
	checkGolden(t, "jobs.text", buf.String())

	runs := []cluster.JobRun{
		{Job: "report", RunID: "20261125T023000.000Z-schedule", State: cluster.JobRunFailed, Attempt: 3, Trigger: cluster.TriggerSchedule,
			ScheduledAt: goldenNow.Add(-10 * time.Hour), StartedAt: goldenNow.Add(-10*time.Hour + time.Second), FinishedAt: goldenNow.Add(-10*time.Hour + 5*time.Second),
			ExitCode: intPtr(1), AgentID: "a2", OutputTail: "job: task report.1 args []\nconnection refused\tretrying\njob: exiting 1\n"},
		{Job: "report", RunID: "20261124T023000.000Z-schedule", State: cluster.JobRunSkipped, Trigger: cluster.TriggerSchedule,
			ScheduledAt: goldenNow.Add(-34 * time.Hour), FinishedAt: goldenNow.Add(-30 * time.Hour), Message: "missed by more than epsilon PT1H"},
		{Job: "report", RunID: "20261123T120000.000Z-manual", State: cluster.JobRunRunning, Attempt: 1, Trigger: cluster.TriggerManual,
			ScheduledAt: goldenNow.Add(-48 * time.Hour), StartedAt: goldenNow.Add(-48 * time.Hour), AgentID: "a1"},
		{Job: "report", RunID: "20261122T120000.000Z-schedule", State: cluster.JobRunSucceeded, Attempt: 1, Trigger: cluster.TriggerSchedule,
			ScheduledAt: goldenNow.Add(-72 * time.Hour), StartedAt: goldenNow.Add(-72 * time.Hour), FinishedAt: goldenNow.Add(-71 * time.Hour),
			ExitCode: intPtr(0), AgentID: "a1", OutputTail: "job: exiting 0"},
	}
	buf.Reset()
	renderJobRuns(&buf, runs, 2)
	checkGolden(t, "jobs-history.text", buf.String())
	buf.Reset()
	renderJobRuns(&buf, runs, 0)
	checkGolden(t, "jobs-history-no-output.text", buf.String())
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 1, ""},
		{"one\n", 1, "one"},
		{"one\ntwo\n\n  \nthree\n", 2, "two | three"},
		{"a\nb", 5, "a | b"},
	}
	for _, tt := range tests {
		if got := lastLines(tt.in, tt.n); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	if got := runTime("20261125T023000.250Z-manual"); got != "2026-11-25T02:30:00Z" {
		t.Errorf("runTime = %q", got)
	}
	if got := runTime("odd"); got != "odd" {
		t.Errorf("runTime(odd) = %q", got)
	}
}

const cliJob = `kind: Job
name: nightly
command: /job
schedule: R/2099-01-01T02:00:00Z/P1D
cpus: 0.1
mem: 16
container:
  type: DOCKER
  image: berth/job:dev
`

// TestJobsCommands drives berth jobs, jobs run and jobs history against a
// real server whose stand-in agent keeps every task running.
func TestJobsCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	env := clienttest.Start(t, clienttest.Options{Files: map[string]string{"jobs/nightly.yaml": cliJob,
		"jobs/old.yaml": strings.Replace(cliJob, "name: nightly", "name: old\ndisabled: true", 1)}})
	env.WaitFor(t, "the jobs in the status", func() bool { return len(env.Reconciler.Status().Jobs) == 2 })

	out, _, err := runAPI(t, env, "jobs")
	if err != nil {
		t.Fatalf("berth jobs: %v", err)
	}
	if !strings.Contains(out, "nightly") || !strings.Contains(out, "2099-01-01T02:00:00Z") || !strings.Contains(out, "DISABLED") {
		t.Errorf("berth jobs:\n%s\nwant nightly with its next run, old disabled", out)
	}
	if _, _, err = runAPI(t, env, "jobs", "run", "old"); err == nil || !strings.Contains(err.Error(), "409") ||
		!strings.Contains(err.Error(), "jobs/old.yaml:1: job old has disabled: true") {
		t.Errorf("run of a disabled job: %v, want 409 naming the manifest", err)
	}
	_, stderr, err := runAPI(t, env, "jobs", "history", "nightly")
	if err != nil || !strings.Contains(stderr, "no recorded runs of nightly") {
		t.Errorf("history before any run: %v, stderr %q", err, stderr)
	}

	// Without the token, run is refused and says what to pass.
	_, _, err = runAPI(t, nil, "jobs", "run", "nightly", "--server", env.URL)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("run without a token: %v, want 401 with a hint", err)
	}
	if _, _, err = runAPI(t, env, "jobs", "run", "nope"); err == nil || !strings.Contains(err.Error(), `no job "nope"`) {
		t.Errorf("run of an undeclared job: %v", err)
	}
	out, _, err = runAPI(t, env, "jobs", "run", "nightly")
	if err != nil || !strings.Contains(out, "run of nightly requested") {
		t.Fatalf("berth jobs run: %v, %q", err, out)
	}
	env.WaitFor(t, "the manual run running", func() bool {
		runs, _ := env.State.JobRuns(t.Context(), "nightly")
		return len(runs) == 1 && runs[0].State == cluster.JobRunRunning
	})
	out, _, err = runAPI(t, env, "jobs", "history", "nightly")
	if err != nil {
		t.Fatalf("berth jobs history: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "RUNNING") || !strings.Contains(lines[1], "manual") || !strings.Contains(lines[1], "a1") {
		t.Errorf("berth jobs history:\n%s\nwant one RUNNING manual run on a1", out)
	}
	out, _, err = runAPI(t, env, "jobs", "history", "nightly", "-o", "json")
	if err != nil || !strings.Contains(out, `"trigger": "manual"`) {
		t.Errorf("history -o json: %v\n%s", err, out)
	}
	env.WaitFor(t, "the status to show the run", func() bool {
		for _, j := range env.Reconciler.Status().Jobs {
			if j.Name == "nightly" {
				return j.LastState == "RUNNING"
			}
		}
		return false
	})
	out, _, err = runAPI(t, env, "jobs", "-o", "json")
	if err != nil || !strings.Contains(out, `"lastState": "RUNNING"`) {
		t.Errorf("berth jobs -o json: %v\n%s", err, out)
	}
}

// FuzzJobHistoryCells feeds the history table whatever a run can hold: any
// run id, output and --tail must render without a panic, and the output
// column must keep at most --tail lines, on one line.
func FuzzJobHistoryCells(f *testing.F) {
	f.Add("20261125T023000.000Z-schedule", "job: task x\njob: exiting 1\n", 2)
	f.Add("odd-", "\n\n\t", 1)
	f.Add("", "", 0)
	f.Fuzz(func(t *testing.T, runID, output string, tail int) {
		tail %= 50
		if tail < 0 {
			tail = -tail
		}
		if tail > 0 {
			got := lastLines(output, tail)
			if strings.Contains(got, "\n") || (got != "" && strings.Count(got, " | ") >= tail) {
				t.Errorf("lastLines(%q, %d) = %q", output, tail, got)
			}
		}
		_ = runTime(runID)
		var buf bytes.Buffer
		renderJobRuns(&buf, []cluster.JobRun{{RunID: runID, OutputTail: output, Message: runID}}, tail)
		if n := strings.Count(buf.String(), "\n"); n != 2 {
			t.Errorf("history table has %d lines, want a header and one row:\n%s", n, buf.String())
		}
		renderJobList(&buf, []decide.JobOutcome{{Name: runID, LastRun: runID, Message: output}}, goldenNow)
	})
}
