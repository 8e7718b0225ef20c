package mirror

import (
	"path"
	"slices"

	"github.com/berthops/berth/cluster"
)

// Snapshot is the leader's view of the cluster at one epoch, in the order
// and shape cluster.State reads it. Its slices are shared with the mirror
// until the next change: read them, never modify them.
type Snapshot struct {
	// Epoch identifies the state: an equal epoch is an equal snapshot.
	Epoch uint64
	// Agents are every registered agent, Reachable from its live node,
	// sorted by id (as State.Agents).
	Agents []cluster.Agent
	// TaskParts join each assignment with its status, one part per agent,
	// by agent then task (AllTasks is State.Tasks). A part is shared by
	// every snapshot until a task of its agent changes, so a change costs a
	// copy of one agent's tasks, not of 150,000; and readers can tell an
	// unchanged part by its identity (decide.Memo does).
	TaskParts    [][]cluster.Task
	ServicePorts []cluster.ServicePort
	Templates    []cluster.PublishedTemplate
	Applied      cluster.AppliedCommit
	Launches     map[string]cluster.LaunchHistory
	Lost         map[string]cluster.AgentLost
	Deployments  map[string]cluster.Deployment
	Residences   map[string]cluster.Residence
}

// Snapshot returns the leader's view now; ErrStale when the mirror cannot
// be trusted until a Resync.
func (m *Mirror) Snapshot() (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.freshLocked() {
		return Snapshot{}, ErrStale
	}
	l := m.layout
	s := Snapshot{Epoch: m.epoch, Agents: m.agentsLocked(), TaskParts: m.tasksLocked()}
	s.ServicePorts = values[cluster.ServicePort](m, l.ServicePorts)
	slices.SortStableFunc(s.ServicePorts, func(a, b cluster.ServicePort) int { return a.Port - b.Port })
	s.Templates = values[cluster.PublishedTemplate](m, l.Templates)
	slices.SortStableFunc(s.Templates, func(a, b cluster.PublishedTemplate) int {
		switch {
		case a.Template.ID < b.Template.ID:
			return -1
		case a.Template.ID > b.Template.ID:
			return 1
		}
		return 0
	})
	if c, ok := m.leaves[l.Commit]; ok {
		s.Applied = c.val.(cluster.AppliedCommit)
	}
	s.Launches = map[string]cluster.LaunchHistory{}
	for _, v := range values[cluster.LaunchHistory](m, l.Launches) {
		s.Launches[v.AppID] = v
	}
	s.Lost = map[string]cluster.AgentLost{}
	for _, v := range values[cluster.AgentLost](m, l.Lost) {
		s.Lost[v.AgentID] = v
	}
	s.Residences = map[string]cluster.Residence{}
	for _, v := range values[cluster.Residence](m, l.Residences) {
		s.Residences[v.AppID] = v
	}
	s.Deployments = map[string]cluster.Deployment{}
	for _, v := range values[cluster.Deployment](m, l.Deployments) {
		s.Deployments[v.ID] = v
	}
	return s, nil
}

// values are a one-level table's values in node-name order.
func values[T any](m *Mirror, dir string) []T {
	d := m.dirs[dir]
	if d == nil {
		return nil
	}
	out := make([]T, 0, len(d.kids))
	for _, n := range d.names() {
		if l, ok := m.leaves[path.Join(dir, n)]; ok {
			out = append(out, l.val.(T))
		}
	}
	return out
}

func (m *Mirror) agentsLocked() []cluster.Agent {
	if m.agentsCache != nil {
		return m.agentsCache
	}
	l := m.layout
	live := map[string]struct{}{}
	if d := m.dirs[l.Live]; d != nil {
		live = d.kids
	}
	out := []cluster.Agent{}
	if d := m.dirs[l.Agents]; d != nil {
		for _, n := range d.names() {
			lf, ok := m.leaves[path.Join(l.Agents, n)]
			if !ok {
				continue
			}
			a := lf.val.(cluster.Agent)
			_, a.Reachable = live[n]
			out = append(out, a)
		}
	}
	m.agentsCache = out
	return out
}

// AllTasks is every task in one slice, as State.Tasks reads them: a copy,
// for readers that want one list rather than the parts.
func (s Snapshot) AllTasks() []cluster.Task {
	n := 0
	for _, p := range s.TaskParts {
		n += len(p)
	}
	out := make([]cluster.Task, 0, n)
	for _, p := range s.TaskParts {
		out = append(out, p...)
	}
	return out
}

func (m *Mirror) tasksLocked() [][]cluster.Task {
	if m.allTasks != nil {
		return m.allTasks
	}
	l := m.layout
	top := m.dirs[l.Assignments]
	if top == nil {
		m.allTasks = [][]cluster.Task{}
		return m.allTasks
	}
	subs := top.names()
	out := make([][]cluster.Task, 0, len(subs))
	for _, sub := range subs {
		if ts := m.agentTasksLocked(sub); len(ts) > 0 {
			out = append(out, ts)
		}
	}
	m.allTasks = out
	return out
}

func (m *Mirror) agentTasksLocked(sub string) []cluster.Task {
	if ts, ok := m.tasksCache[sub]; ok {
		return ts
	}
	l := m.layout
	agentID, err := cluster.IDOfNode(sub)
	if err != nil {
		agentID = sub
	}
	adir := path.Join(l.Assignments, sub)
	sdir := path.Join(l.Statuses, sub)
	var out []cluster.Task
	if d := m.dirs[adir]; d != nil {
		out = make([]cluster.Task, 0, len(d.kids))
		for _, n := range d.names() {
			lf, ok := m.leaves[path.Join(adir, n)]
			if !ok {
				continue
			}
			a := lf.val.(cluster.Assignment)
			st := cluster.TaskStatus{TaskID: a.TaskID, AgentID: agentID, State: cluster.TaskStaging}
			if s, ok := m.leaves[path.Join(sdir, cluster.NodeName(a.TaskID))]; ok {
				st = s.val.(cluster.TaskStatus)
			}
			out = append(out, cluster.Task{Assignment: a, Status: st})
		}
	}
	m.tasksCache[sub] = out
	return out
}

// Assignments returns the assignments of a ForAgent mirror, by task id,
// and the epoch they are at; ErrStale as Snapshot.
func (m *Mirror) Assignments() ([]cluster.Assignment, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.freshLocked() {
		return nil, 0, ErrStale
	}
	t := m.tables[0]
	out := values[cluster.Assignment](m, t.dir)
	return out, m.epoch, nil
}
