package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Reads of part of the tasks, for the API's filtered and paged reads: a
// page or one agent's tasks must not cost a read of all 150,000.

// TaskRef names one task where the store keeps it: under its agent.
type TaskRef struct {
	AgentID, TaskID string
}

// AgentIDs lists the agents that hold assignments, sorted.
func (st *State) AgentIDs(ctx context.Context) ([]string, error) {
	names, err := children(ctx, st.store, dirAssignments)
	if err != nil {
		return nil, fmt.Errorf("list agents with tasks: %w", err)
	}
	ids := make([]string, len(names))
	for i, n := range names {
		if ids[i], err = url.PathUnescape(n); err != nil {
			return nil, fmt.Errorf("list agents with tasks: agent node %q: %w", n, err)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// AgentTasks joins one agent's assignments with their statuses, sorted by
// task id, as Tasks does for all agents.
func (st *State) AgentTasks(ctx context.Context, agentID string) ([]Task, error) {
	tasks, err := st.agentTasks(ctx, agentID)
	if err != nil {
		return nil, fmt.Errorf("list tasks of agent %s: %w", agentID, err)
	}
	return tasks, nil
}

// TasksByRef reads the tasks refs name (a few reads in flight at once) in
// the order given; a task whose assignment is gone is left out.
func (st *State) TasksByRef(ctx context.Context, refs []TaskRef) ([]Task, error) {
	tasks := make([]Task, len(refs))
	found := make([]bool, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallel)
	for i, r := range refs {
		g.Go(func() error {
			var a Assignment
			if _, err := getJSON(gctx, st.store, assignmentPath(r.AgentID, r.TaskID), &a); err != nil {
				if errors.Is(err, ErrNotFound) {
					return nil
				}
				return fmt.Errorf("read task %s: %w", r.TaskID, err)
			}
			s := TaskStatus{TaskID: r.TaskID, AgentID: r.AgentID, State: TaskStaging}
			if _, err := getJSON(gctx, st.store, statusPath(r.AgentID, r.TaskID), &s); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("read status of task %s: %w", r.TaskID, err)
			}
			tasks[i], found[i] = Task{Assignment: a, Status: s}, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := tasks[:0]
	for i, t := range tasks {
		if found[i] {
			out = append(out, t)
		}
	}
	return out, nil
}

// Agent reads one agent's registration, Reachable from whether its session
// is live now, as Agents does for all of them; ErrNotFound if it never
// registered.
func (st *State) Agent(ctx context.Context, id string) (Agent, error) {
	var a Agent
	if _, err := getJSON(ctx, st.store, agentPath(id), &a); err != nil {
		return Agent{}, fmt.Errorf("read agent %s: %w", id, err)
	}
	_, err := st.store.Get(ctx, livePath(id))
	switch {
	case err == nil:
		a.Reachable = true
	case errors.Is(err, ErrNotFound):
		a.Reachable = false
	default:
		return Agent{}, fmt.Errorf("read whether agent %s is live: %w", id, err)
	}
	return a, nil
}

// FindTask finds a task by id without an index: it lists the agents that
// hold assignments and asks each (a few at a time) whether it holds the
// task, stopping at the first that does: one read per agent at most, where
// reading every task would be two per task. ErrNotFound if no agent holds
// it.
func (st *State) FindTask(ctx context.Context, taskID string) (Task, error) {
	agents, err := st.AgentIDs(ctx)
	if err != nil {
		return Task{}, fmt.Errorf("find task %s: %w", taskID, err)
	}
	var (
		mu    sync.Mutex
		found *TaskRef
	)
	errFound := errors.New("found")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallel)
	for _, agent := range agents {
		if gctx.Err() != nil {
			break // found, or failed
		}
		g.Go(func() error {
			_, err := st.store.Get(gctx, assignmentPath(agent, taskID))
			switch {
			case err == nil:
				mu.Lock()
				found = &TaskRef{AgentID: agent, TaskID: taskID}
				mu.Unlock()
				return errFound // stops the others
			case errors.Is(err, ErrNotFound):
				return nil
			default:
				return fmt.Errorf("find task %s on agent %s: %w", taskID, agent, err)
			}
		})
	}
	if err := g.Wait(); err != nil && !errors.Is(err, errFound) {
		return Task{}, err
	}
	if found == nil {
		return Task{}, fmt.Errorf("find task %s: %w", taskID, ErrNotFound)
	}
	tasks, err := st.TasksByRef(ctx, []TaskRef{*found})
	if err != nil {
		return Task{}, err
	}
	if len(tasks) == 0 {
		return Task{}, fmt.Errorf("find task %s: %w", taskID, ErrNotFound) // removed meanwhile
	}
	return tasks[0], nil
}

// AgentLiveness lists every registered agent's id, sorted, and whether its
// session is live, from two listings: what a count of reachable agents
// needs, without reading each agent's record (5,000 reads at scale).
func (st *State) AgentLiveness(ctx context.Context) (ids []string, live map[string]bool, err error) {
	names, err := children(ctx, st.store, dirAgents)
	if err != nil {
		return nil, nil, fmt.Errorf("list agents: %w", err)
	}
	liveNames, err := children(ctx, st.store, dirLive)
	if err != nil {
		return nil, nil, fmt.Errorf("list live agents: %w", err)
	}
	isLive := make(map[string]bool, len(liveNames))
	for _, n := range liveNames {
		isLive[n] = true
	}
	live = make(map[string]bool, len(names))
	for _, n := range names {
		id, err := url.PathUnescape(n)
		if err != nil {
			return nil, nil, fmt.Errorf("list agents: agent node %q: %w", n, err)
		}
		ids = append(ids, id)
		live[id] = isLive[n]
	}
	sort.Strings(ids)
	return ids, live, nil
}
