package reconciler

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
)

// jobEnv runs passes against a real in-memory store with a scripted agent,
// stepping a fake clock, so whole job histories can be checked quickly.
type jobEnv struct {
	t     *testing.T
	ctx   context.Context
	st    *cluster.State
	lead  cluster.Leadership
	r     *Reconciler
	now   time.Time
	set   *manifests.Set
	exit  func(cluster.Assignment) (code int, ok bool) // ok=false: still running
	began map[string]time.Time
	// regs are the agents' live registrations: closing one loses the agent.
	regs map[string]cluster.Registration
}

func newJobEnv(t *testing.T, jobs ...manifests.Job) *jobEnv {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	e := &jobEnv{t: t, ctx: ctx, st: st, lead: lead, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		set: &manifests.Set{Jobs: jobs}, began: map[string]time.Time{}}
	e.exit = func(cluster.Assignment) (int, bool) { return 0, true }
	e.r = New(Config{Now: func() time.Time { return e.now }}, nil, st)
	reg, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1", Hostname: "a1", Reachable: true,
		Resources: cluster.Resources{CPUs: 8, Mem: 8192, Disk: 8192}})
	if err != nil {
		t.Fatal(err)
	}
	e.regs = map[string]cluster.Registration{"a1": reg}
	return e
}

