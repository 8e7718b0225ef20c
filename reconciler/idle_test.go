package reconciler

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

// An idle pass reuses the last decision instead of deciding (see
// Reconciler.idle). Over random histories of status changes, failures,
// lost agents, scale changes, job schedules and time passing, whenever the
// loop would reuse a decision, a full decision over the same input at that
// time changes nothing either: reusing is deciding.
func TestIdlePassDecidesAsAFullPass(t *testing.T) {
	reused := 0
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		apps := decidebench.Apps(6)
		jobs := decidebench.Jobs(4)
		for i := range jobs {
			jobs[i].Parents = nil
			jobs[i].Cron, jobs[i].Schedule = "", fmt.Sprintf("R/2026-11-25T12:0%d:00Z/PT%dM", i, 3+i)
		}
		set := &manifests.Set{Apps: apps, Jobs: jobs}
		agents := decidebench.BigAgents(3)
		for i := range agents {
			agents[i].LastSeen = decidebench.Now
		}
		in := decide.Input{Desired: set, Commit: "c1", Agents: agents, Now: decidebench.Now,
			Schedules: decide.JobSchedules(set)}
		opts := decide.Options{Prune: true, Seed: 1}
		var last *decide.Result
		changed := true
		for step := range 120 {
			switch rng.IntN(6) {
			case 0, 1: // only time passes
				in.Now = in.Now.Add(time.Duration(rng.IntN(400)) * time.Second)
			case 2:
				in.PlayAgents(in.Now)
				changed = true
			case 3: // a task fails
				if len(in.Tasks) > 0 {
					tk := &in.Tasks[rng.IntN(len(in.Tasks))]
					code := 1
					tk.Status = cluster.TaskStatus{TaskID: tk.TaskID, AgentID: tk.AgentID, State: cluster.TaskFailed, ExitCode: &code, UpdatedAt: in.Now}
					changed = true
				}
			case 4: // an agent is lost or comes back
				i := rng.IntN(len(in.Agents))
				in.Agents = append([]cluster.Agent(nil), in.Agents...)
				in.Agents[i].Reachable = !in.Agents[i].Reachable
				changed = true
			case 5: // a new commit scales an app
				next := *in.Desired
				next.Apps = append([]manifests.App(nil), next.Apps...)
				next.Apps[rng.IntN(len(next.Apps))].Instances = 1 + rng.IntN(5)
				in.Desired = &next
				in.Commit = fmt.Sprintf("c%d", step)
				changed = true
			}
			out := decide.Decide(in, opts)
			if last != nil && !changed && reusable(*last, in.Now) {
				reused++
				if len(out.Changes) > 0 {
					t.Fatalf("seed %d step %d: the loop would reuse a decision that changed nothing (requeue at %s), but deciding at %s changes %d things: %+v",
						seed, step, last.RequeueAt, in.Now, len(out.Changes), out.Changes)
				}
			}
			in.Apply(out.Changes)
			in.NextDue = out.NextDue
			changed = len(out.Changes) > 0
			last = &out
		}
	}
	if reused == 0 {
		t.Fatal("no step was idle: the test checks nothing")
	}
	t.Logf("%d idle passes checked", reused)
}
