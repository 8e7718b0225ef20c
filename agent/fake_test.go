package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

// fakeCluster is an in-memory Cluster that keeps every status ever reported,
// so tests can assert on the sequence of states.
type fakeCluster struct {
	mu       sync.Mutex
	agents   map[string]cluster.Agent
	assign   map[string]map[string]cluster.Assignment
	subs     map[string][]chan []cluster.Assignment
	statuses []cluster.TaskStatus
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		agents: map[string]cluster.Agent{},
		assign: map[string]map[string]cluster.Assignment{},
		subs:   map[string][]chan []cluster.Assignment{},
	}
}

func (f *fakeCluster) RegisterAgent(_ context.Context, a cluster.Agent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agents[a.ID] = a
	return nil
}

func (f *fakeCluster) WatchAssignments(ctx context.Context, agentID string) (<-chan []cluster.Assignment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan []cluster.Assignment, 1)
	ch <- f.setLocked(agentID)
	f.subs[agentID] = append(f.subs[agentID], ch)
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.subs[agentID] = slices.DeleteFunc(f.subs[agentID], func(c chan []cluster.Assignment) bool { return c == ch })
		close(ch)
	}()
	return ch, nil
}

func (f *fakeCluster) setLocked(agentID string) []cluster.Assignment {
	var out []cluster.Assignment
	for _, a := range f.assign[agentID] {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b cluster.Assignment) int { return cmpString(a.TaskID, b.TaskID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakeCluster) notifyLocked(agentID string) {
	set := f.setLocked(agentID)
	for _, ch := range f.subs[agentID] {
		select {
		case <-ch:
		default:
		}
		ch <- set
	}
}

func (f *fakeCluster) put(a cluster.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.assign[a.AgentID] == nil {
		f.assign[a.AgentID] = map[string]cluster.Assignment{}
	}
	f.assign[a.AgentID][a.TaskID] = a
	f.notifyLocked(a.AgentID)
}

func (f *fakeCluster) remove(agentID, taskID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.assign[agentID], taskID)
	f.notifyLocked(agentID)
}

func (f *fakeCluster) ReportStatuses(_ context.Context, sts []cluster.TaskStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, sts...)
	return nil
}

// states lists the states reported for a task, in order.
func (f *fakeCluster) states(taskID string) []cluster.TaskState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cluster.TaskState
	for _, s := range f.statuses {
		if s.TaskID == taskID {
			out = append(out, s.State)
		}
	}
	return out
}

// waitFor polls until the task's latest status satisfies ok.
func (f *fakeCluster) waitFor(t testing.TB, taskID string, timeout time.Duration, what string, ok func(cluster.TaskStatus) bool) cluster.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		var last *cluster.TaskStatus
		for i := len(f.statuses) - 1; i >= 0; i-- {
			if f.statuses[i].TaskID == taskID {
				last = &f.statuses[i]
				break
			}
		}
		var got cluster.TaskStatus
		if last != nil {
			got = *last
		}
		f.mu.Unlock()
		if last != nil && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: no %s after %s; states %v, last %s", taskID, what, timeout, f.states(taskID), fmt.Sprintf("%+v", got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fakeCluster) waitState(t testing.TB, taskID string, want cluster.TaskState) cluster.TaskStatus {
	t.Helper()
	return f.waitFor(t, taskID, 30*time.Second, string(want), func(s cluster.TaskStatus) bool { return s.State == want })
}
