package decide

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/policy"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/schedule"
)

// Input is everything one decision reads: the desired manifests, the
// observed cluster, the engine's durable memory, and the time.
type Input struct {
	Desired *manifests.Set
	Commit  string
	// Applied is the commit the cluster state records as applied; a
	// converged decision records Commit when it differs.
	Applied string
	Agents  []cluster.Agent
	// Tasks are the observed tasks (assignments joined with statuses).
	Tasks []cluster.Task
	// TaskParts are more observed tasks, in parts a cache shares between
	// inputs (mirror.Snapshot.TaskParts, one per agent): a decision treats
	// Tasks and TaskParts as one list and never writes them, and Memo
	// recognises a part it saw before by its identity, so parts must never
	// change once given (what changes them, Apply, joins them first).
	TaskParts    [][]cluster.Task
	ServicePorts []cluster.ServicePort
	// Launches is each app's launch-failure history (durable memory).
	Launches map[string]cluster.LaunchHistory
	// Lost says since when each unreachable agent has been lost (durable
	// memory); its tasks are UNREACHABLE from then.
	Lost map[string]cluster.AgentLost
	// Deployments are the rollouts in progress, by app id (durable memory).
	Deployments map[string]cluster.Deployment
	// Residences are the resident apps' slots, by app id (durable memory):
	// where each instance's persistent volumes are (see residency.go).
	Residences map[string]cluster.Residence
	// JobStates and JobRuns are the job scheduler's records, by job name.
	JobStates map[string]cluster.JobState
	JobRuns   map[string][]cluster.JobRun
	// Schedules are the desired jobs' parsed schedules by job name
	// (JobSchedules), parsed once per commit rather than every decision; a
	// job missing here has its schedule parsed by Decide.
	Schedules map[string]schedule.Schedule
	// NextDue is the previous decision's Result.NextDue: each job's next
	// occurrence with what it was computed from, so an idle decision does
	// not compute it again. It is an optimisation of one term, not memory:
	// an empty one gives the same decisions.
	NextDue NextDue
	// Memo is the previous decision's Result.Memo: each app's last rollout
	// step, reused while its input is the same. Like NextDue, an
	// optimisation of one term: a nil Memo gives the same decisions.
	Memo *Memo
	// Templates are the templates published to agents now.
	Templates []cluster.PublishedTemplate
	// ManualRuns are jobs someone asked to run now (`berth jobs run`).
	ManualRuns []string
	Now        time.Time
}

// Options are the server's settings for a decision.
type Options struct {
	Spec SpecOptions
	// Prune stops apps that are no longer declared; false only reports them.
	Prune    bool
	Strategy allocator.Strategy
	// Seed drives the allocator's random choices (host ports, spread ties);
	// 0 derives it from Input.Now, so a decision stays a function of its
	// input.
	Seed uint64
	// NewTaskID makes a unique task id for an instance of appID (an input,
	// like the clock: the engine draws no randomness itself).
	NewTaskID func(appID string) string
	// AroundPlacement, when set, is called with the allocator's work, so
	// the caller can time it. It measures; it decides nothing.
	AroundPlacement func(place func())
}

// AppOutcome is the verdict on one app, for status and events.
type AppOutcome struct {
	ID       string
	Version  string
	Decision rollout.Decision
	Status   rollout.Status
	// Unplaced is the allocator's reason when starts could not be placed.
	Unplaced string
	// Error is set when the app itself could not be decided (its service
	// ports clash, the allocator refuses its group): the app is Degraded,
	// its running tasks are left as they are, and every other object is
	// decided as usual.
	Error string
}

