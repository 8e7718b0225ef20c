package decide_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

func job(name, sched string) manifests.Job {
	return manifests.Job{Name: name, Command: "true", Shell: true, Schedule: sched, CPUs: 0.1, Mem: 32, Retries: 2}
}

// A pass must not write into the snapshot's slices: with kept job records,
// the same slices are handed to the next pass.
func TestJobPassLeavesSnapshotRunsAlone(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	run := func(ago time.Duration, state cluster.JobRunState) cluster.JobRun {
		return cluster.JobRun{Job: "tick", RunID: decide.RunID(now.Add(-ago), cluster.TriggerSchedule), State: state, Attempt: 1, ScheduledAt: now.Add(-ago)}
	}
	tests := []struct {
		name    string
		runs    []cluster.JobRun
		handled time.Time
		written []string
		last    string
	}{
		{"a new run is appended", []cluster.JobRun{run(4*time.Second, cluster.JobRunSucceeded), run(2*time.Second, cluster.JobRunSucceeded)},
			now.Add(-2 * time.Second), []string{"tick"}, decide.RunID(now, cluster.TriggerSchedule)},
		{"a pending run is placed", []cluster.JobRun{run(4*time.Second, cluster.JobRunSucceeded), run(0, cluster.JobRunPending)},
			now, []string{"tick"}, decide.RunID(now, cluster.TriggerSchedule)},
		{"nothing due, nothing running", []cluster.JobRun{run(4*time.Second, cluster.JobRunSucceeded), run(2*time.Second, cluster.JobRunSucceeded)},
			now, nil, decide.RunID(now.Add(-2*time.Second), cluster.TriggerSchedule)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := make([]cluster.JobRun, len(tt.runs), 10) // room to append in place
			copy(stored, tt.runs)
			before := append([]cluster.JobRun(nil), stored[:cap(stored)]...)
			snap := decide.Input{Desired: &manifests.Set{Jobs: []manifests.Job{job("tick", "R/2026-01-01T00:00:00Z/PT2S")}}, Now: now,
				Agents:    []cluster.Agent{{ID: "a1", Reachable: true, Resources: cluster.Resources{CPUs: 4, Mem: 4096, Disk: 4096}}},
				JobStates: map[string]cluster.JobState{"tick": {Job: "tick", Anchor: now.Add(-time.Hour), LastHandled: tt.handled}},
				JobRuns:   map[string][]cluster.JobRun{"tick": stored}}
			snap.Schedules = decide.JobSchedules(snap.Desired)
			out := decide.Decide(snap, decide.Options{})
			if diff := cmp.Diff(before, stored[:cap(stored)]); diff != "" {
				t.Errorf("the pass changed the snapshot's runs (-before +after):\n%s", diff)
			}
			if !cmp.Equal(out.JobsWritten, tt.written, cmpopts.EquateEmpty()) || (len(tt.written) == 0) != (len(out.Changes) == 0) {
				t.Errorf("JobsWritten = %v with %d ops, want %v", out.JobsWritten, len(out.Changes), tt.written)
			}
			if len(out.Jobs) != 1 || out.Jobs[0].LastRun != tt.last {
				t.Errorf("outcome %+v, want last run %s", out.Jobs, tt.last)
			}
		})
	}
}

// Schedules parsed once per commit decide exactly as schedules parsed in
// the pass.
func TestJobSchedulesDecideAsParsing(t *testing.T) {
	jobs := decidebench.Jobs(500)
	states, runs := decidebench.History(jobs, 2)
	for name, st := range states {
		st.LastHandled = st.LastHandled.Add(-3 * time.Hour) // some are due
		states[name] = st
	}
	snap := decide.Input{Desired: &manifests.Set{Jobs: jobs}, Agents: decidebench.Agents(), JobStates: states, JobRuns: runs, Now: decidebench.Now}
	want := decide.Decide(snap, decide.Options{})
	snap.Schedules = decide.JobSchedules(snap.Desired)
	if len(snap.Schedules) < 400 {
		t.Fatalf("JobSchedules parsed %d of 500 jobs", len(snap.Schedules))
	}
	got := decide.Decide(snap, decide.Options{})
	if diff := cmp.Diff(want.Jobs, got.Jobs); diff != "" {
		t.Errorf("outcomes differ (-parsing +parsed once):\n%s", diff)
	}
	if !cmp.Equal(want.JobsWritten, got.JobsWritten) || len(got.JobsWritten) == 0 {
		t.Errorf("written %v, want %v (and some)", got.JobsWritten, want.JobsWritten)
	}
}
