package history

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func web(image string, n int) Commit {
	return Commit{Hash: "c-" + image, Apps: map[string]App{"/web": {Instances: n, Image: image, MinimumHealthCapacity: 1, Service: "web"}}}
}

func task(id, image string, serving bool) Task {
	return Task{ID: id, App: "/web", Agent: "a1", Image: image, State: "TASK_RUNNING", Running: true, Healthy: serving, Live: true, Addrs: []string{"127.0.0.2:" + id}}
}

// rollout is a clean rolling upgrade of two instances from v1 to v2 with
// minimumHealthCapacity 1.
func rollout() History {
	c1, c2 := web("v1", 2), web("v2", 2)
	return History{Events: []Event{
		{At: at(0), Kind: KindCommit, Commit: &c1},
		{At: at(1), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), task("2", "v1", true)}},
		{At: at(2), Kind: KindCommit, Commit: &c2},
		{At: at(3), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), task("2", "v1", true), task("3", "v2", false)}},
		{At: at(4), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), task("2", "v1", true), task("3", "v2", true)}},
		{At: at(5), Kind: KindTasks, Tasks: []Task{task("2", "v1", true), task("3", "v2", true), task("4", "v2", true)}},
		{At: at(6), Kind: KindTasks, Tasks: []Task{task("3", "v2", true), task("4", "v2", true)}},
	}}
}

func rules(r Result) string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Rule)
	}
	return strings.Join(out, ",")
}

func TestCleanRolloutPasses(t *testing.T) {
	r := Check(rollout(), Options{})
	if len(r.Violations) != 0 {
		t.Fatalf("violations in a clean rollout: %v", r.Violations)
	}
	if r.Judged[RuleCapacity] != 3 {
		t.Fatalf("judged %d rollout samples, want 3", r.Judged[RuleCapacity])
	}
}

func TestCapacityDipIsCaught(t *testing.T) {
	h := rollout()
	// The old task 1 stopped before the new one was healthy.
	h.Events = append(h.Events, Event{At: at(3.5), Kind: KindTasks, Tasks: []Task{task("2", "v1", true), task("3", "v2", false)}})
	r := Check(h, Options{})
	if rules(r) != RuleCapacity {
		t.Fatalf("violations %v, want one %s", r.Violations, RuleCapacity)
	}
	v := r.Violations[0]
	if !v.From.Equal(at(3.5)) || !v.To.Equal(at(3.5)) || !strings.Contains(v.Detail, "1 serving") {
		t.Fatalf("violation %s", v)
	}
}

func TestCapacityDipExcusedByFault(t *testing.T) {
	for _, f := range []Fault{
		{Name: "kill-container", App: "/web"},
		{Name: "kill-agent", Agent: "a1"},
		{Name: "zk-quorum", Global: true},
	} {
		h := rollout()
		f.Start, f.End = at(3.2), at(3.3)
		h.Events = append(h.Events,
			Event{At: at(3.5), Kind: KindTasks, Tasks: []Task{task("2", "v1", true), task("3", "v2", false)}},
			Event{At: f.Start, Kind: KindFault, Fault: &f})
		if r := Check(h, Options{}); len(r.Violations) != 0 {
			t.Errorf("%s: violations %v, want none (the fault explains the dip)", f.Name, r.Violations)
		}
	}
	// A fault on another app or long over excuses nothing.
	for _, f := range []Fault{
		{Name: "kill-container", App: "/other", Start: at(3.2), End: at(3.3)},
		{Name: "kill-agent", Agent: "a1", Start: at(-100), End: at(-90)},
	} {
		h := rollout()
		h.Events = append(h.Events,
			Event{At: at(3.5), Kind: KindTasks, Tasks: []Task{task("2", "v1", true), task("3", "v2", false)}},
			Event{At: f.Start, Kind: KindFault, Fault: &f})
		if r := Check(h, Options{}); rules(r) != RuleCapacity {
			t.Errorf("%+v: violations %v, want %s", f, r.Violations, RuleCapacity)
		}
	}
}