// Result is what a decision asks for and reports.
type Result struct {
	// Changes are the writes to commit, in the order they must be
	// committed (run records before the launches they describe).
	Changes []Change
	Apps    []AppOutcome
	Jobs    []JobOutcome
	// JobsWritten are the jobs whose runs or scheduler state Changes write:
	// the only job records that differ from the input once committed.
	JobsWritten []string
	// NextDue is what the next decision's Input.NextDue should be.
	NextDue NextDue
	// Memo is what the next decision's Input.Memo should be.
	Memo *Memo
	// Orphans are apps with tasks that no manifest declares (pruned, or only
	// reported when Prune is false).
	Orphans []string
	// Converged is true when every object is exactly as declared.
	Converged bool
	// RequeueAt is the earliest time a decision can differ without any
	// change in the cluster (a backoff ends, say); zero if none.
	RequeueAt time.Time
}

// Degraded lists the apps that could not be decided, with their errors.
func (r Result) Degraded() []AppOutcome {
	var out []AppOutcome
	for _, a := range r.Apps {
		if a.Error != "" {
			out = append(out, a)
		}
	}
	return out
}

// writes collects a decision's changes in order.
type writes struct{ list []Change }

func (w *writes) add(c ...Change) { w.list = append(w.list, c...) }

// Decide makes one reconcile decision for every app, job and template. It
// is a pure function of its input: the same input gives the same result.
func Decide(in Input, opts Options) Result {
	out := Result{Converged: true}
	if in.Desired == nil {
		in.Desired = &manifests.Set{}
	}
	if opts.NewTaskID == nil {
		opts.NewTaskID = sequentialIDs(in.allTasks())
	}
	w := &writes{}
	agents := map[string]cluster.Agent{}
	for _, a := range in.Agents {
		agents[a.ID] = a
	}
	lost := lostClocks(in, w)
	rs := newResidency(in)
	byApp := groupAppTasks(&in)
	memo := &Memo{apps: make(map[string]appStep, len(in.Desired.Apps)), agents: viewAgents(in.Agents, lost)}
	sameAgents := in.Memo != nil && in.Memo.agents.equal(memo.agents)
	out.Memo = memo
	ports, portErrs := servicePorts(in.Desired.Apps, in.ServicePorts, opts.Prune, w)

	var starts []start
	declared := map[string]bool{}
	type decided struct {
		app     *manifests.App
		spec    cluster.TaskSpec
		version string
		d       rollout.Decision
		status  rollout.Status
		err     string
	}
	var apps []decided
	deployed := map[string]bool{}
	for i := range in.Desired.Apps {
		app := &in.Desired.Apps[i]
		declared[app.ID] = true
		if err, bad := portErrs[app.ID]; bad {
			// Without its service ports the app's task version is unknown:
			// leave its tasks exactly as they are.
			apps = append(apps, decided{app: app, err: err.Error()})
			continue
		}
		spec := AppTaskSpec(app, ports[app.ID], opts.Spec)
		spec.Secrets = SecretSpecs(app, in.Desired.Secrets)
		version := SpecVersion(spec)
		st := stepApp(&in, in.Memo, sameAgents, app, rollout.SpecFromApp(*app, version), byApp, agents, lost)
		if st.keep() {
			memo.apps[app.ID] = st
		}
		deployed[app.ID] = st.d.Deployed()
		apps = append(apps, decided{app: app, spec: spec, version: version, d: st.d, status: st.status})
	}
	// Marathon stops removed apps before it starts new ones, so a renamed app
	// never runs twice over its resources and ports.
	stopping := false
	if opts.Prune {
		for id := range byApp.pos {
			if !declared[id] && byApp.anyLive(id) {
				stopping = true
			}
		}
	}
	appIDs := manifests.SortedAppIDs(in.Desired.Apps)
	for _, a := range apps {
		if a.err != "" {
			out.Converged = false
			out.Apps = append(out.Apps, AppOutcome{ID: a.app.ID, Error: a.err,
				Status: rollout.Status{Sync: rollout.OutOfSync, Health: rollout.Degraded, Message: a.err}})
			continue
		}
		// Dependency order: an app's deployment waits until the apps it
		// depends on (or every app of a group it depends on) have finished
		// theirs (healing never waits).
		d, status := rollout.Gate(a.d, a.status, rollout.Waiting(manifests.DependencyApps(a.app, appIDs), deployed))
		if stopping && byApp.count(a.app.ID) == 0 && d.Start > 0 {
			d.Start = 0
			status.Message = "waiting for removed apps to stop"
		}
		rememberLaunches(in.Launches, a.app.ID, d.Launches, w)
		out.RequeueAt = earliest(out.RequeueAt, d.RequeueAt)
		if !d.Done {
			out.Converged = false
		}
		if len(d.Kill) > 0 || len(d.Forget) > 0 {
			killsAndForgets(w, byApp.of(a.app.ID), d)
		}
		switch {
		case d.Start > 0 && a.app.Resident():
			ss, wait := rs.residentStarts(w, a.app, a.spec, d.Start, len(out.Apps), byApp.of(a.app.ID), agents, lost)
			starts = append(starts, ss...)
			if wait != "" {
				status.Message = strings.TrimPrefix(status.Message+"; "+wait, "; ")
			}
		case d.Start > 0:
			starts = append(starts, start{app: a.app, spec: a.spec, n: d.Start, out: len(out.Apps)})
		}
		out.Apps = append(out.Apps, AppOutcome{ID: a.app.ID, Version: a.version, Decision: d, Status: status})
	}
	// Map keys in order, here and below: the same input gives the same
	// changes in the same order.
	for _, id := range byApp.ids() {
		if declared[id] {
			continue
		}
		out.Orphans = append(out.Orphans, id)
		if !opts.Prune {
			continue
		}
		out.Converged = false
		for _, t := range byApp.of(id) {
			stopOrForget(w, t)
		}
	}
	// Slots are kept for resident apps, and for undeclared apps that are
	// only reported (Prune false); the others are released.
	keep := map[string]bool{}
	for i := range in.Desired.Apps {
		if a := &in.Desired.Apps[i]; a.Resident() {
			keep[a.ID] = true
		}
	}
	for id := range rs.slots {
		if !declared[id] && !opts.Prune {
			keep[id] = true
		}
	}
	rs.removed(w, keep, byApp)
	releases(w, in.allTasks())
	for _, id := range sortedKeys(in.Launches) {
		if !declared[id] {
			w.add(ForgetLaunches{AppID: id})
		}
	}
	deployments(in, out.Apps, w)

	publishTemplates(in.Desired.Templates, in.Templates, w)

	jp := &jobPass{s: in, opts: opts, w: w, tasks: byApp.jobs}
	jp.run()
	out.Jobs = jp.outcomes
	out.RequeueAt = earliest(out.RequeueAt, jp.requeue)

	mark := len(w.list)
	if len(starts) > 0 || len(jp.starts) > 0 {
		place(in, opts, starts, jp, out.Apps, rs, w, byApp, memo)
	} else {
		memo.keepParts(in.Memo, in.TaskParts, queueOwners(in.Desired))
	}
	// Slots are recorded before the tasks placed in them: if a transaction
	// limit splits the batch, no task runs in a slot nobody remembers.
	w.list = slices.Insert(w.list, mark, rs.changes()...)
	// Run records go before the launches they describe: if a transaction
	// limit splits the batch, a run is never launched unrecorded.
	jp.flush()
	out.JobsWritten, out.NextDue = jp.writtenJobs(), jp.nextDue
	if out.Converged && in.Commit != "" && in.Applied != in.Commit && len(w.list) == 0 {
		w.add(SetAppliedCommit{Commit: in.Commit, AppliedAt: in.Now})
	}
	out.Changes = w.list
	return out
}

