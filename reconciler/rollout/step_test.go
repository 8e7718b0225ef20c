package rollout

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// outcome is the part of a Decision the table tests pin down.
type outcome struct {
	Kill         []Kill
	Start        int
	Forget       []string
	Failed       []string
	DelayedUntil time.Time
	RequeueAt    time.Time
	Rolling      bool
	Done         bool
}

func outcomeOf(d Decision) outcome {
	return outcome{Kill: d.Kill, Start: d.Start, Forget: d.Forget, Failed: d.Failed, DelayedUntil: d.DelayedUntil,
		RequeueAt: d.RequeueAt, Rolling: d.Rolling, Done: d.Done}
}

func TestStep(t *testing.T) {
	oldest := spec("v2", 3)
	oldest.KillSelection = OldestFirst
	noReplace := spec("v1", 2)
	noReplace.ReplaceUnhealthy = false

	tests := []struct {
		name     string
		spec     Spec
		tasks    []Task
		launches Launches
		want     outcome
	}{
		// Start and scale.
		{name: "new app starts all instances", spec: spec("v1", 3),
			want: outcome{Start: 3}},
		{name: "steady app does nothing", spec: spec("v1", 3), tasks: healthyN("a", "v1", 3, 0),
			want: outcome{Done: true}},
		{name: "waiting for health is not done", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), runningT("b", "v1", 1)},
			want:  outcome{}},
		{name: "scale up starts the difference", spec: spec("v1", 5), tasks: healthyN("a", "v1", 3, 0),
			want: outcome{Start: 2}},
		{name: "scale down kills the youngest", spec: spec("v1", 2), tasks: healthyN("a", "v1", 4, 0),
			want: outcome{Kill: kills(ReasonScaleDown, "a-03", "a-02")}},
		{name: "scale down kills the oldest with OLDEST_FIRST", spec: func() Spec { s := oldest; s.Version = "v1"; s.Instances = 2; return s }(),
			tasks: healthyN("a", "v1", 4, 0),
			want:  outcome{Kill: kills(ReasonScaleDown, "a-00", "a-01")}},
		{name: "scale down kills unplaced, staging, unhealthy-unreported before healthy", spec: noReplace,
			tasks: []Task{healthyT("a", "v1", 0), unhealthyT("b", "v1", 1), stagingT("c", "v1"),
				unplacedT("d", "v1"), runningT("e", "v1", 2), healthyT("f", "v1", 3)},
			want: outcome{Kill: kills(ReasonScaleDown, "d", "c", "b", "e")}},
		{name: "scale to zero kills everything", spec: spec("v2", 0),
			tasks: []Task{healthyT("a", "v1", 0), healthyT("b", "v2", 1), killingT("c", "v1")},
			want:  outcome{Kill: kills(ReasonScaleDown, "b", "a")}},
		{name: "scaled to zero and stopped is done", spec: spec("v1", 0),
			tasks: []Task{endedT("a", "v1", cluster.TaskKilled, -5)},
			want:  outcome{Forget: []string{"a"}, Done: true}},
		{name: "GROUP_BY scale down keeps the spread even", spec: spec("v1", 4),
			tasks: []Task{
				inGroup(healthyT("a1", "v1", 0), "a"), inGroup(healthyT("a2", "v1", 1), "a"), inGroup(healthyT("a3", "v1", 2), "a"),
				inGroup(healthyT("b1", "v1", 3), "b"), inGroup(healthyT("b2", "v1", 4), "b"),
				inGroup(healthyT("c1", "v1", 5), "c"),
			},
			// a has 3: its youngest goes; then a and b tie at 2 and the
			// younger of their youngest (b2) goes.
			want: outcome{Kill: kills(ReasonScaleDown, "a3", "b2")}},
		{name: "GROUP_BY prefers balance over health", spec: noReplace,
			tasks: []Task{
				inGroup(healthyT("a1", "v1", 0), "a"), inGroup(healthyT("a2", "v1", 1), "a"),
				inGroup(unhealthyT("b1", "v1", 2), "b"),
			},
			want: outcome{Kill: kills(ReasonScaleDown, "a2")}},

		// Rolling restarts.
		{name: "(1,1) starts N new first and kills nothing", spec: spec("v2", 3), tasks: healthyN("a", "v1", 3, 0),
			want: outcome{Start: 3, Rolling: true}},
		{name: "(1,1) each healthy new allows one old kill, oldest first", spec: spec("v2", 3),
			tasks: join(healthyN("a", "v1", 3, 0), []Task{healthyT("n1", "v2", 10), runningT("n2", "v2", 11), stagingT("n3", "v2")}),
			want:  outcome{Kill: kills(ReasonUpgrade, "a-00"), Rolling: true}},
		{name: "(1,0) starts one at a time", spec: strategy(spec("v2", 3), 1, 0), tasks: healthyN("a", "v1", 3, 0),
			want: outcome{Start: 1, Rolling: true}},
		{name: "(1,0) waits for the killed old to end before the next start", spec: strategy(spec("v2", 3), 1, 0),
			tasks: join(healthyN("a", "v1", 2, 1), []Task{killingT("a-k", "v1"), healthyT("n1", "v2", 10)}),
			want:  outcome{Rolling: true}},
		{name: "(1,0) next start once the kill ended", spec: strategy(spec("v2", 3), 1, 0),
			tasks: join(healthyN("a", "v1", 2, 1), []Task{endedT("a-k", "v1", cluster.TaskKilled, 5), healthyT("n1", "v2", 10)}),
			want:  outcome{Start: 1, Forget: []string{"a-k"}, Rolling: true}},
		{name: "(0,0) stops all old and starts nothing yet", spec: strategy(spec("v2", 3), 0, 0), tasks: healthyN("a", "v1", 3, 0),
			want: outcome{Kill: kills(ReasonUpgrade, "a-00", "a-01", "a-02"), Rolling: true}},
		{name: "(0,0) starts once the old are gone", spec: strategy(spec("v2", 3), 0, 0),
			tasks: []Task{endedT("a", "v1", cluster.TaskKilled, 1), endedT("b", "v1", cluster.TaskKilled, 1)},
			want:  outcome{Start: 3, Forget: []string{"a", "b"}}},
		{name: "(0.5,0) kills half at once, starts into the freed capacity later", spec: strategy(spec("v2", 4), 0.5, 0),
			tasks: healthyN("a", "v1", 4, 0),
			// minHealthy 2, maxCapacity 4: two old go now; all four still
			// hold capacity, so nothing starts yet.
			want: outcome{Kill: kills(ReasonUpgrade, "a-00", "a-01"), Rolling: true}},
		{name: "(0.5,0.5) kills and starts at once", spec: strategy(spec("v2", 4), 0.5, 0.5),
			tasks: healthyN("a", "v1", 4, 0),
			want:  outcome{Kill: kills(ReasonUpgrade, "a-00", "a-01"), Start: 2, Rolling: true}},
		{name: "nothing is killed while only minHealthy are healthy", spec: strategy(spec("v2", 3), 0.5, 0),
			tasks: []Task{healthyT("a", "v1", 0), runningT("b", "v1", 1), healthyT("c", "v1", 2)},
			// minHealthy 2, healthy 2, maxCapacity 3 all taken.
			want: outcome{Rolling: true}},
		{name: "old tasks that are not healthy go first", spec: strategy(spec("v2", 3), 0.5, 0),
			tasks: []Task{healthyT("a", "v1", 0), runningT("b", "v1", 1), healthyT("c", "v1", 2), healthyT("d", "v1", 3)},
			// minHealthy 2, healthy 3: one goes, the one not healthy yet;
			// then the left-over rule (4 old for 3 instances) allows one more.
			want: outcome{Kill: kills(ReasonUpgrade, "b"), Rolling: true}},
		{name: "unhealthy old tasks are left to their health checker", spec: strategy(spec("v2", 3), 1, 0),
			tasks: []Task{unhealthyT("a", "v1", 0), unhealthyT("b", "v1", 1), unhealthyT("c", "v1", 2), healthyT("n1", "v2", 5)},
			// Only the left-over rule (3 old and 1 new healthy for 3
			// instances) kills one; the agent kills the others if they
			// fail maxConsecutiveFailures checks in a row.
			want: outcome{Kill: kills(ReasonUpgrade, "a"), Rolling: true}},
		{name: "left-over old instances beyond the count go at once", spec: strategy(spec("v2", 2), 1, 0),
			tasks: join(healthyN("a", "v1", 3, 0), []Task{healthyT("n1", "v2", 5), healthyT("n2", "v2", 6)}),
			want:  outcome{Kill: kills(ReasonUpgrade, "a-00", "a-01", "a-02"), Rolling: true}},
		{name: "new commit mid-rollout treats both earlier versions as old", spec: strategy(spec("v3", 3), 1, 0),
			tasks: []Task{healthyT("a", "v1", 0), healthyT("b", "v1", 1), healthyT("n1", "v2", 5), stagingT("n2", "v2")},
			want:  outcome{Kill: kills(ReasonUpgrade, "n2"), Rolling: true}},
		{name: "rollout with scale down", spec: strategy(spec("v2", 2), 1, 0), tasks: healthyN("a", "v1", 4, 0),
			want: outcome{Kill: kills(ReasonUpgrade, "a-00", "a-01"), Rolling: true}},
		{name: "rollout done when old are gone", spec: spec("v2", 2),
			tasks: []Task{endedT("a", "v1", cluster.TaskKilled, 3), healthyT("n1", "v2", 1), healthyT("n2", "v2", 2)},
			want:  outcome{Forget: []string{"a"}, Done: true}},
		{name: "excess new instances during a rollout are scaled down", spec: spec("v2", 1),
			tasks: []Task{healthyT("a", "v1", 0), healthyT("n1", "v2", 1), stagingT("n2", "v2")},
			want:  outcome{Kill: append(kills(ReasonScaleDown, "n2"), kills(ReasonUpgrade, "a")...), Rolling: true}},

		// Self-heal.
		{name: "failed task is forgotten, counted, replaced", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), endedT("b", "v1", cluster.TaskFailed, -10)},
			want:  outcome{Start: 1, Forget: []string{"b"}, Failed: []string{"b"}}},
		{name: "an app task that exits is a failed launch too", spec: spec("v1", 1),
			tasks: []Task{endedT("a", "v1", cluster.TaskFinished, -10)},
			want:  outcome{Start: 1, Forget: []string{"a"}, Failed: []string{"a"}}},
		{name: "a task that fails while being killed is not a failed launch", spec: spec("v1", 1),
			tasks: []Task{killed(endedT("a", "v1", cluster.TaskFailed, 0))},
			want:  outcome{Start: 1, Forget: []string{"a"}}},
		{name: "failures of an old version do not delay the new one", spec: spec("v2", 1),
			tasks: []Task{endedT("a", "v1", cluster.TaskFailed, 0)},
			want:  outcome{Start: 1, Forget: []string{"a"}}},
		{name: "second failure within the backoff delays the launch", spec: spec("v1", 2),
			tasks:    []Task{healthyT("a", "v1", 0), endedT("b", "v1", cluster.TaskFailed, 0)},
			launches: Launches{Version: "v1", Failures: 1, LastFailure: at(-1)},
			// 2 failures: 1s * 1.15 after the last one.
			want: outcome{Forget: []string{"b"}, Failed: []string{"b"}, DelayedUntil: at(0).Add(1150 * time.Millisecond),
				RequeueAt: at(0).Add(1150 * time.Millisecond)}},
		{name: "a new version resets the backoff", spec: spec("v2", 1),
			launches: Launches{Version: "v1", Failures: 20, LastFailure: at(0)},
			want:     outcome{Start: 1}},
		{name: "killed and lost tasks are not launch failures", spec: spec("v1", 2),
			tasks: []Task{endedT("a", "v1", cluster.TaskKilled, 0), endedT("b", "v1", cluster.TaskLost, 0)},
			want:  outcome{Start: 2, Forget: []string{"a", "b"}}},
		{name: "a task that failed a health check is not killed for it", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), unhealthyT("b", "v1", 1)},
			// An agent reports a task unhealthy from its first failed check
			// and kills it itself after maxConsecutiveFailures: killing it
			// here would make one slow answer cost an instance.
			want: outcome{}},
		{name: "a task its agent killed for failing its checks is a failed launch", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), unhealthyEndedT("b", "v1", -10)},
			want:  outcome{Start: 1, Forget: []string{"b"}, Failed: []string{"b"}}},
		{name: "a task the server killed is no failed launch, even unhealthy", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), killed(unhealthyEndedT("b", "v1", -10))},
			want:  outcome{Start: 1, Forget: []string{"b"}}},
		{name: "unhealthy task replaced once the backoff passed", spec: spec("v1", 2),
			tasks:    []Task{healthyT("a", "v1", 0), killed(unhealthyT("b", "v1", -5))},
			launches: Launches{Version: "v1", Failures: 1, LastFailure: at(-1)},
			want:     outcome{Start: 1}},
		{name: "unhealthy task is kept with maxConsecutiveFailures 0", spec: noReplace,
			tasks: []Task{healthyT("a", "v1", 0), unhealthyT("b", "v1", 1)},
			want:  outcome{}},
		{name: "unreachable task waits for inactiveAfter", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), unreachableT("b", "v1", -60)},
			want:  outcome{RequeueAt: at(240)}},
		{name: "unreachable past inactiveAfter is replaced and marked for kill", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), unreachableT("b", "v1", -300)},
			want:  outcome{Kill: kills(ReasonUnreachable, "b"), Start: 1, RequeueAt: at(300)}},
		{name: "replaced unreachable holds no capacity", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), killed(unreachableT("b", "v1", -400)), healthyT("c", "v1", -50)},
			want:  outcome{RequeueAt: at(200), Done: true}},
		{name: "unreachable past expungeAfter is forgotten", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), killed(unreachableT("b", "v1", -600)), healthyT("c", "v1", -50)},
			want:  outcome{Forget: []string{"b"}, Done: true}},
		{name: "inactiveAfter 0 replaces at once", spec: func() Spec { s := spec("v1", 1); s.InactiveAfter = 0; return s }(),
			tasks: []Task{unreachableT("a", "v1", 0)},
			want:  outcome{Kill: kills(ReasonUnreachable, "a"), Start: 1, RequeueAt: at(600)}},
		{name: "returned agent: its replaced task is being killed, the replacement stays", spec: spec("v1", 1),
			tasks: []Task{killed(healthyT("a", "v1", -1000)), healthyT("b", "v1", -100)},
			want:  outcome{}},
		{name: "returned agent before inactiveAfter: nothing to replace", spec: spec("v1", 1),
			tasks: []Task{healthyT("a", "v1", -1000)},
			want:  outcome{Done: true}},
		{name: "repeated ids count once", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), healthyT("a", "v1", 0)},
			want:  outcome{Start: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Spec: tt.spec, Tasks: tt.tasks, Launches: tt.launches, Now: t0}
			got := outcomeOf(Step(in))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Step() mismatch (-want +got):\n%s", diff)
			}
			// Level-triggered: the same input, in any order, decides the same.
			shuffled := append([]Task(nil), tt.tasks...)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			in.Tasks = shuffled
			if diff := cmp.Diff(got, outcomeOf(Step(in)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Step() depends on task order (-first +shuffled):\n%s", diff)
			}
		})
	}
}