// jobHistory: a job every 10 s from t0 with epsilon 5 s, read at 60 s.
// TestCapacityDipAfterTheLostTaskLeft: a task lost with its agent is
// replaced and killed, and leaves the samples, while the rollout it
// weakened goes on (the 13:03:09 dip of the 12:47 soak): the agent's loss
// still excuses the dip, as long as the agent held a task of the app when
// it was lost; an agent that held none does not.
func TestCapacityDipAfterTheLostTaskLeft(t *testing.T) {
	for _, tc := range []struct {
		lost string
		want string
	}{{"a2", ""}, {"a3", RuleCapacity}} {
		h := rollout()
		onA2 := task("9", "v1", true)
		onA2.Agent = "a2"
		f := Fault{Name: "kill-agent", Agent: tc.lost, Start: at(2.5), End: at(3)}
		h.Events = append(h.Events,
			Event{At: at(2.4), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), onA2}},
			Event{At: at(3.5), Kind: KindTasks, Tasks: []Task{task("2", "v1", true), task("3", "v2", false)}},
			Event{At: f.Start, Kind: KindFault, Fault: &f})
		if r := Check(h, Options{}); rules(r) != tc.want {
			t.Errorf("agent %s lost: violations %v, want %q", tc.lost, r.Violations, tc.want)
		}
	}
}

func jobHistory(runs ...JobRun) History {
	c := Commit{Hash: "j", Jobs: map[string]Job{"tick": {Schedule: "R/2026-12-07T03:00:00Z/PT10S", Epsilon: 5 * time.Second}}}
	return History{Events: []Event{
		{At: at(-5), Kind: KindCommit, Commit: &c},
		{At: at(60), Kind: KindJobRuns, Job: "tick", Runs: runs},
	}}
}

func runOf(id string, o float64, state string) JobRun {
	return JobRun{RunID: id, Trigger: "schedule", State: state, ScheduledAt: at(o), StartedAt: at(o + 0.5), FinishedAt: at(o + 1)}
}

// lateSkip is occurrence o recorded SKIPPED by a pass at the given time.
func lateSkip(id string, o, pass float64) JobRun {
	return JobRun{RunID: id, Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(o), FinishedAt: at(pass), Message: "missed by more than epsilon PT5S"}
}

func manualRunning(asked float64) JobRun {
	return JobRun{RunID: "m", Trigger: "manual", State: "RUNNING", ScheduledAt: at(asked), StartedAt: at(asked + 0.5)}
}

func manualEnded(asked, ended float64) JobRun {
	r := manualRunning(asked)
	r.State, r.FinishedAt = "SUCCEEDED", at(ended)
	return r
}

// skipBehind is occurrence o skipped, at o, for a run still running.
func skipBehind(o float64) JobRun {
	return JobRun{RunID: "r1", Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(o), FinishedAt: at(o), Message: "the previous run was still running (concurrent: false)"}
}

// runsAt is a read of tick's runs showing only r.
func runsAt(s float64, r JobRun) Event {
	return Event{At: at(s), Kind: KindJobRuns, Job: "tick", Runs: []JobRun{r}}
}

