package decide

import (
	"sort"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/plan"
)

// Verdict is what playing a desired state forward on a cluster found: the
// decision the server would make now, and whether the whole change can be
// carried out on the cluster's agents.
type Verdict struct {
	// First is the first decision: exactly what the server would do now.
	First Result
	// Steps is how many decisions the simulation made.
	Steps int
	// Converged is true when the simulation reached the desired state.
	Converged bool
	// Needed sums the resources of every task the change starts, placed
	// or not; Free is what the reachable agents had free before it.
	Needed, Free cluster.Resources
	// Unplaced are the starts the allocator could not place when the
	// simulation stopped, and Failed the objects that could not be decided
	// at all (Degraded), each with the engine's own reason.
	Unplaced []plan.UnplacedInstance
	// Blast is what the change does to each app it touches.
	Blast []plan.AppBlast
	// End is the cluster where the simulation stopped (for the rendered
	// template preview).
	End Input
}

// Fits is true when nothing stayed unplaced or Degraded.
func (v Verdict) Fits() bool { return len(v.Unplaced) == 0 }

// Fit is the verdict in the planner's terms, for berth diff's output.
func (v Verdict) Fit() *plan.Fit {
	return &plan.Fit{Fits: v.Fits(), Unplaced: v.Unplaced, Blast: v.Blast,
		Needed: plan.Resources{CPUs: v.Needed.CPUs, Mem: v.Needed.Mem, Disk: v.Needed.Disk},
		Free:   plan.Resources{CPUs: v.Free.CPUs, Mem: v.Free.Mem, Disk: v.Free.Disk}}
}

// DefaultSimulationSteps bounds a simulation: enough for a rolling restart
// one instance at a time of a few hundred instances.
const DefaultSimulationSteps = 500

// Simulate plays in forward with Decide, committing each decision with
// Apply and letting well-behaved agents start and stop tasks (PlayAgents),
// until the desired state is reached, a decision changes nothing (what is
// left cannot be placed, or waits for time to pass), or maxSteps decisions
// were made. Time does not pass in a simulation: backoffs and unreachable
// timeouts are not waited out, so the verdict is about room, not about
// time. The caller's input is not changed.
func Simulate(in Input, opts Options, maxSteps int) Verdict {
	if maxSteps <= 0 {
		maxSteps = DefaultSimulationSteps
	}
	in = in.Clone()
	if opts.NewTaskID == nil {
		opts.NewTaskID = sequentialIDs(in.allTasks())
	}
	v := Verdict{Free: freeResources(in.Agents, in.Tasks)}
	br, initialHealthy := newBlast(in), healthyByApp(in)
	now := in.Now
	// The first reason each app could not be placed, as the server's first
	// pass would give it (later steps count only what is left).
	firstReason := map[string]string{}
	for v.Steps < maxSteps {
		r := Decide(in, opts)
		if v.Steps == 0 {
			v.First = r
		}
		v.Steps++
		for _, a := range r.Apps {
			if a.Unplaced != "" && firstReason[a.ID] == "" {
				firstReason[a.ID] = a.Unplaced
			}
		}
		for _, c := range r.Changes {
			if s, ok := c.(StartTask); ok && s.Assignment.Owner == cluster.OwnerApp {
				v.Needed = addRes(v.Needed, s.Assignment.Spec.Resources)
			}
		}
		if r.Converged {
			v.Converged = true
			break
		}
		if !progressed(r.Changes) {
			v.Unplaced, v.Needed = stuck(in, r, v.Needed)
			for i, u := range v.Unplaced {
				if first := firstReason[u.ID]; first != "" && u.Kind == manifests.KindApp {
					v.Unplaced[i].Reason = first
				}
			}
			break
		}
		br.decided(r.Changes)
		in.Apply(r.Changes)
		br.observe(in)
		in.PlayAgents(now)
		in.NextDue = r.NextDue
		in.ManualRuns = nil // asked for once, recorded by the first decision
	}
	v.Blast = br.result(in, initialHealthy)
	v.End = in
	return v
}

// progressed reports whether a decision changes anything about tasks; a
// decision that only keeps its memory (a deployment record, a lost clock)
// would change nothing in the next step either.
func progressed(changes []Change) bool {
	for _, c := range changes {
		switch c.(type) {
		case StartTask, KillTask, ForgetTask, HoldServicePort, ReleaseServicePort:
			return true
		}
	}
	return false
}

// stuck lists what keeps a stalled simulation from the desired state: apps
// that could not be decided, and starts the allocator could not place (each
// one's resources added to needed).
func stuck(in Input, r Result, needed cluster.Resources) ([]plan.UnplacedInstance, cluster.Resources) {
	var out []plan.UnplacedInstance
	apps := map[string]*manifests.App{}
	for i := range in.Desired.Apps {
		apps[in.Desired.Apps[i].ID] = &in.Desired.Apps[i]
	}
	for _, a := range r.Apps {
		switch {
		case a.Error != "":
			out = append(out, plan.UnplacedInstance{Kind: manifests.KindApp, ID: a.ID, Reason: a.Error})
		case a.Unplaced != "":
			placed := 0
			for _, c := range r.Changes {
				if s, ok := c.(StartTask); ok && s.Assignment.OwnerID == a.ID && s.Assignment.Owner == cluster.OwnerApp {
					placed++
				}
			}
			for i := placed; i < a.Decision.Start; i++ {
				out = append(out, plan.UnplacedInstance{Kind: manifests.KindApp, ID: a.ID, Instance: i + 1, Reason: a.Unplaced})
				if app := apps[a.ID]; app != nil {
					needed = addRes(needed, cluster.Resources{CPUs: app.CPUs, Mem: app.Mem, Disk: app.Disk})
				}
			}
		}
	}
	for _, j := range r.Jobs {
		if j.Unplaced != "" {
			out = append(out, plan.UnplacedInstance{Kind: manifests.KindJob, ID: j.Name, Instance: 1, Reason: j.Unplaced})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, needed
}

// freeResources is what the reachable agents have left after every task
// that holds resources.
func freeResources(agents []cluster.Agent, tasks []cluster.Task) cluster.Resources {
	var free cluster.Resources
	live := map[string]bool{}
	for _, a := range agents {
		if a.Reachable {
			live[a.ID] = true
			free = addRes(free, a.Resources)
		}
	}
	for _, t := range tasks {
		if live[t.AgentID] && !t.Status.State.Terminal() {
			free = addRes(free, cluster.Resources{CPUs: -t.Spec.Resources.CPUs, Mem: -t.Spec.Resources.Mem, Disk: -t.Spec.Resources.Disk})
		}
	}
	return free
}
