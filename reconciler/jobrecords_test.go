package reconciler

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
)

func putRuns(t *testing.T, st *cluster.State, lead cluster.Leadership, runs ...cluster.JobRun) {
	t.Helper()
	var b cluster.Batch
	for _, r := range runs {
		b.PutJobRun(r)
		b.PutJobState(cluster.JobState{Job: r.Job, SuccessCount: len(r.RunID)})
	}
	if _, err := st.Commit(context.Background(), lead, &b); err != nil {
		t.Fatal(err)
	}
}

// The loop keeps job records between passes and re-reads only the jobs its
// own commits wrote; a reset (failed commit, new term) re-reads everything.
func TestJobRecordsRereadOnlyWrittenJobs(t *testing.T) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "s1")
	if err != nil {
		t.Fatal(err)
	}
	run := func(job, id string) cluster.JobRun {
		return cluster.JobRun{Job: job, RunID: id, State: cluster.JobRunSucceeded, Attempt: 1}
	}
	putRuns(t, st, lead, run("a", "1"), run("b", "1"), run("gone", "1"))
	desired := &manifests.Set{Jobs: []manifests.Job{{Name: "a"}, {Name: "b"}}}
	ids := func(runs []cluster.JobRun) []string {
		out := []string{}
		for _, r := range runs {
			out = append(out, r.RunID)
		}
		return out
	}

	var c jobRecords
	states, runs, err := c.read(ctx, st, desired)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 3 || len(runs) != 3 || len(runs["gone"]) != 1 {
		t.Fatalf("first read: states %v runs %v, want every job's, undeclared ones too", states, runs)
	}

	putRuns(t, st, lead, run("a", "22"), run("b", "22"))
	c.wrote([]string{"a"}) // only a's write went through the loop
	states, runs, err = c.read(ctx, st, desired)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(runs["a"]); !cmp.Equal(got, []string{"1", "22"}) {
		t.Errorf("runs of a after the loop wrote it: %v", got)
	}
	if got := ids(runs["b"]); !cmp.Equal(got, []string{"1"}) {
		t.Errorf("runs of b were re-read (%v): nothing the loop wrote changed them", got)
	}
	if states["b"].SuccessCount != 2 {
		t.Errorf("states are re-read after any job write: b = %+v", states["b"])
	}

	// A job new in the desired state is read even if nothing wrote it.
	putRuns(t, st, lead, run("new", "7"))
	desired.Jobs = append(desired.Jobs, manifests.Job{Name: "new"})
	_, runs, err = c.read(ctx, st, desired)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(runs["new"]); !cmp.Equal(got, []string{"7"}) {
		t.Errorf("runs of a newly declared job: %v", got)
	}

	c.reset()
	_, runs, err = c.read(ctx, st, desired)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(runs["b"]); !cmp.Equal(got, []string{"1", "22"}) {
		t.Errorf("runs of b after a reset: %v", got)
	}
	var none *jobRecords
	none.wrote([]string{"a"}) // outside Run there is no copy: a no-op
	none.reset()
}

// A pass reusing the previous pass's NextDue decides exactly as one that
// computes every job's schedule again, over hours of passes whose writes are
// committed, across occurrences coming due and a commit that changes
// schedules.
func TestJobNextDueDecidesAsComputing(t *testing.T) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "s1")
	if err != nil {
		t.Fatal(err)
	}
	jobs := benchJobs(150)
	set := &manifests.Set{Jobs: jobs}
	snap := decide.Input{Desired: set, Agents: benchAgents(), Schedules: decide.JobSchedules(set)}
	var memo decide.NextDue
	hits := 0
	for step := range 24 {
		snap.Now = benchNow.Add(time.Duration(step) * 5 * time.Minute)
		if step == 14 {
			// A new commit: other schedules for a third of the jobs, while
			// their old next runs are remembered.
			changed := append([]manifests.Job(nil), jobs...)
			for i := range changed {
				if i%3 == 0 && changed[i].Schedule != "" {
					changed[i].Schedule = "R/2026-01-01T00:02:00Z/PT20M"
				}
			}
			snap.Desired = &manifests.Set{Jobs: changed}
			snap.Schedules = decide.JobSchedules(snap.Desired)
		}
		if snap.JobStates, snap.JobRuns, err = readJobRecords(ctx, st, snap.Desired); err != nil {
			t.Fatal(err)
		}
		snap.NextDue = nil
		want := decide.Decide(snap, decide.Options{})
		snap.NextDue = memo
		got := decide.Decide(snap, decide.Options{})
		// reflect.DeepEqual first: cmp.Diff is slow on thousands of ops.
		if !reflect.DeepEqual(want.Jobs, got.Jobs) {
			t.Fatalf("step %d: outcomes differ (-computed +reused):\n%s", step, cmp.Diff(want.Jobs, got.Jobs))
		}
		if !reflect.DeepEqual(want.Changes, got.Changes) {
			t.Fatalf("step %d: changes differ (-computed +reused):\n%s", step, cmp.Diff(want.Changes, got.Changes))
		}
		if !want.RequeueAt.Equal(got.RequeueAt) {
			t.Fatalf("step %d: requeue %s, want %s", step, got.RequeueAt, want.RequeueAt)
		}
		for name, e := range got.NextDue {
			if old, ok := memo[name]; ok && old == e {
				hits++
			}
		}
		memo = got.NextDue
		b, err := batchOf(want.Changes, "main")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Commit(ctx, lead, b); err != nil {
			t.Fatal(err)
		}
	}
	if hits < 500 {
		t.Errorf("only %d reuses over 24 passes of 150 jobs: NextDue is not doing its job", hits)
	}
}