// tasksStopping reports whether any task holding resources is on its way out:
// asked to stop earlier, or by this decision.
func tasksStopping(tasks iter.Seq[*cluster.Task], changes []Change) bool {
	for t := range tasks {
		if t.Kill && !t.Status.State.Terminal() {
			return true
		}
	}
	for _, c := range changes {
		if _, ok := c.(KillTask); ok {
			return true
		}
	}
	return false
}

// start is new instances of an app to place.
type start struct {
	app  *manifests.App
	spec cluster.TaskSpec
	n    int
	out  int // index in the result's Apps
	// slot and pin: a resident app's instance relaunched in its slot, on
	// the slot's agent; newSlots: new instances that make new slots.
	slot, pin string
	newSlots  bool
}

// place asks the allocator for room for the apps' and jobs' starts, on the
// agents whose policy allows them, and records the placements as StartTask
// changes (and the job runs'); starts it cannot place are reported on their
// app (or job) with the reason.
func place(in Input, opts Options, starts []start, jp *jobPass, apps []AppOutcome, rs *residency, w *writes, byApp *appTasks, next *Memo) {
	demand := make([]allocator.Group, 0, len(starts)+len(jp.starts))
	specs := make([]cluster.TaskSpec, 0, cap(demand))
	for _, st := range starts {
		demand = append(demand, appGroup(st.app, st.spec, st.n))
		specs = append(specs, st.spec)
	}
	for _, js := range jp.starts {
		demand = append(demand, jobGroup(js))
		specs = append(specs, js.spec)
	}
	c := allocatorCluster(in.Agents, &in, byApp, demand, in.Memo, next)
	notAllowed := restrictToPolicies(&c, in.Agents, demand, specs)
	pinSlots(&c, demand, starts, rs.slots)
	for i := range notAllowed {
		demand[i].Instances = 0 // nowhere to go: reported below, not placed
	}
	// Random host ports, as Marathon picks them: a port held by something
	// outside Berth fails one launch, not every retry. The seed comes from
	// the input's clock, so a decision stays a function of its input.
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(in.Now.UnixNano())
	}
	aopts := allocator.Options{Strategy: opts.Strategy, Seed: seed, RandomPorts: true, Queues: in.Desired.Queues}
	freeing := tasksStopping(in.allTasks(), w.list)
	var groups []allocator.GroupResult
	var refused map[int]error
	allocate := func() { groups, refused = allocateEach(c, demand, aopts) }
	if opts.AroundPlacement != nil {
		opts.AroundPlacement(allocate)
	} else {
		allocate()
	}
	for k, js := range jp.starts {
		i := len(starts) + k
		if r, bad := notAllowed[i]; bad {
			jp.placed(js, allocator.GroupResult{Reason: r.Error()})
			continue
		}
		if err, bad := refused[i]; bad {
			jp.refused(js, err)
			continue
		}
		jp.placed(js, groups[i])
	}
	for i, st := range starts {
		o := &apps[st.out]
		if err, bad := refused[i]; bad {
			o.Error = fmt.Sprintf("place new tasks: %v", err)
			o.Status.Health, o.Status.Message = rollout.Degraded, o.Error
			continue
		}
		if r, bad := notAllowed[i]; bad {
			// No agent's operator allowed what the app needs: only a
			// flag on an agent, or a change of the manifest, helps.
			o.Unplaced = fmt.Sprintf("%d of %d instances of %s: %v", st.n, st.n, st.app.ID, r)
			if f := st.app.Origin.File; f != "" {
				o.Unplaced = fmt.Sprintf("%s:%d: %s", f, st.app.Origin.Line, o.Unplaced) // as the allocator words its reasons
			}
			o.Status.Health = rollout.Degraded
			o.Status.Message = strings.TrimPrefix(o.Status.Message+"; cannot place: "+o.Unplaced, "; ")
			continue
		}
		g := groups[i]
		for _, p := range g.Placements {
			spec := st.spec
			spec.Ports = append([]cluster.PortSpec(nil), st.spec.Ports...)
			for j := range spec.Ports {
				if j < len(p.HostPorts) {
					spec.Ports[j].HostPort = p.HostPorts[j]
				}
			}
			id, slot := opts.NewTaskID(st.app.ID), st.slot
			if st.newSlots {
				slot = id // a new slot is named after its first task: unique, never reused
			}
			spec = withSlot(spec, slot)
			if st.newSlots {
				rs.add(st.app.ID, cluster.ResidentSlot{ID: slot, AgentID: p.AgentID, Disk: st.app.PersistentDisk(),
					Created: in.Now, Volumes: slotVolumes(spec)})
			}
			w.add(StartTask{Assignment: cluster.Assignment{
				TaskID:    id,
				Owner:     cluster.OwnerApp,
				OwnerID:   st.app.ID,
				Version:   o.Version,
				AgentID:   p.AgentID,
				Slot:      slot,
				Spec:      spec,
				CreatedAt: in.Now,
			}})
		}
		if g.Unplaced > 0 {
			o.Unplaced = g.Reason
			if freeing {
				// Tasks are stopping: their resources and ports come back
				// within a pass or two, so this is a wait, not a fault.
				o.Status.Message = strings.TrimPrefix(o.Status.Message+"; waiting for resources being freed: "+g.Reason, "; ")
			} else {
				// Nothing but a change in the cluster or the manifest can
				// place them: the app is Degraded until then, with the
				// allocator's reason.
				o.Status.Health = rollout.Degraded
				o.Status.Message = strings.TrimPrefix(o.Status.Message+"; cannot place: "+g.Reason, "; ")
			}
		}
	}
}

