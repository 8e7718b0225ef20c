package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runBerth(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

func TestJobsNext(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"jobs/report.yaml": "kind: Job\nname: report\ncommand: ./report\nschedule: R/2026-03-01T02:30:00Z/P1D\nscheduleTimeZone: America/Los_Angeles\n",
		"jobs/digest.yaml": "kind: Job\nname: digest\ncommand: ./digest\ncron: 0 9 * * MON-FRI\nscheduleTimeZone: Europe/Berlin\n",
		"jobs/child.yaml":  "kind: Job\nname: child\ncommand: ./child\nparents: [report]\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		args       []string
		out, err   string // exact stdout; substring of the error or stderr
		wantFailed bool
	}{
		{name: "ISO schedule across spring forward",
			args: []string{"--schedule", "R/2026-03-06T02:30:00Z/P1D", "--tz", "America/Los_Angeles", "--from", "2026-03-07T00:00:00-08:00", "-n", "3"},
			out:  "2026-03-07T02:30:00-08:00\n2026-03-08T03:30:00-07:00\n2026-03-09T02:30:00-07:00\n"},
		{name: "cron with a zone",
			args: []string{"--cron", "0 9 * * MON-FRI", "--tz", "Europe/Berlin", "--from", "2026-11-27T10:00:00+01:00", "-n", "2"},
			out:  "2026-11-30T09:00:00+01:00\n2026-12-01T09:00:00+01:00\n"},
		{name: "a finite schedule says when it ends",
			args: []string{"--schedule", "R2/2026-01-01T00:00:00Z/P1D", "--from", "2026-01-01T00:00:00Z"},
			out:  "2026-01-01T00:00:00Z\n2026-01-02T00:00:00Z\n", err: "no further occurrences"},
		{name: "a job by name uses its scheduleTimeZone",
			args: []string{"report", "--dir", dir, "--from", "2026-03-07T12:00:00Z", "-n", "2"},
			out:  "2026-03-08T03:30:00-07:00\n2026-03-09T02:30:00-07:00\n"},
		{name: "a cron job by name",
			args: []string{"digest", "--dir", dir, "--from", "2026-11-28T00:00:00Z", "-n", "1"},
			out:  "2026-11-30T09:00:00+01:00\n"},
		{name: "JSON for scripts",
			args: []string{"--schedule", "R2/2026-01-01T00:00:00Z/P1D", "--tz", "PST", "--from", "2026-01-01T00:00:00Z", "--json"},
			out:  "{\n  \"schedule\": \"R2/2026-01-01T00:00:00Z/P1D\",\n  \"timeZone\": \"America/Los_Angeles\",\n  \"next\": [\n    \"2026-01-01T00:00:00-08:00\",\n    \"2026-01-02T00:00:00-08:00\"\n  ],\n  \"ended\": true\n}\n"},
		{name: "a dependent job has no schedule",
			args: []string{"child", "--dir", dir}, err: "runs after its parents (report)", wantFailed: true},
		{name: "unknown job lists the known ones",
			args: []string{"nope", "--dir", dir}, err: "child, digest, report", wantFailed: true},
		{name: "bad schedule names the flag and the column",
			args: []string{"--schedule", "R/2026-02-30T00:00:00Z/P1D"}, err: "--schedule: \"R/2026-02-30T00:00:00Z/P1D\" (at column 11): start: day 30 does not exist", wantFailed: true},
		{name: "bad --from", args: []string{"--cron", "@daily", "--from", "tomorrow"}, err: "RFC 3339", wantFailed: true},
		{name: "nothing to compute", args: nil, err: "exactly one of", wantFailed: true},
		{name: "two sources", args: []string{"report", "--cron", "@daily"}, err: "exactly one of", wantFailed: true},
		{name: "--tz with a name", args: []string{"report", "--dir", dir, "--tz", "UTC"}, err: "own scheduleTimeZone", wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runBerth(t, append([]string{"jobs", "next"}, tt.args...)...)
			if (err != nil) != tt.wantFailed {
				t.Fatalf("error = %v, stderr %q", err, errOut)
			}
			if out != tt.out {
				t.Errorf("stdout = %q, want %q", out, tt.out)
			}
			msg := errOut
			if err != nil {
				msg += err.Error()
			}
			if !strings.Contains(msg, tt.err) {
				t.Errorf("stderr/error = %q, want it to contain %q", msg, tt.err)
			}
		})
	}
}

// TestJobsNextExamples runs the command on the repository's examples, as the
// help text suggests.
func TestJobsNextExamples(t *testing.T) {
	out, errOut, err := runBerth(t, "jobs", "next", "chronos-nginx", "--dir", "../../examples", "--from", "2026-11-25T15:00:00Z", "-n", "2")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	// The example's schedule belongs to the examples; check the shape only.
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout = %q, want two times", out)
	}
	from := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	for _, l := range lines {
		if ts, err := time.Parse(time.RFC3339Nano, l); err != nil || ts.Before(from) {
			t.Errorf("line %q is not an RFC 3339 time at or after %v (%v)", l, from, err)
		}
	}
}