// TestAgentLostAndBack follows one task through the loss of its agent, its
// replacement and the agent's return, applying each decision as the loop
// would.
func TestAgentLostAndBack(t *testing.T) {
	s := spec("v1", 2)
	s.InactiveAfter, s.ExpungeAfter = 60*time.Second, 600*time.Second
	tasks := []Task{healthyT("a", "v1", -100), healthyT("b", "v1", -100)}
	var launches Launches
	step := func(sec int) Decision {
		t.Helper()
		d := Step(Input{Spec: s, Tasks: tasks, Launches: launches, Now: at(sec)})
		launches = d.Launches
		for _, k := range d.Kill {
			for i := range tasks {
				if tasks[i].ID == k.TaskID {
					tasks[i].Killing = true
				}
			}
		}
		for i := range d.Start {
			tasks = append(tasks, stagingT(fmt.Sprintf("r%d", i), "v1"))
		}
		return d
	}

	// The agent of b is lost at 0s.
	tasks[1].State, tasks[1].Since = cluster.TaskUnreachable, at(0)
	if d := step(30); len(d.Kill) != 0 || d.Start != 0 || !d.RequeueAt.Equal(at(60)) {
		t.Fatalf("within inactiveAfter: %+v, want to wait until 60s", outcomeOf(d))
	}
	d := step(60)
	if diff := cmp.Diff(kills(ReasonUnreachable, "b"), d.Kill); diff != "" || d.Start != 1 {
		t.Fatalf("at inactiveAfter: kill %v start %d, want b marked and 1 replacement", d.Kill, d.Start)
	}
	if d := step(61); len(d.Kill) != 0 || d.Start != 0 {
		t.Fatalf("after the replacement started: %+v, want nothing more", outcomeOf(d))
	}
	tasks[2] = healthyT("r0", "v1", 62)
	// The agent returns at 100s with b still running: b carries its kill
	// flag, so the agent stops it; nothing else changes.
	tasks[1].State, tasks[1].Health = cluster.TaskRunning, cluster.HealthHealthy
	if d := step(100); len(d.Kill) != 0 || d.Start != 0 || d.Done {
		t.Fatalf("agent back: %+v, want b left to its kill", outcomeOf(d))
	}
	tasks[1].State, tasks[1].Since = cluster.TaskKilled, at(101)
	d = step(102)
	if diff := cmp.Diff([]string{"b"}, d.Forget); diff != "" || !d.Done || launches.Failures != 0 {
		t.Fatalf("b ended: %+v (launches %+v), want b forgotten, done, no failure counted", outcomeOf(d), launches)
	}
}