// appGroup is an app's demand for n new tasks, as the allocator sees it.
func appGroup(app *manifests.App, spec cluster.TaskSpec, n int) allocator.Group {
	g := allocator.Group{
		ID:          app.ID,
		Instances:   n,
		Resources:   allocator.Resources{CPUs: spec.Resources.CPUs, Mem: spec.Resources.Mem, Disk: spec.Resources.Disk},
		Constraints: app.Constraints, // what the spec needs of an agent's policy: restrictToPolicies
		Queue:       app.Queue,
		Origin:      app.Origin,
	}
	for _, p := range spec.Ports {
		g.HostPorts = append(g.HostPorts, p.HostPort)
	}
	return g
}

func jobGroup(js jobStart) allocator.Group {
	return allocator.Group{
		ID:          "job:" + js.job.Name,
		Instances:   1,
		Resources:   allocator.Resources{CPUs: js.spec.Resources.CPUs, Mem: js.spec.Resources.Mem, Disk: js.spec.Resources.Disk},
		Constraints: js.job.Constraints,
		Queue:       js.job.Queue,
		Origin:      js.job.Origin,
	}
}

// allocateEach places demand in one allocation. When the allocator refuses
// the whole (a group it cannot take at all), each group is tried alone to
// find the ones at fault; those are returned in refused, by demand index,
// and the rest are placed together as usual. One bad group never stops the
// others.
func allocateEach(c allocator.Cluster, demand []allocator.Group, opts allocator.Options) ([]allocator.GroupResult, map[int]error) {
	res, err := allocator.Allocate(c, demand, opts)
	if err == nil {
		return res.Groups, nil
	}
	refused := map[int]error{}
	var keep []int
	for i, g := range demand {
		if _, err := allocator.Allocate(c, []allocator.Group{g}, opts); err != nil {
			refused[i] = err
			continue
		}
		keep = append(keep, i)
	}
	groups := make([]allocator.GroupResult, len(demand))
	if len(refused) == 0 {
		// Each alone is fine but not together: refuse them all with the
		// allocator's own words rather than guess.
		for i := range demand {
			refused[i] = err
		}
		return groups, refused
	}
	rest := make([]allocator.Group, len(keep))
	for k, i := range keep {
		rest[k] = demand[i]
	}
	res, err = allocator.Allocate(c, rest, opts)
	for k, i := range keep {
		if err != nil {
			refused[i] = err
			continue
		}
		groups[i] = res.Groups[k]
	}
	return groups, refused
}

