package decide

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/rollout"
)

// Memo is what a decision keeps for the next one so that an app whose
// rollout input did not change is not decided again: at 150,000 tasks,
// stepping every app is most of a pass, while a commit or a status change
// touches a few apps. Like NextDue it is an optimisation, not memory: a nil
// or empty Memo gives the same decisions (TestMemoDecidesAsWithout).
type Memo struct {
	apps map[string]appStep
	// agents is how the decision saw the agents, as rollout sees a task's
	// agent: a step whose tasks are the same task values is reused
	// without converting them only if this is the same too.
	agents agentViews
	// parts are what each task part of Input.TaskParts holds, by the
	// part's first element: parts are never written once given, so the
	// same first element and length is the same part.
	parts map[*cluster.Task]partUse
	// queues is the queue of each owner the parts' sums were made with
	// (queueOwners): sums are per queue, so new queues make new sums.
	queues map[string]string
}

// queueOwners is the queue each app and job names, by owner kind and id;
// nil when no queue is declared (everything is charged to the root).
func queueOwners(set *manifests.Set) map[string]string {
	if set == nil || len(set.Queues) == 0 {
		return nil
	}
	out := make(map[string]string, len(set.Apps)+len(set.Jobs))
	for i := range set.Apps {
		if q := set.Apps[i].Queue; q != "" {
			out[string(cluster.OwnerApp)+set.Apps[i].ID] = q
		}
	}
	for i := range set.Jobs {
		if q := set.Jobs[i].Queue; q != "" {
			out[string(cluster.OwnerJob)+set.Jobs[i].Name] = q
		}
	}
	return out
}

// partUse is what one task part holds, as the allocator counts it: one
// Running per agent and queue with the sum of its tasks, without a group (the
// allocator learns the groups it places from allocatorCluster's markers);
// a task whose amounts the allocator refuses stays a Running of its own,
// so the allocator names it as before.
type partUse struct {
	n       int
	running []allocator.Running
}

// partUse returns what p holds, from m when m saw p with the same queues.
func (m *Memo) partUse(p []cluster.Task, queues map[string]string) partUse {
	if m != nil && maps.Equal(m.queues, queues) {
		if u, ok := m.parts[&p[0]]; ok && u.n == len(p) {
			return u
		}
	}
	u := partUse{n: len(p)}
	type key struct{ agent, queue string }
	sums := map[key]int{} // index in u.running
	for _, r := range heldBy(p, queues) {
		if !r.Resources.Valid() {
			u.running = append(u.running, r)
			continue
		}
		k := key{r.AgentID, r.Queue}
		i, ok := sums[k]
		if !ok {
			i = len(u.running)
			sums[k] = i
			u.running = append(u.running, allocator.Running{AgentID: r.AgentID, Queue: r.Queue})
		}
		s := &u.running[i]
		s.Resources = allocator.Add(s.Resources, r.Resources)
		s.HostPorts = append(s.HostPorts, r.HostPorts...)
	}
	return u
}

func (m *Memo) rememberPart(p []cluster.Task, u partUse) {
	if m.parts == nil {
		m.parts = make(map[*cluster.Task]partUse)
	}
	m.parts[&p[0]] = u
}

// keepParts carries prev's part entries of the parts still given over to
// m, when a decision placed nothing (and so did not look at them): a part
// no longer given is dropped, not to keep its tasks alive.
func (m *Memo) keepParts(prev *Memo, parts [][]cluster.Task, queues map[string]string) {
	if prev == nil || len(prev.parts) == 0 || !maps.Equal(prev.queues, queues) {
		return
	}
	m.queues = queues
	for _, p := range parts {
		if u, ok := prev.parts[&p[0]]; ok && u.n == len(p) {
			m.rememberPart(p, u)
		}
	}
}

// appStep is one app's rollout input and the decision Step made on it.
type appStep struct {
	spec     rollout.Spec
	launches rollout.Launches
	// group is the GROUP_BY attribute the tasks were converted with (a
	// placement constraint, not part of the spec's version).
	group string
	tasks []rollout.Task
	// from are the tasks the step was made on, when all are of the
	// input's TaskParts (which never change): the same pointers are the
	// same tasks.
	from   []*cluster.Task
	d      rollout.Decision
	status rollout.Status
}