// pass runs one reconcile pass and commits it.
func (e *jobEnv) pass(manual ...string) decide.Result {
	e.t.Helper()
	in, err := e.r.input(e.ctx, e.set, "c1")
	if err != nil {
		e.t.Fatal(err)
	}
	in.ManualRuns = manual
	out := decide.Decide(in, e.r.cfg.Pass)
	b, err := batchOf(out.Changes, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.Commit(e.ctx, e.lead, b); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// agent reports on every assigned task as the script says.
func (e *jobEnv) agent() {
	e.t.Helper()
	tasks, err := e.st.Tasks(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range tasks {
		if t.Status.State.Terminal() {
			continue
		}
		if _, ok := e.began[t.TaskID]; !ok {
			e.began[t.TaskID] = e.now
		}
		st := cluster.TaskStatus{TaskID: t.TaskID, AgentID: t.AgentID, State: cluster.TaskRunning, StartedAt: e.began[t.TaskID], UpdatedAt: e.now}
		if t.Kill {
			st.State = cluster.TaskKilled
		} else if code, done := e.exit(t.Assignment); done {
			st.State = cluster.TaskFinished
			if code != 0 {
				st.State = cluster.TaskFailed
			}
			st.ExitCode = &code
			st.OutputTail = "bye"
		}
		if err := e.st.PutStatuses(e.ctx, st); err != nil {
			e.t.Fatal(err)
		}
	}
}

// run steps the clock by step, n times, with a pass, the agent and a
// second pass each time.
func (e *jobEnv) run(step time.Duration, n int) {
	for i := 0; i < n; i++ {
		e.pass()
		e.agent()
		e.pass()
		e.now = e.now.Add(step)
	}
}

func (e *jobEnv) runs(job string) []cluster.JobRun {
	runs, err := e.st.JobRuns(e.ctx, job)
	if err != nil {
		e.t.Fatal(err)
	}
	return runs
}

func countRuns(runs []cluster.JobRun, state cluster.JobRunState) int {
	n := 0
	for _, r := range runs {
		if r.State == state {
			n++
		}
	}
	return n
}

func job(name, sched string) manifests.Job {
	return manifests.Job{Name: name, Command: "true", Shell: true, Schedule: sched, CPUs: 0.1, Mem: 32, Retries: 2}
}

func TestJobEveryTwoSecondsRunsOncePerOccurrence(t *testing.T) {
	e := newJobEnv(t, job("tick", "R/2026-01-01T00:00:00Z/PT2S"))
	e.run(time.Second, 11) // t = 0..10 s
	runs := e.runs("tick")
	if got := countRuns(runs, cluster.JobRunSucceeded); got != 6 || len(runs) != 6 {
		t.Fatalf("runs: %d succeeded of %d, want 6 of 6: %+v", got, len(runs), runs)
	}
	for i, r := range runs {
		if want := e.now.Add(-11 * time.Second).Add(time.Duration(2*i) * time.Second); !r.ScheduledAt.Equal(want) {
			t.Errorf("run %d scheduled at %s, want %s", i, r.ScheduledAt, want)
		}
		if r.Trigger != cluster.TriggerSchedule || r.AgentID != "a1" || r.ExitCode == nil || *r.ExitCode != 0 || r.OutputTail != "bye" {
			t.Errorf("run %d recorded %+v", i, r)
		}
	}
	states, _ := e.st.JobStates(e.ctx)
	if states["tick"].SuccessCount != 6 {
		t.Errorf("success count %d", states["tick"].SuccessCount)
	}
	if tasks, _ := e.st.Tasks(e.ctx); len(tasks) != 0 {
		t.Errorf("%d finished tasks left assigned", len(tasks))
	}
}

func TestJobFailureIsRetriedThenRecordedFailed(t *testing.T) {
	e := newJobEnv(t, job("flaky", "R1/2026-01-01T00:00:00Z/PT1H"))
	attempts := 0
	e.exit = func(cluster.Assignment) (int, bool) { attempts++; return 3, true }
	e.run(time.Second, 6)
	runs := e.runs("flaky")
	if len(runs) != 1 || runs[0].State != cluster.JobRunFailed || runs[0].Attempt != 3 || attempts != 3 {
		t.Fatalf("want one FAILED run after 3 attempts (retries 2); got %d attempts, runs %+v", attempts, runs)
	}
	if runs[0].ExitCode == nil || *runs[0].ExitCode != 3 {
		t.Errorf("exit code not recorded: %+v", runs[0])
	}
	states, _ := e.st.JobStates(e.ctx)
	if states["flaky"].ErrorCount != 1 {
		t.Errorf("error count %d", states["flaky"].ErrorCount)
	}
}

func TestJobParentsTriggerChildren(t *testing.T) {
	parent := job("daily", "R/2026-01-01T00:00:02Z/PT10S")
	other := job("other", "R/2026-01-01T00:00:04Z/PT10S")
	child := job("report", "")
	child.Parents = []string{"daily"}
	both := job("both", "")
	both.Parents = []string{"daily", "other"}
	e := newJobEnv(t, parent, other, child, both)
	e.run(time.Second, 4) // daily ran at 2 s, its child at 2 s to 3 s
	if got := countRuns(e.runs("report"), cluster.JobRunSucceeded); got != 1 {
		t.Fatalf("child ran %d times after one parent success, want 1", got)
	}
	if got := len(e.runs("both")); got != 0 {
		t.Fatalf("a child of two parents ran before both succeeded")
	}
	e.run(time.Second, 3) // other ran at 4 s
	if got := countRuns(e.runs("both"), cluster.JobRunSucceeded); got != 1 {
		t.Fatalf("child of two parents ran %d times, want 1", got)
	}
	e.run(time.Second, 10) // daily at 12 s, other at 14 s
	if got := countRuns(e.runs("report"), cluster.JobRunSucceeded); got != 2 {
		t.Errorf("child ran %d times after two parent successes, want 2", got)
	}
	if got := countRuns(e.runs("both"), cluster.JobRunSucceeded); got != 2 {
		t.Errorf("two-parent child ran %d times, want 2", got)
	}
	// A failed parent does not trigger its child.
	e.exit = func(a cluster.Assignment) (int, bool) {
		if a.OwnerID == "daily" {
			return 1, true
		}
		return 0, true
	}
	e.run(time.Second, 10)
	if got := countRuns(e.runs("report"), cluster.JobRunSucceeded); got != 2 {
		t.Errorf("a failed parent triggered its child: %d runs", got)
	}
}

func TestJobNotConcurrentSkipsWhileRunning(t *testing.T) {
	e := newJobEnv(t, job("slow", "R/2026-01-01T00:00:00Z/PT1S"))
	e.exit = func(a cluster.Assignment) (int, bool) { return 0, e.now.Sub(e.began[a.TaskID]) >= 3*time.Second }
	e.run(time.Second, 8)
	runs := e.runs("slow")
	if countRuns(runs, cluster.JobRunSkipped) == 0 {
		t.Fatalf("no run was recorded as skipped: %+v", runs)
	}
	for _, r := range runs {
		if r.State == cluster.JobRunSkipped && r.Message == "" {
			t.Errorf("skipped run without a reason: %+v", r)
		}
	}
	tasks, _ := e.st.Tasks(e.ctx)
	if len(tasks) > 1 {
		t.Errorf("%d tasks at once for a non-concurrent job", len(tasks))
	}
}

func TestJobEpsilonSkipsLateRuns(t *testing.T) {
	j := job("hourly", "R/2026-01-01T00:00:00Z/PT1H")
	j.Epsilon = "PT30M"
	e := newJobEnv(t, j)
	e.now = e.now.Add(5*time.Hour + 10*time.Minute) // Berth was down for five hours
	e.run(time.Second, 2)
	runs := e.runs("hourly")
	if countRuns(runs, cluster.JobRunSkipped) != 5 || countRuns(runs, cluster.JobRunSucceeded) != 1 {
		t.Fatalf("want 5 skipped (more than epsilon late) and the 05:00 run: %+v", runs)
	}
}

// TestJobOnAgentLostBeforeReportingDoesNotStallPasses is what the fault
// soak found: a run's task assigned to an agent that is killed before it
// reports anything has no status node. Once the agent is lost the run is
// retried and the task forgotten; deleting its (missing) status used to fail
// the whole batch, so every pass failed, for every app and job, until the
// agent came back.
func TestJobOnAgentLostBeforeReportingDoesNotStallPasses(t *testing.T) {
	e := newJobEnv(t, job("tick", "R/2026-01-01T00:00:00Z/PT1H"))
	e.pass()
	tasks, err := e.st.Tasks(e.ctx)
	if err != nil || len(tasks) != 1 || tasks[0].AgentID != "a1" {
		t.Fatalf("tasks %+v, %v: want the run's task on a1", tasks, err)
	}
	if err := e.regs["a1"].Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := e.st.RegisterAgent(e.ctx, cluster.Agent{ID: "a2", Hostname: "a2", Reachable: true,
		Resources: cluster.Resources{CPUs: 8, Mem: 8192, Disk: 8192}})
	if err != nil {
		t.Fatal(err)
	}
	e.regs["a2"] = reg
	e.now = e.now.Add(time.Second)
	e.pass() // fails the test if the batch fails
	e.agent()
	e.pass()
	runs := e.runs("tick")
	if len(runs) != 1 || runs[0].State != cluster.JobRunSucceeded || runs[0].Attempt != 2 || runs[0].AgentID != "a2" {
		t.Fatalf("want the run retried on a2 and succeeded as attempt 2, got %+v", runs)
	}
}

func TestJobManualRunAndLeaderChangeNeverDoubles(t *testing.T) {
	e := newJobEnv(t, job("nightly", "R/2026-01-01T00:00:00Z/P1D"))
	e.exit = func(cluster.Assignment) (int, bool) { return 0, false }
	// Two leaders deciding from the same state decide the same run and task.
	snap, err := e.r.input(e.ctx, e.set, "c1")
	if err != nil {
		t.Fatal(err)
	}
	a := decide.Decide(snap, e.r.cfg.Pass)
	b := decide.Decide(snap, e.r.cfg.Pass)
	if !reflect.DeepEqual(a.Changes, b.Changes) {
		t.Fatalf("two decisions over one input differ")
	}
	e.pass()
	e.pass() // a new leader resuming: the occurrence is recorded, so no second run
	e.agent()
	e.pass()
	if runs := e.runs("nightly"); len(runs) != 1 {
		t.Fatalf("%d runs after a leader change, want 1", len(runs))
	}
	e.exit = func(cluster.Assignment) (int, bool) { return 0, true }
	e.agent()
	e.pass("nightly")
	e.agent()
	e.pass()
	runs := e.runs("nightly")
	manual := 0
	for _, r := range runs {
		if r.Trigger == cluster.TriggerManual && r.State == cluster.JobRunSucceeded {
			manual++
		}
	}
	if len(runs) != 2 || manual != 1 {
		t.Fatalf("manual run not recorded: %+v", runs)
	}
}