func TestJobs(t *testing.T) {
	good := []JobRun{runOf("r0", 0, "SUCCEEDED"), runOf("r1", 10, "SUCCEEDED"), runOf("r2", 20, "SUCCEEDED"), runOf("r3", 30, "SUCCEEDED")}
	if r := Check(jobHistory(good...), Options{}); len(r.Violations) != 0 || r.Judged[RuleJobMissing] != 4 {
		t.Fatalf("clean runs: violations %v, judged %d (want 4: 0..30 s, 40 s is within epsilon+slack of the read)", r.Violations, r.Judged[RuleJobMissing])
	}
	cases := map[string]struct {
		runs   []JobRun
		faults []Fault
		manual int // accepted manual-run requests
		reads  []Event
		want   string
	}{
		"missing":          {runs: good[:3], want: RuleJobMissing},
		"twice":            {runs: append(append([]JobRun{}, good...), runOf("r1b", 10, "SUCCEEDED")), want: RuleJobTwice},
		"skipped":          {runs: []JobRun{good[0], runOf("r1", 10, "SKIPPED"), good[2], good[3]}, want: RuleJobSkipped},
		"skipped-by-fault": {runs: []JobRun{good[0], lateSkip("r1", 10, 16), good[2], good[3]}, faults: []Fault{{Name: "kill-leader", ControlPlane: true, Start: at(8), End: at(9)}}},
		// The pass came long after the fault and its grace ended: the
		// fault does not explain it (every server down for good does).
		"skipped-long-after-fault": {runs: []JobRun{good[0], lateSkip("r1", 10, 200), good[2], good[3]}, faults: []Fault{{Name: "kill-leader", ControlPlane: true, Start: at(8), End: at(9)}},
			want: RuleJobSkipped},
		// Faults one after another cover the whole delay.
		"skipped-behind-faults": {runs: []JobRun{good[0], lateSkip("r1", 10, 100), good[2], good[3]}, faults: []Fault{
			{Name: "kill-leader", ControlPlane: true, Start: at(8), End: at(9)}, {Name: "zk-quorum", ControlPlane: true, Start: at(50), End: at(60)}}},
		"skipped-overlap": {runs: []JobRun{{RunID: "r0", Trigger: "schedule", State: "SUCCEEDED", ScheduledAt: at(0), StartedAt: at(0.5), FinishedAt: at(12)},
			{RunID: "r1", Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(10)}, good[2], good[3]}},
		// The previous run was recorded before the occurrence but its
		// container started only after it (a slow Docker): Berth skips
		// the occurrence, rightly, though the run had not "started".
		"skipped-behind-slow-start": {runs: []JobRun{{RunID: "r0", Trigger: "schedule", State: "SUCCEEDED", ScheduledAt: at(0), StartedAt: at(11), FinishedAt: at(13)},
			{RunID: "r1", Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(10), FinishedAt: at(10.2)}, good[2], good[3]}},
		// A manual run asked for before the pass holds the job too.
		"skipped-behind-manual": {runs: []JobRun{good[0], {RunID: "m", Trigger: "manual", State: "SUCCEEDED", ScheduledAt: at(9.5), StartedAt: at(10.5), FinishedAt: at(12)},
			{RunID: "r1", Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(10), FinishedAt: at(10.2)}, good[2], good[3]},
			manual: 1},
		// One asked for after the pass does not.
		"skipped-before-manual": {runs: []JobRun{good[0], {RunID: "m", Trigger: "manual", State: "SUCCEEDED", ScheduledAt: at(10.5), StartedAt: at(11), FinishedAt: at(12)},
			{RunID: "r1", Trigger: "schedule", State: "SKIPPED", ScheduledAt: at(10), FinishedAt: at(10.2)}, good[2], good[3]},
			manual: 1, want: RuleJobSkipped},
		// The previous run's container ended 6 ms before the occurrence,
		// and the pass at the occurrence had not heard of it yet: the
		// reads show it running until after the pass (the 12:35:46
		// finding of the 12:09 soak). Berth skips rightly.
		"skipped-behind-unreported-end": {runs: []JobRun{good[0], manualEnded(7, 9.994), skipBehind(10), good[2], good[3]},
			reads: []Event{runsAt(10.1, manualRunning(7)), runsAt(11.1, manualEnded(7, 9.994))}, manual: 1},
		// Its end reached the records 13 s late, held back by a lost
		// quorum (the 13:06:21 finding of the 12:47 soak).
		"skipped-behind-end-held-by-quorum": {runs: []JobRun{good[0], manualEnded(3, 5), skipBehind(10), good[2], good[3]},
			reads: []Event{runsAt(10.1, manualRunning(3)), runsAt(18, manualEnded(3, 5))}, manual: 1,
			faults: []Fault{{Name: "zk-quorum", Global: true, ControlPlane: true, Start: at(4), End: at(9)}}},
		// The same delay with no fault to explain it is not a cause.
		"skipped-behind-end-held-for-nothing": {runs: []JobRun{good[0], manualEnded(3, 5), skipBehind(10), good[2], good[3]},
			reads: []Event{runsAt(10.1, manualRunning(3)), runsAt(18, manualEnded(3, 5))}, manual: 1, want: RuleJobSkipped},
		// One whose end was in the records before the pass is no cause.
		"skipped-after-recorded-end": {runs: []JobRun{good[0], manualEnded(5, 7), skipBehind(10), good[2], good[3]},
			reads: []Event{runsAt(8, manualEnded(5, 7))}, manual: 1, want: RuleJobSkipped},
		"foreign": {runs: append(append([]JobRun{}, good...), runOf("rx", 15, "SUCCEEDED")), want: RuleJobForeign},
		"manual":  {runs: append(append([]JobRun{}, good...), JobRun{RunID: "m", Trigger: "manual", State: "SUCCEEDED"}), want: RuleJobManual},
	}
	for name, tc := range cases {
		h := jobHistory(tc.runs...)
		for i := range tc.faults {
			h.Events = append(h.Events, Event{At: tc.faults[i].Start, Kind: KindFault, Fault: &tc.faults[i]})
		}
		for range tc.manual {
			h.Events = append(h.Events, Event{At: at(9), Kind: KindManualRun, Manual: &ManualRun{Job: "tick", Accepted: true}})
		}
		h.Events = append(h.Events, tc.reads...)
		if got := rules(Check(h, Options{})); got != tc.want {
			t.Errorf("%s: violations %q, want %q", name, got, tc.want)
		}
	}
	// A manual run with its request is fine.
	h := jobHistory(append(append([]JobRun{}, good...), JobRun{RunID: "m", Trigger: "manual", State: "SUCCEEDED"})...)
	h.Events = append(h.Events, Event{At: at(1), Kind: KindManualRun, Manual: &ManualRun{Job: "tick", Accepted: true}})
	if r := Check(h, Options{}); len(r.Violations) != 0 {
		t.Fatalf("requested manual run: %v", r.Violations)
	}
	// A request that timed out may have been recorded before its answer
	// was lost: it accounts for a run. A 4xx refusal does not.
	for _, tc := range []struct {
		req  ManualRun
		want string
	}{
		{ManualRun{Job: "tick", Maybe: true, Error: "context deadline exceeded"}, ""},
		{ManualRun{Job: "tick", Error: "POST /v1/jobs/tick/run: 404"}, RuleJobManual},
	} {
		h := jobHistory(append(append([]JobRun{}, good...), JobRun{RunID: "m", Trigger: "manual", State: "SUCCEEDED"})...)
		h.Events = append(h.Events, Event{At: at(1), Kind: KindManualRun, Manual: &tc.req})
		if got := rules(Check(h, Options{})); got != tc.want {
			t.Errorf("manual run after %+v: violations %q, want %q", tc.req, got, tc.want)
		}
	}
}