// keep reports whether a step can be reused by a later decision whose
// input is the same. Only steps that ask for nothing are kept: what a
// step asks for is written, which changes the input anyway, and a step
// that acts may carry the time it was made (a failure counted now). A
// step held back by the backoff is not kept either: its message counts
// down with the clock.
func (s appStep) keep() bool {
	d := s.d
	return d.Start == 0 && len(d.Kill) == 0 && len(d.Forget) == 0 && len(d.Failed) == 0 &&
		d.DelayedUntil.IsZero() && d.Launches == s.launches
}

// agentView is what a task's conversion for rollout reads of its agent.
type agentView struct {
	id, hostname string
	reachable    bool
	lastSeen     time.Time
	lostSince    time.Time
	attributes   map[string]string
}

type agentViews []agentView

func viewAgents(agents []cluster.Agent, lost map[string]time.Time) agentViews {
	out := make([]agentView, len(agents))
	for i, a := range agents {
		out[i] = agentView{id: a.ID, hostname: a.Hostname, reachable: a.Reachable, lastSeen: a.LastSeen,
			lostSince: lost[a.ID], attributes: a.Attributes}
	}
	return out
}

func (v agentView) equal(o agentView) bool {
	return v.id == o.id && v.hostname == o.hostname && v.reachable == o.reachable && v.lastSeen.Equal(o.lastSeen) &&
		v.lostSince.Equal(o.lostSince) && maps.Equal(v.attributes, o.attributes)
}

// equal compares agent views in order: the agents come sorted by id.
func (m agentViews) equal(o agentViews) bool {
	return slices.EqualFunc(m, o, agentView.equal)
}

// lookup returns the step of app in m, if m has one usable at input: the
// same spec and launch history, as many tasks, and no timer of the step
// passed. The tasks themselves are compared as they are converted.
func (m *Memo) lookup(app string, spec rollout.Spec, launches rollout.Launches, tasks int, in *Input) (appStep, bool) {
	if m == nil {
		return appStep{}, false
	}
	s, ok := m.apps[app]
	if !ok || s.spec != spec || s.launches != launches || len(s.tasks) != tasks {
		return appStep{}, false
	}
	if !s.d.RequeueAt.IsZero() && !in.Now.Before(s.d.RequeueAt) {
		return appStep{}, false
	}
	return s, true
}

// appTasks are the input's app tasks grouped by app, as
// pointers into the input: grouping by copying would copy every task
// (hundreds of bytes each) on every pass, while most apps are only
// compared.
type appTasks struct {
	pos map[string][]*cluster.Task
	// flat is how many of an app's tasks (the first ones) are of
	// Input.Tasks rather than of its parts.
	flat  map[string]int
	cache map[string][]cluster.Task
	// jobs are the job runs' tasks, gathered in the same walk.
	jobs []*cluster.Task
}

func groupAppTasks(in *Input) *appTasks {
	g := &appTasks{pos: map[string][]*cluster.Task{}, flat: map[string]int{}, cache: map[string][]cluster.Task{}}
	for t := range in.allTasks() { // Tasks first
		switch t.Owner {
		case cluster.OwnerApp:
			g.pos[t.OwnerID] = append(g.pos[t.OwnerID], t)
		case cluster.OwnerJob:
			g.jobs = append(g.jobs, t)
		}
	}
	for i := range in.Tasks {
		if t := &in.Tasks[i]; t.Owner == cluster.OwnerApp {
			g.flat[t.OwnerID]++
		}
	}
	return g
}

func (g *appTasks) count(app string) int { return len(g.pos[app]) }

// of returns app's tasks, in input order.
func (g *appTasks) of(app string) []cluster.Task {
	if ts, ok := g.cache[app]; ok {
		return ts
	}
	pos := g.pos[app]
	var ts []cluster.Task
	if len(pos) > 0 {
		ts = make([]cluster.Task, len(pos))
		for k, t := range pos {
			ts[k] = *t
		}
	}
	g.cache[app] = ts
	return ts
}

// ids are the apps that have tasks, in order.
func (g *appTasks) ids() []string {
	ids := make([]string, 0, len(g.pos))
	for id := range g.pos {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// anyLive reports whether app has a task not yet ended.
func (g *appTasks) anyLive(app string) bool {
	for _, t := range g.pos[app] {
		if !t.Status.State.Terminal() {
			return true
		}
	}
	return false
}
