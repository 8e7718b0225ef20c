package marathonapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/berthops/berth/cluster"
)

// Event is one Marathon event: its eventType and the fields of that type.
type Event struct {
	Type   string
	Fields map[string]any
}

// MarshalJSON writes the fields with eventType, as Marathon does.
func (e Event) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Fields)+1)
	for k, v := range e.Fields {
		m[k] = v
	}
	m["eventType"] = e.Type
	return json.Marshal(m)
}

// tracker turns successive views into Marathon's events: Berth keeps no
// event log, so each stream compares what it last saw with what is now.
type tracker struct {
	started bool
	tasks   map[string]seenTask
	apps    map[string]string // app id -> definitionKey
	deploys map[string]Deployment
}

type seenTask struct {
	state  cluster.TaskState
	health cluster.Health
	task   Task
}

func newTracker() *tracker {
	return &tracker{tasks: map[string]seenTask{}, apps: map[string]string{}, deploys: map[string]Deployment{}}
}

// diff returns the events from the last view to v; the first view is the
// baseline and yields none (Marathon does not replay history either).
func (tr *tracker) diff(v *view) []Event {
	ts := timestamp(v.now)
	var out []Event
	// Apps: a new or changed definition is what Marathon reports as an API
	// post (here the post is a commit); then its deployment starts.
	apps := map[string]string{}
	for i := range v.set.Apps {
		app := &v.set.Apps[i]
		ver := definitionKey(app)
		apps[app.ID] = ver
		if last, ok := tr.apps[app.ID]; tr.started && (!ok || last != ver) {
			out = append(out, Event{"api_post_event", map[string]any{"timestamp": ts, "clientIp": "", "uri": "/v2/apps" + app.ID,
				"appDefinition": v.app(app, embeds{})}})
		}
	}
	var removed []string
	for id := range tr.apps {
		if _, ok := apps[id]; !ok {
			removed = append(removed, id)
		}
	}
	sort.Strings(removed)
	for _, id := range removed {
		out = append(out, Event{"app_terminated_event", map[string]any{"timestamp": ts, "appId": id}})
	}
	tr.apps = apps

	deploys := map[string]Deployment{}
	for i := range v.set.Apps {
		app := &v.set.Apps[i]
		if !v.status[app.ID].Deploying {
			continue
		}
		d := v.deploymentOf(app)
		deploys[d.ID] = d
		if _, ok := tr.deploys[d.ID]; !ok && tr.started {
			out = append(out, Event{"deployment_info", map[string]any{"timestamp": ts, "plan": plan(d, v.now),
				"currentStep": map[string]any{"actions": d.Steps[0].Actions}}})
		}
	}
	var done []string
	for id := range tr.deploys {
		if _, ok := deploys[id]; !ok {
			done = append(done, id)
		}
	}
	sort.Strings(done)
	for _, id := range done {
		d := tr.deploys[id]
		// An app that left Git ends its deployment too: Berth stops it.
		out = append(out, Event{"deployment_step_success", map[string]any{"timestamp": ts, "plan": plan(d, v.now),
			"currentStep": map[string]any{"actions": d.Steps[0].Actions}}})
		out = append(out, Event{"deployment_success", map[string]any{"timestamp": ts, "id": d.ID, "plan": plan(d, v.now)}})
	}
	tr.deploys = deploys

	// Tasks: every state change is a status update; health changes of
	// running tasks are health_status_changed events.
	seen := map[string]seenTask{}
	var ids []string
	for appID, tasks := range v.tasks {
		app := v.set.App(appID)
		for _, t := range tasks {
			seen[t.TaskID] = seenTask{state: t.Status.State, health: t.Status.Health, task: v.task(t, app)}
			ids = append(ids, t.TaskID)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		now, last := seen[id], tr.tasks[id]
		if !tr.started {
			continue
		}
		if now.state != last.state {
			out = append(out, statusUpdate(now.task, now.task.State, ts))
		}
		if now.health != last.health && now.health != cluster.HealthUnknown {
			out = append(out, Event{"health_status_changed_event", map[string]any{"timestamp": ts, "appId": now.task.AppID,
				"taskId": id, "instanceId": id, "version": now.task.Version, "alive": now.health == cluster.HealthHealthy}})
		}
	}
	var gone []string
	for id := range tr.tasks {
		if _, ok := seen[id]; !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		// The task ended (its terminal status is kept only briefly): Berth
		// stops tasks by killing them, unless the agent said otherwise.
		last := tr.tasks[id].task
		state := "TASK_KILLED"
		if st := v.terminal[id]; st != "" {
			state = mesosState(st)
		}
		out = append(out, statusUpdate(last, state, ts))
	}
	tr.tasks = seen
	tr.started = true
	return out
}

func statusUpdate(t Task, state, ts string) Event {
	return Event{"status_update_event", map[string]any{"timestamp": ts, "slaveId": t.SlaveID, "taskId": t.ID, "taskStatus": state,
		"message": "", "appId": t.AppID, "host": t.Host, "ipAddresses": t.IPAddresses, "ports": t.Ports, "version": t.Version}}
}

// plan is a deployment as Marathon's DeploymentPlan in events; original
// and target would be the whole root group before and after, which Berth
// does not keep, so they are empty root groups.
func plan(d Deployment, now time.Time) map[string]any {
	empty := func() map[string]any {
		return map[string]any{"id": "/", "apps": []any{}, "groups": []any{}, "pods": []any{}, "dependencies": []any{}, "version": timestamp(now)}
	}
	return map[string]any{"id": d.ID, "version": d.Version, "original": empty(), "target": empty(), "steps": d.Steps}
}

// events is GET /v2/events: Server-Sent Events named by their eventType
// (event_stream_attached first), filtered by ?event_type= if given.
func (a *api) events(w http.ResponseWriter, req *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeMessage(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	want := map[string]bool{}
	for _, t := range req.URL.Query()["event_type"] {
		want[t] = true
	}
	tick := make(chan struct{}, 1)
	cancel := a.c.Subscribe(tick)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(e Event) {
		if len(want) > 0 && !want[e.Type] {
			return
		}
		b, err := json.Marshal(e)
		if err != nil {
			a.o.Logger.Warn("marshal a Marathon event", "type", e.Type, "err", err)
			return
		}
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
	}
	send(Event{"event_stream_attached", map[string]any{"timestamp": timestamp(a.o.Now()), "remoteAddress": req.RemoteAddr}})
	fl.Flush()
	tr := newTracker()
	update := func() {
		ctx, cancel := context.WithTimeout(req.Context(), readTimeout)
		defer cancel()
		v, err := read(ctx, a.c, a.o.Now())
		if err != nil {
			a.o.Logger.Debug("event stream: read the cluster state", "err", err)
			return
		}
		for _, e := range tr.diff(v) {
			send(e)
		}
		fl.Flush()
	}
	update()
	keepalive := time.NewTicker(a.o.KeepAlive)
	defer keepalive.Stop()
	poll := time.NewTicker(a.o.Poll)
	defer poll.Stop()
	for {
		select {
		case <-req.Context().Done():
			return
		case <-tick:
			update()
		case <-poll.C:
			update()
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}