func consulAt(s float64, addrs ...string) Event {
	return Event{At: at(s), Kind: KindConsul, Consul: &Consul{Passing: map[string][]string{"web": addrs}}}
}

func upstreamAt(s float64, servers ...string) Event {
	return Event{At: at(s), Kind: KindUpstream, Upstream: &Upstream{Service: "web", Servers: servers}}
}

func TestRouting(t *testing.T) {
	base := []Event{consulAt(0, "a:1", "a:2"), upstreamAt(1, "a:1", "a:2"), consulAt(10, "a:2"), upstreamAt(12, "a:1", "a:2")}
	cases := map[string]struct {
		extra []Event
		want  string
	}{
		"within propagation": {},
		"stale past the bound": {extra: []Event{upstreamAt(21, "a:1", "a:2"), upstreamAt(22, "a:1", "a:2"), upstreamAt(23, "a:2")},
			want: RuleRouted},
		"never passing":                      {extra: []Event{upstreamAt(13, "a:2", "b:9")}, want: RuleRouted},
		"empty":                              {extra: []Event{upstreamAt(13), upstreamAt(30), upstreamAt(31, "a:2")}, want: RuleEmpty},
		"empty after the last instance left": {extra: []Event{consulAt(20), upstreamAt(21)}},
		// Right after the recorder started (the soak's first render), one
		// Consul sample is not the whole bound of passing instances.
		"empty before the samples cover the bound": {extra: []Event{upstreamAt(0.5)}},
		"answer from a non-passing task": {extra: []Event{
			{At: at(0.5), Kind: KindTasks, Tasks: []Task{{ID: "t1", App: "/web", Addrs: []string{"a:1"}, Live: true}}},
			{At: at(25), Kind: KindAnswer, Answer: &Answer{Service: "web", Task: "t1", Code: 200}}}, want: RuleRouted},
	}
	for name, tc := range cases {
		h := History{Events: append(append([]Event{}, base...), tc.extra...)}
		r := Check(h, Options{})
		if got := rules(r); got != tc.want {
			t.Errorf("%s: violations %v, want %q", name, r.Violations, tc.want)
		}
	}
	// The window of a violation spans its samples.
	h := History{Events: append(append([]Event{}, base...), upstreamAt(21, "a:1", "a:2"), upstreamAt(22, "a:1", "a:2"), upstreamAt(23, "a:2"))}
	v := Check(h, Options{}).Violations[0]
	if !v.From.Equal(at(21)) || !v.To.Equal(at(22)) {
		t.Fatalf("window %s, want 21 s .. 22 s", v)
	}
}

