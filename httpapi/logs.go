package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/agentlogs"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
)

// TaskLogs copies a task's output from the agent that runs it (package
// agentlogs over HTTP, or the runtime itself in `berth up`).
type TaskLogs interface {
	Logs(ctx context.Context, ag cluster.Agent, taskID string, opts launch.LogOptions, w io.Writer) error
}

// taskLogs is GET /v1/tasks/{id}/logs?tail=N&follow=true: the task's
// stdout and stderr, merged, as plain text, streamed while following.
func (a *api) taskLogs(w http.ResponseWriter, req *http.Request) {
	if a.o.Logs == nil {
		writeError(w, http.StatusNotImplemented, "this server cannot reach agents' logs")
		return
	}
	opts, err := agentlogs.ParseOptions(req.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := req.PathValue("id")
	ctx, cancel := context.WithTimeout(req.Context(), storeReadTimeout)
	task, ag, err := a.lookupTask(ctx, id)
	cancel()
	switch {
	case errors.Is(err, errNoTask):
		writeError(w, http.StatusNotFound, "no task "+id)
		return
	case errors.Is(err, errNoAgent):
		writeError(w, http.StatusNotFound, "task "+id+" is on agent "+task.AgentID+", which is not registered")
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("read task %s: %v", id, err))
		return
	}
	if opts.Follow {
		// A followed log is a stream like the event stream: bounded in number.
		select {
		case a.streams <- struct{}{}:
			defer func() { <-a.streams }()
		default:
			writeError(w, http.StatusServiceUnavailable, "too many open streams")
			return
		}
	}
	fw := agentlogs.NewFlushWriter(w, streamWriteTimeout)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	err = a.o.Logs.Logs(req.Context(), ag, id, opts, fw)
	switch {
	case err == nil || fw.Wrote() || req.Context().Err() != nil:
	case errors.Is(err, launch.ErrNoTask):
		writeError(w, http.StatusNotFound, "task "+id+" has no container on agent "+ag.ID)
	case errors.Is(err, agentlogs.ErrNoLogs):
		writeError(w, http.StatusServiceUnavailable, "agent "+ag.ID+": "+err.Error())
	default:
		a.o.Logger.Warn("task logs", "task", id, "agent", ag.ID, "err", err)
		writeError(w, http.StatusBadGateway, err.Error())
	}
}

var (
	errNoTask  = errors.New("no such task")
	errNoAgent = errors.New("the task's agent is not registered")
)

// leaderCache is what a Reconciler that leads with a cache of the cluster
// state offers (*reconciler.Reconciler): nil when it does not lead.
type leaderCache interface {
	Mirror() *mirror.Mirror
}

// cache is this replica's leader cache, or nil.
func (a *api) cache() *mirror.Mirror {
	if lc, ok := a.r.(leaderCache); ok {
		return lc.Mirror()
	}
	return nil
}

// snapshot is this replica's leader cache, when it leads with a fresh one:
// lists of every agent or task come from it rather than from a read of the
// store (5,000 agents, 150,000 tasks at scale). Its slices are shared with
// the cache: read them, never modify them.
func (a *api) snapshot() (mirror.Snapshot, bool) {
	m := a.cache()
	if m == nil {
		return mirror.Snapshot{}, false
	}
	s, err := m.Snapshot()
	return s, err == nil
}

// lookupTask finds a task and the agent that runs it without reading every
// task. The leader's index says which agent holds it and its cache has
// both (or, the cache being stale, they are read directly: a few reads). A
// replica that does not lead has neither: it asks the store agent by agent
// (cluster.State.FindTask), one read per agent at most. errNoTask and
// errNoAgent say what is missing.
func (a *api) lookupTask(ctx context.Context, id string) (cluster.Task, cluster.Agent, error) {
	var task cluster.Task
	if a.o.Index.Ready() {
		e, ok := a.o.Index.Find(id)
		if !ok {
			return task, cluster.Agent{}, errNoTask
		}
		if m := a.cache(); m != nil {
			t, tok, terr := m.Task(e.AgentID, id)
			ag, aok, aerr := m.Agent(e.AgentID)
			if terr == nil && aerr == nil {
				switch {
				case !tok:
					return task, cluster.Agent{}, errNoTask
				case !aok:
					return t, cluster.Agent{}, errNoAgent
				}
				return t, ag, nil
			}
			// Stale (its watches were lost): read the two directly.
		}
		tasks, err := a.state.TasksByRef(ctx, []cluster.TaskRef{e.TaskRef})
		if err != nil {
			return task, cluster.Agent{}, err
		}
		if len(tasks) == 0 {
			return task, cluster.Agent{}, errNoTask
		}
		task = tasks[0]
	} else {
		var err error
		if task, err = a.state.FindTask(ctx, id); errors.Is(err, cluster.ErrNotFound) {
			return task, cluster.Agent{}, errNoTask
		} else if err != nil {
			return task, cluster.Agent{}, err
		}
	}
	ag, err := a.state.Agent(ctx, task.AgentID)
	if errors.Is(err, cluster.ErrNotFound) {
		return task, cluster.Agent{}, errNoAgent
	}
	return task, ag, err
}