// lostClocks returns since when each unreachable agent has been lost, and
// records clocks that start or end now in w. A clock starts the first time
// a decision sees the agent unreachable and is stored, so every later
// leader counts from the same moment; it ends when the agent is reachable
// again or gone.
func lostClocks(in Input, w *writes) map[string]time.Time {
	out := map[string]time.Time{}
	seen := map[string]bool{}
	for _, a := range in.Agents {
		seen[a.ID] = true
		l, known := in.Lost[a.ID]
		if a.Reachable {
			if known {
				w.add(ClearAgentLost{AgentID: a.ID})
			}
			continue
		}
		if !known {
			l = cluster.AgentLost{AgentID: a.ID, Since: in.Now}
			w.add(MarkAgentLost{Lost: l})
		}
		out[a.ID] = l.Since
	}
	for _, id := range sortedKeys(in.Lost) {
		if !seen[id] {
			w.add(ClearAgentLost{AgentID: id})
		}
	}
	return out
}

func launchesOf(l cluster.LaunchHistory) rollout.Launches {
	return rollout.Launches{Version: l.Version, Failures: l.Failures, LastFailure: l.LastFailure}
}

// rememberLaunches stores an app's launch history when the decision changed
// it. A history without failures is not kept: it is the same as none.
func rememberLaunches(have map[string]cluster.LaunchHistory, app string, l rollout.Launches, w *writes) {
	old, known := have[app]
	if l.Failures == 0 {
		if known {
			w.add(ForgetLaunches{AppID: app})
		}
		return
	}
	next := cluster.LaunchHistory{AppID: app, Version: l.Version, Failures: l.Failures, LastFailure: l.LastFailure}
	if known && old.Version == next.Version && old.Failures == next.Failures && old.LastFailure.Equal(next.LastFailure) {
		return
	}
	w.add(RememberLaunches{Launches: next})
}

