package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/agentlogs"
	"github.com/berthops/berth/cluster"
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
	tasks, ok := readStore(w, req, "tasks", a.state.Tasks)
	if !ok {
		return
	}
	var task *cluster.Task
	for i := range tasks {
		if tasks[i].TaskID == id {
			task = &tasks[i]
			break
		}
	}
	if task == nil {
		writeError(w, http.StatusNotFound, "no task "+id)
		return
	}
	agents, ok := readStore(w, req, "agents", a.state.Agents)
	if !ok {
		return
	}
	var ag *cluster.Agent
	for i := range agents {
		if agents[i].ID == task.AgentID {
			ag = &agents[i]
		}
	}
	if ag == nil {
		writeError(w, http.StatusNotFound, "task "+id+" is on agent "+task.AgentID+", which is not registered")
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
	err = a.o.Logs.Logs(req.Context(), *ag, id, opts, fw)
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
