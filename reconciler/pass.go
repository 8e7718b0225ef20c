package reconciler

import (
	"fmt"
	"sort"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/schedule"
)

// Snapshot is everything one reconcile pass reads: the desired manifests and
// the observed cluster, plus the little memory the loop keeps between passes.
type Snapshot struct {
	Desired      *manifests.Set
	Commit       string
	Agents       []cluster.Agent
	Tasks        []cluster.Task
	ServicePorts []cluster.ServicePort
	// Launches is the per-app launch-failure history from the last pass.
	Launches map[string]rollout.Launches
	// JobStates and JobRuns are the job scheduler's records, by job name.
	JobStates map[string]cluster.JobState
	JobRuns   map[string][]cluster.JobRun
	// Schedules are the desired jobs' parsed schedules by job name
	// (JobSchedules), parsed once per commit rather than every pass; a job
	// missing here has its schedule parsed by the pass.
	Schedules map[string]schedule.Schedule
	// NextDue is the previous pass's Outcome.NextDue: each job's next
	// occurrence with what it was computed from, so an idle pass does not
	// compute it again.
	NextDue NextDue
	// Templates are the templates published to agents now.
	Templates []cluster.PublishedTemplate
	// AgentsLostAt says since when each unreachable agent has been lost; its
	// tasks are UNREACHABLE from then (unreachableStrategy counts from it).
	AgentsLostAt map[string]time.Time
	// ManualRuns are jobs someone asked to run now (`berth jobs run`).
	ManualRuns []string
	Now        time.Time
}

// PassOptions are the server's settings for a pass.
type PassOptions struct {
	Spec SpecOptions
	// Prune stops apps that are no longer declared; false only reports them.
	Prune    bool
	Strategy allocator.Strategy
	Seed     uint64
	// NewTaskID makes a unique task id for an instance of appID.
	NewTaskID func(appID string) string

	// observePlacement, when set, is told how long the allocator took. It
	// measures; it decides nothing.
	observePlacement func(time.Duration)
}

// AppOutcome is the pass's verdict on one app, for status and events.
type AppOutcome struct {
	ID       string
	Version  string
	Decision rollout.Decision
	Status   rollout.Status
	// Unplaced is the allocator's reason when starts could not be placed.
	Unplaced string
}

// Outcome is what a pass decided: the writes to commit and what to report.
type Outcome struct {
	Batch    cluster.Batch
	Launches map[string]rollout.Launches
	Apps     []AppOutcome
	Jobs     []JobOutcome
	// JobsWritten are the jobs whose runs or scheduler state Batch writes:
	// the only job records that differ from the snapshot once it commits.
	JobsWritten []string
	// NextDue is what the next pass's Snapshot.NextDue should be.
	NextDue NextDue
	// Orphans are apps with tasks that no manifest declares (pruned, or only
	// reported when Prune is false).
	Orphans []string
	// Converged is true when every app is exactly as declared.
	Converged bool
	// RequeueAt is the earliest time a pass can decide differently without
	// any change in the cluster (a backoff ends, say); zero if none.
	RequeueAt time.Time
}

