package marathonapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// view is one consistent read of everything the API answers from.
type view struct {
	set    *manifests.Set
	commit string
	status map[string]AppStatus
	// tasks are the live (non-terminal) tasks of apps, by app id, oldest
	// first; failed keeps each app's latest failed task.
	tasks  map[string][]cluster.Task
	failed map[string]cluster.Task
	// terminal are the ended tasks' states, by task id.
	terminal map[string]cluster.TaskState
	agents   map[string]cluster.Agent
	// servicePorts are by app id, then port index.
	servicePorts map[string]map[int]int
	// versions are when each app version was first launched (Marathon's
	// versions are timestamps, Berth's are content hashes).
	versions map[string]map[string]time.Time
	now      time.Time
}

// read takes a view. The store reads are bounded by ctx.
func read(ctx context.Context, c Cluster, now time.Time) (*view, error) {
	v := &view{status: map[string]AppStatus{}, tasks: map[string][]cluster.Task{}, failed: map[string]cluster.Task{}, terminal: map[string]cluster.TaskState{},
		agents: map[string]cluster.Agent{}, servicePorts: map[string]map[int]int{}, versions: map[string]map[string]time.Time{}, now: now}
	v.set, v.commit = c.Desired()
	if v.set == nil {
		v.set = &manifests.Set{}
	}
	for _, s := range c.Apps() {
		v.status[s.ID] = s
	}
	tasks, err := c.Tasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	agents, err := c.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read agents: %w", err)
	}
	ports, err := c.ServicePorts(ctx)
	if err != nil {
		return nil, fmt.Errorf("read service ports: %w", err)
	}
	for _, a := range agents {
		v.agents[a.ID] = a
	}
	for _, p := range ports {
		if v.servicePorts[p.AppID] == nil {
			v.servicePorts[p.AppID] = map[int]int{}
		}
		v.servicePorts[p.AppID][p.PortIndex] = p.Port
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].CreatedAt.Before(tasks[j].CreatedAt) })
	for _, t := range tasks {
		if t.Owner != cluster.OwnerApp {
			continue
		}
		vs := v.versions[t.OwnerID]
		if vs == nil {
			vs = map[string]time.Time{}
			v.versions[t.OwnerID] = vs
		}
		if at, ok := vs[t.Version]; !ok || t.CreatedAt.Before(at) {
			vs[t.Version] = t.CreatedAt
		}
		if t.Status.State.Terminal() {
			v.terminal[t.TaskID] = t.Status.State
		}
		switch {
		case t.Status.State == cluster.TaskFailed || t.Status.State == cluster.TaskLost:
			if last, ok := v.failed[t.OwnerID]; !ok || t.Status.UpdatedAt.After(last.Status.UpdatedAt) {
				v.failed[t.OwnerID] = t
			}
		case !t.Status.State.Terminal():
			v.tasks[t.OwnerID] = append(v.tasks[t.OwnerID], t)
		}
	}
	return v, nil
}

// versionTime is the Marathon version (a timestamp) of an app version: when
// its first task was launched, else when the commit was read (now), so a
// version not yet launched still has one.
func (v *view) versionTime(appID, version string) time.Time {
	if at, ok := v.versions[appID][version]; ok && !at.IsZero() {
		return at
	}
	return v.now
}

// appVersion is the desired version of an app (its status's), or "".
func (v *view) appVersion(appID string) string { return v.status[appID].Version }

// lastScaling is the newest launch of the app's current version.
func (v *view) lastScaling(appID string) time.Time {
	ver := v.appVersion(appID)
	last := v.versionTime(appID, ver)
	for _, t := range v.tasks[appID] {
		if t.Version == ver && t.CreatedAt.After(last) {
			last = t.CreatedAt
		}
	}
	return last
}

// timestamp formats a time as Marathon does (ISO 8601, UTC, milliseconds).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