// deployments keeps a record of every app on its way to a new version or
// count, started when the rollout starts and removed when it is done, so
// that a deployment keeps its start time across leaders.
func deployments(in Input, apps []AppOutcome, w *writes) {
	live := map[string]bool{}
	for _, a := range apps {
		if a.Error != "" {
			if _, ok := in.Deployments[a.ID]; ok {
				live[a.ID] = true // leave it as it is
			}
			continue
		}
		old, ok := in.Deployments[a.ID]
		if a.Decision.Done {
			continue
		}
		live[a.ID] = true
		if ok && old.Version == a.Version && old.Commit == in.Commit {
			continue
		}
		d := cluster.Deployment{ID: a.ID, Commit: in.Commit, AppIDs: []string{a.ID}, Version: a.Version,
			Message: a.Status.Message, StartedAt: in.Now, UpdatedAt: in.Now}
		if ok && old.Version == a.Version {
			d.StartedAt = old.StartedAt // a new commit that left the app alone
		}
		w.add(SaveDeployment{Deployment: d})
	}
	ids := make([]string, 0, len(in.Deployments))
	for id := range in.Deployments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !live[id] {
			w.add(EndDeployment{ID: id})
		}
	}
}

// stepApp decides app's rollout: Step over its observed tasks, or the
// memo's step when the input is the one it was made on. The tasks are
// compared as they are converted, so an unchanged app costs a conversion
// and a comparison per task, with nothing allocated.
func stepApp(in *Input, m *Memo, sameAgents bool, app *manifests.App, spec rollout.Spec, byApp *appTasks,
	agents map[string]cluster.Agent, lost map[string]time.Time) appStep {
	launches := launchesOf(in.Launches[app.ID])
	pos := byApp.pos[app.ID]
	prev, reuse := m.lookup(app.ID, spec, launches, len(pos), in)
	// Tasks of the cache's parts never change once given: the very same
	// tasks, on agents seen the same, are the same rollout tasks, without
	// reading them. Only the tasks of parts that changed (the agents that
	// got or reported something) are converted and compared.
	shared := byApp.flat[app.ID] == 0
	group := groupByAttribute(app)
	same := reuse && sameAgents && shared && prev.group == group && len(prev.from) == len(pos)
	if same && slices.Equal(prev.from, pos) {
		return prev
	}
	var tasks []rollout.Task
	if !reuse {
		tasks = make([]rollout.Task, 0, len(pos))
	}
	for k, t := range pos {
		if reuse && same && prev.from[k] == t {
			continue
		}
		var rt rollout.Task
		if !reuse && same && prev.from[k] == t {
			rt = prev.tasks[k]
		} else {
			rt = observedTask(t, agents, lost, group)
		}
		if reuse {
			if prev.tasks[k] == rt {
				continue
			}
			reuse = false
			tasks = append(make([]rollout.Task, 0, len(pos)), prev.tasks[:k]...)
		}
		tasks = append(tasks, rt)
	}
	var from []*cluster.Task
	if shared {
		from = pos
	}
	if reuse {
		prev.from = from
		return prev
	}
	rin := rollout.Input{Spec: spec, Tasks: tasks, Launches: launches, Now: in.Now}
	d := rollout.Step(rin)
	return appStep{spec: spec, launches: launches, group: group, tasks: tasks, from: from, d: d, status: rollout.StatusOf(rin, d)}
}