// Pass decides one reconcile step for every app. It is a pure function of
// the snapshot: the loop reads the snapshot, calls Pass and commits the
// batch, so the same decisions are made whoever leads.
func Pass(s Snapshot, opts PassOptions) (Outcome, error) {
	out := Outcome{Launches: map[string]rollout.Launches{}, Converged: true}
	if s.Desired == nil {
		s.Desired = &manifests.Set{}
	}
	agents := map[string]cluster.Agent{}
	for _, a := range s.Agents {
		agents[a.ID] = a
	}
	byApp := map[string][]cluster.Task{}
	for _, t := range s.Tasks {
		if t.Owner == cluster.OwnerApp {
			byApp[t.OwnerID] = append(byApp[t.OwnerID], t)
		}
	}
	ports, err := servicePorts(s.Desired.Apps, s.ServicePorts, opts.Prune, &out.Batch)
	if err != nil {
		return Outcome{}, err
	}

	type start struct {
		app  *manifests.App
		spec cluster.TaskSpec
		n    int
	}
	var starts []start
	declared := map[string]bool{}
	type decided struct {
		app    *manifests.App
		spec   cluster.TaskSpec
		d      rollout.Decision
		status rollout.Status
	}
	var apps []decided
	deployed := map[string]bool{}
	for i := range s.Desired.Apps {
		app := &s.Desired.Apps[i]
		declared[app.ID] = true
		spec := AppTaskSpec(app, ports[app.ID], opts.Spec)
		rs := rollout.SpecFromApp(*app, SpecVersion(spec))
		group := groupByAttribute(app)
		var tasks []rollout.Task
		for _, t := range byApp[app.ID] {
			tasks = append(tasks, observedTask(t, agents, s.AgentsLostAt, group))
		}
		in := rollout.Input{Spec: rs, Tasks: tasks, Launches: s.Launches[app.ID], Now: s.Now}
		d := rollout.Step(in)
		deployed[app.ID] = d.Deployed()
		apps = append(apps, decided{app: app, spec: spec, d: d, status: rollout.AppStatus(in)})
	}
	// Marathon stops removed apps before it starts new ones, so a renamed app
	// never runs twice over its resources and ports.
	stopping := false
	if opts.Prune {
		for id, tasks := range byApp {
			if declared[id] {
				continue
			}
			for _, t := range tasks {
				if !t.Status.State.Terminal() {
					stopping = true
				}
			}
		}
	}
	for _, a := range apps {
		// Dependency order: an app's deployment waits until the apps it
		// depends on have finished theirs (healing never waits).
		d, status := rollout.Gate(a.d, a.status, rollout.Waiting(a.app.Dependencies, deployed))
		if stopping && len(byApp[a.app.ID]) == 0 && d.Start > 0 {
			d.Start = 0
			status.Message = "waiting for removed apps to stop"
		}
		out.Launches[a.app.ID] = d.Launches
		out.RequeueAt = earliest(out.RequeueAt, d.RequeueAt)
		if !d.Done {
			out.Converged = false
		}
		applyKillsAndForgets(&out.Batch, byApp[a.app.ID], d)
		if d.Start > 0 {
			starts = append(starts, start{app: a.app, spec: a.spec, n: d.Start})
		}
		out.Apps = append(out.Apps, AppOutcome{ID: a.app.ID, Version: SpecVersion(a.spec), Decision: d, Status: status})
	}
	for id, tasks := range byApp {
		if declared[id] {
			continue
		}
		out.Orphans = append(out.Orphans, id)
		if !opts.Prune {
			continue
		}
		out.Converged = false
		for _, t := range tasks {
			stopOrForget(&out.Batch, t)
		}
	}
	sort.Strings(out.Orphans)

	publishTemplates(s.Desired.Templates, s.Templates, &out.Batch)

	jp := &jobPass{s: s, opts: opts, b: &out.Batch}
	jp.run()
	out.Jobs = jp.outcomes
	out.RequeueAt = earliest(out.RequeueAt, jp.requeue)

	if len(starts) > 0 || len(jp.starts) > 0 {
		c := allocatorCluster(s.Agents, s.Tasks)
		demand := make([]allocator.Group, len(starts))
		for i, st := range starts {
			demand[i] = allocator.Group{
				ID:          st.app.ID,
				Instances:   st.n,
				Resources:   allocator.Resources{CPUs: st.spec.Resources.CPUs, Mem: st.spec.Resources.Mem, Disk: st.spec.Resources.Disk},
				Constraints: placementConstraints(st.app.Constraints, st.spec),
				Queue:       st.app.Queue,
				Origin:      st.app.Origin,
			}
			for _, p := range st.spec.Ports {
				demand[i].HostPorts = append(demand[i].HostPorts, p.HostPort)
			}
		}
		for _, js := range jp.starts {
			demand = append(demand, allocator.Group{
				ID:          "job:" + js.job.Name,
				Instances:   1,
				Resources:   allocator.Resources{CPUs: js.spec.Resources.CPUs, Mem: js.spec.Resources.Mem, Disk: js.spec.Resources.Disk},
				Constraints: js.job.Constraints,
				Queue:       js.job.Queue,
				Origin:      js.job.Origin,
			})
		}
		began := time.Now()
		// Random host ports, as Marathon picks them: a port held by something
		// outside Berth fails one launch, not every retry. The seed comes from
		// the snapshot's clock, so a pass stays a function of its input.
		seed := opts.Seed
		if seed == 0 {
			seed = uint64(s.Now.UnixNano())
		}
		res, err := allocator.Allocate(c, demand, allocator.Options{Strategy: opts.Strategy, Seed: seed, RandomPorts: true, Queues: s.Desired.Queues})
		if opts.observePlacement != nil {
			opts.observePlacement(time.Since(began))
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("place new tasks: %w", err)
		}
		for k, g := range res.Groups[len(starts):] {
			jp.placed(jp.starts[k], g)
		}
		for i, g := range res.Groups[:len(starts)] {
			st := starts[i]
			for _, p := range g.Placements {
				spec := st.spec
				spec.Ports = append([]cluster.PortSpec(nil), st.spec.Ports...)
				for j := range spec.Ports {
					if j < len(p.HostPorts) {
						spec.Ports[j].HostPort = p.HostPorts[j]
					}
				}
				out.Batch.PutAssignment(cluster.Assignment{
					TaskID:    opts.NewTaskID(st.app.ID),
					Owner:     cluster.OwnerApp,
					OwnerID:   st.app.ID,
					Version:   SpecVersion(st.spec),
					AgentID:   p.AgentID,
					Spec:      spec,
					CreatedAt: s.Now,
				})
			}
			if g.Unplaced > 0 {
				for k := range out.Apps {
					if out.Apps[k].ID == st.app.ID {
						out.Apps[k].Unplaced = g.Reason
					}
				}
			}
		}
	}
	// Run records go before the launches they describe: if a transaction
	// limit splits the batch, a run is never launched unrecorded.
	jp.flush()
	out.JobsWritten, out.NextDue = jp.writtenJobs(), jp.nextDue
	return out, nil
}

