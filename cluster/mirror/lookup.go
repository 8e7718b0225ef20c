package mirror

import (
	"path"

	"github.com/berthops/berth/cluster"
)

// Lookups of one task or agent, for API reads that name it (a task's logs):
// they cost a map lookup where a Snapshot's slices would be walked.

// Task returns one task of the leader's mirror, joined with its status as
// Snapshot joins them; ok is false when it has no such assignment. ErrStale
// as Snapshot.
func (m *Mirror) Task(agentID, taskID string) (t cluster.Task, ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.freshLocked() {
		return cluster.Task{}, false, ErrStale
	}
	l := m.layout
	agent, task := cluster.NodeName(agentID), cluster.NodeName(taskID)
	lf, found := m.leaves[path.Join(l.Assignments, agent, task)]
	if !found {
		return cluster.Task{}, false, nil
	}
	a, isAssignment := lf.val.(cluster.Assignment)
	if !isAssignment {
		return cluster.Task{}, false, nil
	}
	st := cluster.TaskStatus{TaskID: a.TaskID, AgentID: agentID, State: cluster.TaskStaging}
	if s, found := m.leaves[path.Join(l.Statuses, agent, task)]; found {
		st = s.val.(cluster.TaskStatus)
	}
	return cluster.Task{Assignment: a, Status: st}, true, nil
}

// Agent returns one registered agent of the leader's mirror, Reachable
// from its live node as in Snapshot; ok is false when it never registered.
// ErrStale as Snapshot.
func (m *Mirror) Agent(id string) (a cluster.Agent, ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.freshLocked() {
		return cluster.Agent{}, false, ErrStale
	}
	l := m.layout
	name := cluster.NodeName(id)
	lf, found := m.leaves[path.Join(l.Agents, name)]
	if !found {
		return cluster.Agent{}, false, nil
	}
	if a, ok = lf.val.(cluster.Agent); !ok {
		return cluster.Agent{}, false, nil
	}
	a.Reachable = false
	if d := m.dirs[l.Live]; d != nil {
		_, a.Reachable = d.kids[name]
	}
	return a, true, nil
}
