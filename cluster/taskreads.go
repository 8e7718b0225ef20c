package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"

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