// TestRoutingAcrossAConsulGap: the recorder keeps no sample of a failed
// read, so while Consul restarts nothing says what it listed. An instance
// in the upstream that Consul lists right after the gap may have passed
// in it (the 12:20 finding of the 12:09 soak: its check passed 150 ms
// before Consul was killed); one it never lists did not, and one added
// with no gap to hide it is judged as before.
func TestRoutingAcrossAConsulGap(t *testing.T) {
	samples := func(from, to float64, addrs ...string) []Event {
		var out []Event
		for s := from; s <= to; s += 0.25 {
			out = append(out, consulAt(s, addrs...))
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		events []Event
		want   string
	}{
		{"listed after the gap", append(append(samples(0, 5, "a:1"), samples(6, 8, "a:1")...), append(samples(8.5, 12, "a:1", "a:3"), upstreamAt(5.8, "a:1", "a:3"))...), ""},
		{"never listed", append(append(samples(0, 5, "a:1"), samples(6, 12, "a:1")...), upstreamAt(5.8, "a:1", "a:3")), RuleRouted},
		{"no gap to hide it", append(append(samples(0, 8, "a:1"), samples(8.5, 12, "a:1", "a:3")...), upstreamAt(5.8, "a:1", "a:3")), RuleRouted},
	} {
		r := Check(History{Events: tc.events}, Options{})
		if got := rules(r); got != tc.want {
			t.Errorf("%s: violations %v, want %q", tc.name, r.Violations, tc.want)
		}
	}
}

// TestRoutingAcrossAConsulRestart: the templates hold the list they had
// for up to 15 s when Consul comes back with a shorter one (a replaced
// instance is rendered that late, by design, docs/templates.md): within
// SourceHold after a restart, an instance Consul listed before it is not
// a finding (the 12:55 finding of the 12:47 soak); one it never listed
// is, and so is one still held past the hold.
func TestRoutingAcrossAConsulRestart(t *testing.T) {
	restart := Fault{Name: FaultConsulRestart, Target: "consul", Start: at(10), End: at(10.3)}
	var base []Event
	for s := 0.0; s < 10; s += 0.25 {
		base = append(base, consulAt(s, "a:1", "a:2"))
	}
	for s := 10.5; s < 40; s += 0.25 {
		base = append(base, consulAt(s, "a:2"))
	}
	base = append(base, Event{At: restart.Start, Kind: KindFault, Fault: &restart})
	for _, tc := range []struct {
		name string
		up   Event
		want string
	}{
		{"held within the hold", upstreamAt(25, "a:1", "a:2"), ""},
		{"never listed", upstreamAt(25, "a:9", "a:2"), RuleRouted},
		{"held past the hold", upstreamAt(35, "a:1", "a:2"), RuleRouted},
	} {
		r := Check(History{Events: append(append([]Event{}, base...), tc.up)}, Options{})
		if got := rules(r); got != tc.want {
			t.Errorf("%s: violations %v, want %q", tc.name, r.Violations, tc.want)
		}
	}
}

func settleHistory(obs ...Observation) History {
	c := web("v2", 1)
	h := History{Events: []Event{{At: at(0), Kind: KindCommit, Commit: &c}, {At: at(10), Kind: KindFaultsStopped}}}
	for i := range obs {
		h.Events = append(h.Events, Event{At: at(11 + float64(i)*10), Kind: KindSettle, Settle: &obs[i]})
	}
	return h
}

func TestSettle(t *testing.T) {
	tk := task("1", "v2", true)
	done := Observation{Applied: "c-v2", Head: "c-v2", Tasks: []Task{tk},
		Containers: []Container{{ID: "x", App: "/web", Task: "1", Running: true}},
		Consul:     Consul{Passing: map[string][]string{"web": tk.Addrs}}}
	notYet := done
	notYet.Applied = "c-v1"
	r := Check(settleHistory(notYet, done), Options{})
	if len(r.Violations) != 0 || r.Converge != 11*time.Second {
		t.Fatalf("converge %s, violations %v; want 11 s and none", r.Converge, r.Violations)
	}
	if r := Check(settleHistory(notYet, done), Options{ConvergeBound: 5 * time.Second}); rules(r) != RuleConverge {
		t.Fatalf("bound 5 s: %v", r.Violations)
	}
	if r := Check(settleHistory(notYet, notYet), Options{}); rules(r) != RuleConverge || r.Converge >= 0 {
		t.Fatalf("never converged: %v, converge %s", r.Violations, r.Converge)
	}
	leftover := done
	leftover.Containers = append(leftover.Containers, Container{ID: "y", App: "/gone", Task: "old", Running: true})
	if r := Check(settleHistory(leftover), Options{}); rules(r) != RuleConverge+","+RuleLeftover {
		t.Fatalf("leftover: %v", r.Violations)
	}
	wrongConsul := done
	wrongConsul.Consul = Consul{Passing: map[string][]string{"web": {"127.0.0.2:1", "127.0.0.3:5"}}}
	if err := Converged(web("v2", 1), wrongConsul); err == nil || !strings.Contains(err.Error(), "consul") {
		t.Fatalf("a stale Consul registration converged: %v", err)
	}
}

func TestWriteRead(t *testing.T) {
	h := rollout()
	h.Seed = 42
	var b bytes.Buffer
	if err := h.Write(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Seed != 42 || len(back.Events) != len(h.Events) || len(Check(back, Options{}).Violations) != 0 {
		t.Fatalf("history read back differs: %+v", back)
	}
}

// FuzzReadCheck: any file read as a history is checked without panicking,
// whatever its events hold (missing parts, times out of order).
func FuzzReadCheck(f *testing.F) {
	var b bytes.Buffer
	h := rollout()
	_ = h.Write(&b)
	f.Add(b.String())
	f.Add(`{"events":[{"kind":"upstream"},{"kind":"settle"},{"kind":"faults-stopped"},{"kind":"job-runs","job":"x"}]}`)
	f.Add(`{"events":[{"kind":"members","at":"2026-12-07T03:00:00Z","members":{"down":["a"]}},{"kind":"members","at":"2026-12-07T03:01:00Z"},` +
		`{"kind":"fault","fault":{"name":"consul-restart","agent":"a"}},{"kind":"consul","consul":{"passing":{"web":["x"]}}},{"kind":"upstream","upstream":{"service":"web","servers":["x","y"]}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Read(strings.NewReader(s))
		if err != nil {
			return
		}
		_ = Check(h, Options{})
	})
}

// TestReimagedTwiceWithinSeconds: a one-instance app (minimumHealthCapacity
// 0.5) re-imaged v1 -> v2 -> v3 before v2's task was healthy. As in
// Marathon, the v2 task (old now, and not healthy) is the one stopped, the
// v1 task keeps serving until v3's is healthy: no violation. Killing the v1
// task instead would leave nothing serving and is one.
func TestReimagedTwiceWithinSeconds(t *testing.T) {
	commit := func(image string) *Commit {
		return &Commit{Hash: "c-" + image, Apps: map[string]App{"/web": {Instances: 1, Image: image, MinimumHealthCapacity: 0.5, Service: "web"}}}
	}
	killing := func(tk Task) Task { tk.Kill, tk.Healthy = true, false; return tk }
	staging := func(id, image string) Task {
		return Task{ID: id, App: "/web", Agent: "a1", Image: image, State: "TASK_STAGING", Live: true}
	}
	base := []Event{
		{At: at(0), Kind: KindCommit, Commit: commit("v1")},
		{At: at(1), Kind: KindTasks, Tasks: []Task{task("1", "v1", true)}},
		{At: at(2), Kind: KindCommit, Commit: commit("v2")},
		{At: at(3), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), staging("2", "v2")}},
		{At: at(4), Kind: KindCommit, Commit: commit("v3")},
	}
	good := append(append([]Event{}, base...),
		Event{At: at(5), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), killing(staging("2", "v2"))}},
		Event{At: at(6), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), staging("3", "v3")}},
		Event{At: at(7), Kind: KindTasks, Tasks: []Task{task("1", "v1", true), task("3", "v3", true)}},
		Event{At: at(8), Kind: KindTasks, Tasks: []Task{task("3", "v3", true)}})
	if r := Check(History{Events: good}, Options{}); len(r.Violations) != 0 {
		t.Fatalf("Marathon's order: violations %v", r.Violations)
	}
	bad := append(append([]Event{}, base...),
		Event{At: at(5), Kind: KindTasks, Tasks: []Task{killing(task("1", "v1", true)), staging("2", "v2")}})
	if got := rules(Check(History{Events: bad}, Options{})); got != RuleCapacity {
		t.Fatalf("the serving v1 task killed first: violations %q, want %s", got, RuleCapacity)
	}
}

func membersAt(s float64, leader string, down ...string) Event {
	return Event{At: at(s), Kind: KindMembers, Members: &Members{Leader: leader, Down: down}}
}

func faultEvent(f Fault, from, to float64) Event {
	f.Start, f.End = at(from), at(to)
	return Event{At: f.Start, Kind: KindFault, Fault: &f}
}

func TestLeaders(t *testing.T) {
	// samples without a leader from 10 s to 10+gap s, a leader before and
	// after.
	gap := func(gap float64, extra ...Event) History {
		h := History{Events: []Event{membersAt(0, "server-1")}}
		for s := 10.0; s < 10+gap; s++ {
			h.Events = append(h.Events, membersAt(s, ""))
		}
		h.Events = append(h.Events, membersAt(10+gap, "server-2"))
		h.Events = append(h.Events, extra...)
		return h
	}
	quorum := Fault{Name: "zk-quorum", Global: true, ControlPlane: true}
	for _, c := range []struct {
		name string
		h    History
		want string
	}{
		{"a failover within the bound", gap(20), ""},
		{"no leader for 40 s", gap(40), RuleNoLeader},
		{"no leader while the quorum was lost, and the bound after", gap(60, faultEvent(quorum, 12, 35)), ""},
		{"no leader long after the quorum came back", gap(120, faultEvent(quorum, 12, 35)), RuleNoLeader},
		{"no leader long before the quorum was lost", gap(100, faultEvent(quorum, 70, 80)), RuleNoLeader},
		{"a leader killed is no excuse", gap(45, faultEvent(Fault{Name: "kill-leader", Target: "server-1", ControlPlane: true}, 9, 14)), RuleNoLeader},
		{"no leader until the history ends", History{Events: []Event{membersAt(0, "server-1"), membersAt(1, ""), membersAt(40, "")}}, RuleNoLeader},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Check(c.h, Options{})
			if rules(r) != c.want {
				t.Fatalf("violations %v, want %q", r.Violations, c.want)
			}
			if c.want != "" && !r.Violations[0].From.Equal(at(10)) && !r.Violations[0].From.Equal(at(1)) {
				t.Fatalf("violation window %s", r.Violations[0])
			}
		})
	}
}

func TestProcesses(t *testing.T) {
	kill := Fault{Name: "kill-follower", Target: "server-2"}
	agent := Fault{Name: "kill-agent", Target: "agent-1", Agent: "agent-1"}
	for _, c := range []struct {
		name string
		h    History
		want []string // "rule@from..to"
	}{
		{"killed and started again", History{Events: []Event{
			membersAt(0, "server-1"), membersAt(5, "server-1", "server-2"), membersAt(14, "server-1", "server-2"), membersAt(15, "server-1"),
			faultEvent(kill, 4, 8),
		}}, nil},
		{"killed and never started again", History{Events: []Event{
			membersAt(0, "server-1"), membersAt(5, "server-1", "server-2"), membersAt(20, "server-1", "server-2"), membersAt(30, "server-1", "server-2"), membersAt(31, "server-1"),
			faultEvent(kill, 4, 8),
		}}, []string{RuleDown + "@20..30"}},
		{"exited with no fault", History{Events: []Event{
			membersAt(0, "server-1"), membersAt(5, "server-1", "agent-2"), membersAt(6, "server-1", "agent-2"),
			faultEvent(agent, 4, 8),
		}}, []string{RuleDown + "@5..6"}},
		{"exited after its fault, and again later", History{Events: []Event{
			membersAt(0, "server-1"), membersAt(5, "server-1", "agent-1"), membersAt(9, "server-1"), membersAt(40, "server-1", "agent-1"),
			faultEvent(agent, 4, 8),
		}}, []string{RuleDown + "@40..40"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Check(c.h, Options{})
			var got []string
			for _, v := range r.Violations {
				got = append(got, fmt.Sprintf("%s@%g..%g", v.Rule, v.From.Sub(t0).Seconds(), v.To.Sub(t0).Seconds()))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("violations %v, want %v", r.Violations, c.want)
			}
		})
	}
}