// observedTask converts a cluster task for rollout, marking tasks on lost
// agents UNREACHABLE since the agent was lost.
func observedTask(t *cluster.Task, agents map[string]cluster.Agent, lostAt map[string]time.Time, groupAttr string) rollout.Task {
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
func stopOrForget(w *writes, t cluster.Task) {
	switch {
	case t.Status.State.Terminal():
		w.add(ForgetTask{AgentID: t.AgentID, TaskID: t.TaskID})
	case !t.Kill:
		a := t.Assignment
		a.Kill = true
		w.add(KillTask{Assignment: a, Reason: "no longer declared"})
	}
}

// killsAndForgets turns a decision's kills and forgets into changes.
func killsAndForgets(w *writes, tasks []cluster.Task, d rollout.Decision) {
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
		w.add(KillTask{Assignment: a, Reason: string(k.Reason)})
	}
	for _, id := range d.Forget {
		t, ok := byID[id]
		if !ok {
			continue
		}
		w.add(ForgetTask{AgentID: t.AgentID, TaskID: t.TaskID})
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
// --allow-privileged carries in placement, for operators' own constraints;
// privileged apps are kept to such agents by the policy check
// (restrictToPolicies).
const PrivilegedAttribute = "berth.privileged"

// policyAttribute marks, for one allocation, the agents whose policy allows
// demand group i.
func policyAttribute(i int) string { return "berth.policy." + strconv.Itoa(i) }

// restrictToPolicies places each group only on agents whose policy allows
// its spec (policy.CheckAgent): the agent would refuse it anyway, as FAILED.
// A group no reachable agent allows is not placed at all and is returned in
// refused with the policy's reason, naming the flag that would allow it.
func restrictToPolicies(c *allocator.Cluster, agents []cluster.Agent, demand []allocator.Group, specs []cluster.TaskSpec) map[int]policy.Refusal {
	byID := map[string]cluster.Agent{}
	for _, a := range agents {
		byID[a.ID] = a
	}
	refused := map[int]policy.Refusal{}
	owned := make([]bool, len(c.Agents)) // attribute maps copied for this allocation
	for i := range demand {
		var first *policy.Refusal
		allowed := make([]bool, len(c.Agents))
		n := 0
		for k, ag := range c.Agents {
			r, ok := policy.CheckAgent(byID[ag.ID], specs[i])
			if ok {
				allowed[k] = true
				n++
			} else if first == nil {
				first = &r
			}
		}
		switch {
		case n == len(c.Agents):
			continue
		case n == 0:
			if first != nil {
				refused[i] = *first
			}
			continue
		}
		key := policyAttribute(i)
		for k := range c.Agents {
			if !allowed[k] {
				continue
			}
			if !owned[k] {
				attrs := make(map[string]string, len(c.Agents[k].Attributes)+1)
				for a, v := range c.Agents[k].Attributes {
					attrs[a] = v
				}
				c.Agents[k].Attributes, owned[k] = attrs, true
			}
			c.Agents[k].Attributes[key] = "true"
		}
		demand[i].Constraints = append(append([]manifests.Constraint(nil), demand[i].Constraints...),
			manifests.Constraint{Field: key, Operator: manifests.OpIs, Value: "true"})
	}
	return refused
}

// allocatorCluster is the allocator's view: reachable agents, and every task
// that still holds resources. A task of Input.Tasks is one Running; a part
// of Input.TaskParts (one agent's tasks, as the leader's cache gives them)
// is one Running with their sum, taken from the previous decision's memo
// when the part is the same (next remembers it), plus, for the groups of
// demand only, one Running holding nothing per task, which the allocator
// counts for the group's constraints. So placing 10 tasks into 150,000 costs
// the agents and the apps being placed, not every task.
func allocatorCluster(agents []cluster.Agent, in *Input, byApp *appTasks, demand []allocator.Group, prev, next *Memo) allocator.Cluster {
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
	queues := queueOwners(in.Desired)
	next.queues = queues
	held := heldBy(in.Tasks, queues)
	uses := make([]partUse, len(in.TaskParts))
	n := len(held)
	for i, p := range in.TaskParts {
		uses[i] = prev.partUse(p, queues)
		next.rememberPart(p, uses[i])
		n += len(uses[i].running)
	}
	c.Running = make([]allocator.Running, 0, n)
	for _, r := range held {
		if live[r.AgentID] {
			c.Running = append(c.Running, r)
		}
	}
	for _, u := range uses {
		for _, r := range u.running {
			if live[r.AgentID] {
				c.Running = append(c.Running, r)
			}
		}
	}
	for _, g := range demand {
		ts := byApp.pos[g.ID]
		for _, t := range ts[byApp.flat[g.ID]:] { // the flat ones are in held, with their group
			if live[t.AgentID] && !t.Status.State.Terminal() {
				c.Running = append(c.Running, allocator.Running{AgentID: t.AgentID, Group: g.ID})
			}
		}
	}
	return c
}

// heldBy is what tasks hold, as the allocator counts it: every task not
// yet ended holds its resources and host ports.
// Each is charged to the queue its app or job names now: a queue's running
// tasks count against its shares as much as those being placed.
func heldBy(tasks []cluster.Task, queues map[string]string) []allocator.Running {
	var out []allocator.Running
	for i := range tasks {
		t := &tasks[i]
		if t.Status.State.Terminal() {
			continue
		}
		r := allocator.Running{AgentID: t.AgentID, Group: t.OwnerID, Queue: queues[string(t.Owner)+t.OwnerID],
			Resources: allocator.Resources{CPUs: t.Spec.Resources.CPUs, Mem: t.Spec.Resources.Mem, Disk: t.Spec.Resources.Disk}}
		for _, p := range t.Spec.Ports {
			if p.HostPort != 0 {
				r.HostPorts = append(r.HostPorts, p.HostPort)
			}
		}
		out = append(out, r)
	}
	return out
}

// sequentialIDs is the task-id maker of a decision made without one (a
// simulation): app prefix and a counter, deterministic, never one of the
// ids the cluster already has.
func sequentialIDs(taken iter.Seq[*cluster.Task]) func(string) string {
	used := map[string]bool{}
	for t := range taken {
		used[t.TaskID] = true
	}
	n := 0
	return func(app string) string {
		for {
			n++
			id := fmt.Sprintf("%s.sim%d", TaskPrefix(app), n)
			if !used[id] {
				used[id] = true
				return id
			}
		}
	}
}

// sortedKeys are m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
