package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Batch collects the leader's changes to the cluster state, to be committed
// fenced in as few transactions as fit. It is a value the planner can build
// without touching a store.
type Batch struct {
	ops []Op
	err error
}

// Len is the number of operations collected.
func (b *Batch) Len() int { return len(b.ops) }

// Append adds other's operations after b's, keeping their order.
func (b *Batch) Append(other *Batch) {
	if b.err == nil {
		b.err = other.err
	}
	b.ops = append(b.ops, other.ops...)
}

// Ops returns the collected operations.
func (b *Batch) Ops() []Op { return b.ops }

func (b *Batch) putJSON(p string, v any) {
	if b.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		b.err = fmt.Errorf("encode %s: %w", p, err)
		return
	}
	b.ops = append(b.ops, Put(p, data))
}

func (b *Batch) delete(p string, version int32) {
	b.ops = append(b.ops, Delete(p, version))
}

// PutAssignment creates or replaces a's assignment on a.AgentID.
func (b *Batch) PutAssignment(a Assignment) {
	b.putJSON(assignmentPath(a.AgentID, a.TaskID), a)
}

// DeleteAssignment removes a task's assignment (the agent then stops it) at
// version, or whatever it is with AnyVersion.
func (b *Batch) DeleteAssignment(agentID, taskID string, version int32) {
	b.delete(assignmentPath(agentID, taskID), version)
}

// DeleteStatus removes a task's last status once the task is gone, if it
// has one: a task whose agent was lost before it reported anything has none,
// and forgetting it must not fail the batch.
func (b *Batch) DeleteStatus(agentID, taskID string) {
	b.ops = append(b.ops, DeleteIfExists(statusPath(agentID, taskID)))
}

// PutServicePort holds a service port for an app's port.
func (b *Batch) PutServicePort(p ServicePort) { b.putJSON(portPath(p.Port), p) }

// DeleteServicePort releases a service port.
func (b *Batch) DeleteServicePort(port int) { b.delete(portPath(port), AnyVersion) }

// SetAppliedCommit records the commit the cluster converged to.
func (b *Batch) SetAppliedCommit(c AppliedCommit) { b.putJSON(nodeCommit, c) }

// PutDeployment records a deployment's progress.
func (b *Batch) PutDeployment(d Deployment) { b.putJSON(deploymentPath(d.ID), d) }

// DeleteDeployment removes a finished deployment.
func (b *Batch) DeleteDeployment(id string) { b.delete(deploymentPath(id), AnyVersion) }

// PutLaunches records an app's launch-failure history.
func (b *Batch) PutLaunches(l LaunchHistory) { b.putJSON(launchesPath(l.AppID), l) }

// DeleteLaunches forgets an app's launch-failure history.
func (b *Batch) DeleteLaunches(appID string) { b.delete(launchesPath(appID), AnyVersion) }

// PutAgentLost records since when an agent has been lost.
func (b *Batch) PutAgentLost(l AgentLost) { b.putJSON(lostPath(l.AgentID), l) }

// DeleteAgentLost forgets an agent's lost clock.
func (b *Batch) DeleteAgentLost(agentID string) { b.delete(lostPath(agentID), AnyVersion) }

// PutJobRun records a job run.
func (b *Batch) PutJobRun(r JobRun) { b.putJSON(jobRunPath(r.Job, r.RunID), r) }

// PutJobState records the scheduler's memory of a job.
func (b *Batch) PutJobState(j JobState) { b.putJSON(jobStatePath(j.Job), j) }

// DeleteJobState forgets a job that is no longer declared.
func (b *Batch) DeleteJobState(job string) { b.delete(jobStatePath(job), AnyVersion) }

// DeleteJobRun forgets a job run (history trimming).
func (b *Batch) DeleteJobRun(job, runID string) { b.delete(jobRunPath(job, runID), AnyVersion) }

// Commit writes b through lead's fence, in transactions under ZooKeeper's
// request limit, and returns how many transactions it took. Each transaction
// is atomic and fenced; if one fails the later ones are not attempted, and
// the error wraps ErrFenced when leadership was lost.
func (st *State) Commit(ctx context.Context, lead Leadership, b *Batch) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	fence := lead.Fence()
	n := 0
	for _, ops := range SplitBatches(b.ops, &fence, 0) {
		if err := st.store.Multi(ctx, ops...); err != nil {
			return n, fmt.Errorf("commit %d of %d changes: %w", len(ops)-1, len(b.ops), err)
		}
		n++
	}
	return n, nil
}

// newTimer is the retry delay of watch loops after a failed read.
func newTimer() *time.Timer { return time.NewTimer(time.Second) }

// SetLeaderRecord records the leader's term and heartbeat.
func (b *Batch) SetLeaderRecord(r LeaderRecord) { b.putJSON(nodeLeaderInfo, r) }