// observedTask converts a cluster task for rollout, marking tasks on lost
// agents UNREACHABLE since the agent was last seen.
func observedTask(t cluster.Task, agents map[string]cluster.Agent, lostAt map[string]time.Time, groupAttr string) rollout.Task {
	group := ""
	a, known := agents[t.AgentID]
	if groupAttr != "" && known {
		if groupAttr == "hostname" {
			group = a.Hostname
		} else {
			group = a.Attributes[groupAttr]
		}
	}
	rt := rollout.TaskFromCluster(t, group)
	if (!known || !a.Reachable) && !rt.State.Terminal() {
		rt.State = cluster.TaskUnreachable
		if at, ok := lostAt[t.AgentID]; ok {
			rt.Since = at
		} else if known && !a.LastSeen.IsZero() {
			rt.Since = a.LastSeen
		}
	}
	return rt
}

// stopOrForget asks for a task that nothing declares any more to stop, and
// forgets it once it has.
func stopOrForget(b *cluster.Batch, t cluster.Task) {
	switch {
	case t.Status.State.Terminal():
		b.DeleteAssignment(t.AgentID, t.TaskID, cluster.AnyVersion)
		b.DeleteStatus(t.AgentID, t.TaskID)
	case !t.Kill:
		a := t.Assignment
		a.Kill = true
		b.PutAssignment(a)
	}
}

// applyKillsAndForgets turns a decision's kills into Kill flags on the
// assignments (the agent stops the task and reports KILLED) and its forgets
// into deletions of the assignment and its status.
func applyKillsAndForgets(b *cluster.Batch, tasks []cluster.Task, d rollout.Decision) {
	byID := map[string]cluster.Task{}
	for _, t := range tasks {
		byID[t.TaskID] = t
	}
	for _, k := range d.Kill {
		t, ok := byID[k.TaskID]
		if !ok || t.Kill {
			continue
		}
		a := t.Assignment
		a.Kill = true
		b.PutAssignment(a)
	}
	for _, id := range d.Forget {
		t, ok := byID[id]
		if !ok {
			continue
		}
		b.DeleteAssignment(t.AgentID, t.TaskID, cluster.AnyVersion)
		b.DeleteStatus(t.AgentID, t.TaskID)
	}
}

// groupByAttribute is the attribute an app's GROUP_BY constraint spreads
// over, which scale-down keeps even.
func groupByAttribute(app *manifests.App) string {
	for _, c := range app.Constraints {
		if c.Operator == manifests.OpGroupBy {
			return c.Field
		}
	}
	return ""
}

// PrivilegedAttribute is the attribute an agent started with
// --allow-privileged carries in placement, so that apps with
// docker.privileged are only placed where they are allowed to run (and
// operators may constrain on it too).
const PrivilegedAttribute = "berth.privileged"

// placementConstraints are an app's constraints plus what its spec implies.
func placementConstraints(cs []manifests.Constraint, spec cluster.TaskSpec) []manifests.Constraint {
	if !spec.Privileged {
		return cs
	}
	return append(append([]manifests.Constraint(nil), cs...), manifests.Constraint{Field: PrivilegedAttribute, Operator: manifests.OpIs, Value: "true"})
}

// allocatorCluster is the allocator's view: reachable agents, and every task
// that still holds resources.
func allocatorCluster(agents []cluster.Agent, tasks []cluster.Task) allocator.Cluster {
	var c allocator.Cluster
	live := map[string]bool{}
	for _, a := range agents {
		if !a.Reachable {
			continue
		}
		live[a.ID] = true
		attrs := a.Attributes
		if a.AllowPrivileged {
			attrs = make(map[string]string, len(a.Attributes)+1)
			for k, v := range a.Attributes {
				attrs[k] = v
			}
			attrs[PrivilegedAttribute] = "true"
		}
		ag := allocator.Agent{ID: a.ID, Hostname: a.Hostname, Attributes: attrs,
			Total: allocator.Resources{CPUs: a.Resources.CPUs, Mem: a.Resources.Mem, Disk: a.Resources.Disk}}
		for _, r := range a.Ports {
			ag.Ports = append(ag.Ports, allocator.PortRange{Begin: r.Begin, End: r.End})
		}
		c.Agents = append(c.Agents, ag)
	}
	for _, t := range tasks {
		if !live[t.AgentID] || t.Status.State.Terminal() {
			continue
		}
		r := allocator.Running{AgentID: t.AgentID, Group: t.OwnerID,
			Resources: allocator.Resources{CPUs: t.Spec.Resources.CPUs, Mem: t.Spec.Resources.Mem, Disk: t.Spec.Resources.Disk}}
		for _, p := range t.Spec.Ports {
			if p.HostPort != 0 {
				r.HostPorts = append(r.HostPorts, p.HostPort)
			}
		}
		c.Running = append(c.Running, r)
	}
	return c
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
