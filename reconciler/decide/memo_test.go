package decide_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

// A decision given the previous one's memo, and the tasks in parts as the
// leader's cache gives them (unchanged parts shared from one input to the
// next), decides exactly as one without the memo over the same tasks in one
// list, over random histories of status changes, failures, health flips,
// lost agents, scale and image changes and time passing. The memo is what
// makes a one-app change cost one app at 150,000 tasks; this is what
// makes it safe.
func TestMemoDecidesAsWithout(t *testing.T) {
	ignore := cmpopts.IgnoreFields(decide.Result{}, "Memo", "NextDue")
	kept := 0
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 11))
		apps := decidebench.Apps(6)
		apps[0].Constraints = []manifests.Constraint{{Field: "rack", Operator: manifests.OpGroupBy}}
		apps[1].UpgradeStrategy = manifests.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0}
		apps[2].Queue, apps[3].Queue = "/gold", "/gold"
		set := &manifests.Set{Apps: apps, Queues: []manifests.Queue{{ID: "/gold", Capacity: 30, MaxCapacity: 60}, {ID: "/rest", Capacity: 70}}}
		agents := decidebench.BigAgents(4)
		for i := range agents {
			agents[i].LastSeen = decidebench.Now
			agents[i].Attributes = map[string]string{"rack": fmt.Sprintf("r%d", i%2), "zone": fmt.Sprintf("z%d", i%3)}
		}
		in := decide.Input{Desired: set, Commit: "c1", Agents: agents, Now: decidebench.Now}
		n := 0
		opts := decide.Options{Prune: true, Seed: 1, NewTaskID: func(app string) string {
			n++
			return fmt.Sprintf("%s.%d", decide.TaskPrefix(app), n)
		}}
		var memo *decide.Memo
		var parts [][]cluster.Task
		for step := range 150 {
			switch rng.IntN(9) {
			case 0, 1: // only time passes
				in.Now = in.Now.Add(time.Duration(rng.IntN(200)) * time.Second)
			case 2, 3:
				in.PlayAgents(in.Now)
			case 4: // a task fails
				if len(in.Tasks) > 0 {
					in.Tasks = append([]cluster.Task(nil), in.Tasks...)
					tk := &in.Tasks[rng.IntN(len(in.Tasks))]
					code := 1
					tk.Status = cluster.TaskStatus{TaskID: tk.TaskID, AgentID: tk.AgentID, State: cluster.TaskFailed, ExitCode: &code, UpdatedAt: in.Now}
				}
			case 5: // a task's health flips
				if len(in.Tasks) > 0 {
					in.Tasks = append([]cluster.Task(nil), in.Tasks...)
					tk := &in.Tasks[rng.IntN(len(in.Tasks))]
					if tk.Status.Health == cluster.HealthHealthy {
						tk.Status.Health = cluster.HealthUnhealthy
					} else if tk.Status.State == cluster.TaskRunning {
						tk.Status.Health = cluster.HealthHealthy
					}
				}
			case 6: // an agent is lost or comes back
				i := rng.IntN(len(in.Agents))
				in.Agents = append([]cluster.Agent(nil), in.Agents...)
				in.Agents[i].Reachable = !in.Agents[i].Reachable
			case 7, 8: // a new commit scales an app or changes its image
				next := *in.Desired
				next.Apps = append([]manifests.App(nil), next.Apps...)
				a := &next.Apps[rng.IntN(len(next.Apps))]
				switch rng.IntN(3) {
				case 0:
					a.Instances = 1 + rng.IntN(5)
				case 1:
					a.Env = map[string]string{"REV": fmt.Sprint(step)}
				default: // spread over another attribute: a placement change, not a new version
					field := "zone"
					if len(a.Constraints) > 0 && a.Constraints[0].Field == "zone" {
						field = "rack"
					}
					a.Constraints = []manifests.Constraint{{Field: field, Operator: manifests.OpGroupBy}}
				}
				in.Desired = &next
				in.Commit = fmt.Sprintf("c%d", step)
			}
			parts = partsLike(parts, in.Tasks)
			var flat []cluster.Task
			for _, p := range parts {
				flat = append(flat, p...)
			}
			in.Tasks = flat
			saved := n
			without := decide.Decide(in, opts)
			n = saved // the same task ids for both
			memoIn := in
			memoIn.Tasks, memoIn.TaskParts, memoIn.Memo = nil, parts, memo
			with := decide.Decide(memoIn, opts)
			if d := cmp.Diff(without, with, ignore, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("seed %d step %d: with the memo the decision differs (-without +with):\n%s", seed, step, d)
			}
			kept += decide.MemoSize(memo)
			memo = with.Memo
			in.Apply(with.Changes)
			in.NextDue = with.NextDue
		}
	}
	if kept == 0 {
		t.Fatal("the memo never held a step: the test checks nothing")
	}
	t.Logf("%d memoised steps offered", kept)
}

// partsLike splits tasks into one part per agent, as the leader's cache
// does, sharing the previous parts whose tasks did not change.
func partsLike(prev [][]cluster.Task, tasks []cluster.Task) [][]cluster.Task {
	old := map[string][]cluster.Task{}
	for _, p := range prev {
		old[p[0].AgentID] = p
	}
	by := map[string][]cluster.Task{}
	var agents []string
	for _, t := range tasks {
		if _, ok := by[t.AgentID]; !ok {
			agents = append(agents, t.AgentID)
		}
		by[t.AgentID] = append(by[t.AgentID], t)
	}
	slices.Sort(agents)
	var out [][]cluster.Task
	for _, a := range agents {
		p := by[a]
		slices.SortFunc(p, func(x, y cluster.Task) int { return strings.Compare(x.TaskID, y.TaskID) })
		if o, ok := old[a]; ok && reflect.DeepEqual(o, p) {
			p = o
		}
		out = append(out, p)
	}
	return out
}
