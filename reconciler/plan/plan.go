package plan

import (
	"encoding/json"

	"github.com/berthops/berth/manifests"
)

// SchemaVersion is the version of the JSON form of a Plan (docs/diff-json.md).
// It changes only when a field is removed or changes meaning.
const SchemaVersion = 1

// Action is what happens to one object.
type Action string

const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionDelete    Action = "delete"
	ActionUnchanged Action = "unchanged"
)

// UpdateKind classifies an update the way Marathon classifies a deployment
// step, because each kind costs the cluster something different.
type UpdateKind string

const (
	// UpdateScale: only the instance count changed; running tasks are kept.
	UpdateScale UpdateKind = "scale"
	// UpdateRestart: the task definition changed (command, image, resources,
	// ports, health checks, ...); tasks are replaced by a rolling restart, a
	// job's next runs use the new definition, a template is re-rendered.
	UpdateRestart UpdateKind = "restart"
	// UpdateConfig: only labels or metadata Berth itself reads changed
	// (strategies, backoff, dependencies, queue, schedule); no task is touched.
	UpdateConfig UpdateKind = "config"
)

// Observed is the live cluster as the planner needs it. The server fills it
// from the cluster store; `berth diff --base` fills Applied from the base
// commit and leaves the runtime facts empty.
type Observed struct {
	// Applied is the manifest set the cluster was last told to run. Nil means
	// an empty cluster.
	Applied *manifests.Set `json:"applied"`
	// Apps holds runtime facts per app id. They are reported next to a change
	// (so a reviewer sees "3 running, 5 wanted") but never decide the action:
	// they are state, not intent.
	Apps map[string]AppStatus `json:"apps,omitempty"`
	// Jobs holds runtime facts per job name, likewise informational.
	Jobs map[string]JobStatus `json:"jobs,omitempty"`
}

// AppStatus is what the cluster reports about one app, Marathon's state
// fields (tasksRunning, tasksHealthy, version).
type AppStatus struct {
	TasksRunning int    `json:"tasksRunning"`
	TasksHealthy int    `json:"tasksHealthy"`
	Version      string `json:"version,omitempty"`
}

// JobStatus is Chronos' state fields for one job.
type JobStatus struct {
	SuccessCount int    `json:"successCount"`
	ErrorCount   int    `json:"errorCount"`
	LastSuccess  string `json:"lastSuccess,omitempty"`
	LastError    string `json:"lastError,omitempty"`
}

// Plan is the full, ordered change set. Changes lists every create, update and
// delete in the order they are applied; Unchanged only counts the rest, so the
// size of a plan follows the size of the change, not of the repository.
type Plan struct {
	Changes   []Change `json:"changes"`
	Unchanged int      `json:"unchanged"`
	// Fit is the allocator's verdict on whether the desired state fits the
	// observed cluster. Compute leaves it nil; a caller that has the agents
	// (the server, or `berth diff --server`) runs the allocator and fills it.
	Fit *Fit `json:"fit,omitempty"`
	// Templates are the rendered files that change: a template's manifest
	// changed, or the services it reads did. Compute leaves it empty; berth
	// diff fills it when it has a cluster to render against.
	Templates []TemplatePreview `json:"templates,omitempty"`
}

// TemplatePreview is a rendered file before and after a change.
type TemplatePreview struct {
	ID          string `json:"id"`
	Destination string `json:"destination"`
	Before      string `json:"before"`
	After       string `json:"after"`
	// Diff is the unified diff from Before to After.
	Diff string `json:"diff"`
	// Problem is why the head's file could not be rendered (a syntax
	// error, data the snapshot lacks).
	Problem string `json:"problem,omitempty"`
	// Validation is the validate command's verdict on the rendered file
	// (berth diff --validate).
	Validation string `json:"validation,omitempty"`
}

// Change is what happens to one object.
type Change struct {
	// Step is the deployment step the change belongs to, from 1. Changes of
	// one step are independent of each other; a step starts when the one
	// before it has finished.
	Step   int            `json:"step"`
	Action Action         `json:"action"`
	Kind   manifests.Kind `json:"kind"`
	ID     string         `json:"id"`
	// Update is set only when Action is update.
	Update UpdateKind `json:"update,omitempty"`
	// Origin is where the desired object is declared (the observed one for a
	// delete), so a reviewer can jump to it.
	Origin manifests.Origin `json:"origin,omitzero"`
	// Fields lists the differing fields for an update, every set field of
	// the object for a create or delete.
	Fields []FieldChange `json:"fields,omitempty"`
	// Instances is the instance count before and after, for apps.
	Instances *Count `json:"instances,omitempty"`
	// Running is the observed running task count, when the caller knows it.
	Running *int `json:"running,omitempty"`
	// SchedulePreview is set for a job that is created or whose schedule
	// changes, when the caller asked for previews (AddSchedulePreviews).
	SchedulePreview *SchedulePreview `json:"schedulePreview,omitempty"`
}

// FieldChange is one differing field. Path uses the manifest's own field names
// (container.docker.image, env["PORT"], healthChecks[0].path); From and To
// are JSON values, absent when the field is absent on that side.
type FieldChange struct {
	Path string          `json:"path"`
	From json.RawMessage `json:"from,omitempty"`
	To   json.RawMessage `json:"to,omitempty"`
}

// Count is an instance count before and after a change.
type Count struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Fit is the hook for the allocator: whether the desired state can be placed
// on the observed agents, and if not, which instances cannot and why.
type Fit struct {
	Fits     bool               `json:"fits"`
	Needed   Resources          `json:"needed"`
	Free     Resources          `json:"free"`
	Unplaced []UnplacedInstance `json:"unplaced,omitempty"`
	// Blast is what carrying the change out does to each app it touches,
	// in app id order.
	Blast []AppBlast `json:"blast,omitempty"`
}

// AppBlast is the blast radius of a change on one app, as the decision
// engine plays the rollout forward: the tasks it starts and stops, the
// fewest healthy instances at any point of it, the ports that move and the
// services whose instances change.
type AppBlast struct {
	ID string `json:"id"`
	// Started and Stopped count the tasks the change starts and stops;
	// Restarted the stopped ones replaced by a new version.
	Started   int `json:"started"`
	Stopped   int `json:"stopped"`
	Restarted int `json:"restarted"`
	// MinHealthy is the fewest healthy instances at any point of the
	// rollout, of Instances declared (upgradeStrategy bounds it).
	MinHealthy int `json:"minHealthy"`
	Instances  int `json:"instances"`
	// ServicePorts and HostPorts list the ports that change.
	ServicePorts []PortChange `json:"servicePorts,omitempty"`
	HostPorts    []PortChange `json:"hostPorts,omitempty"`
	// Services are the service names (Consul's, and Berth's catalog's)
	// whose instances change.
	Services []string `json:"services,omitempty"`
}

// PortChange is one port of an app before and after (0: none).
type PortChange struct {
	Index int `json:"index"`
	From  int `json:"from"`
	To    int `json:"to"`
}

// Resources is an amount of CPUs, memory and disk, shaped like
// cluster.Resources (the planner keeps its own copy so that it depends on the
// manifest model only).
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`  // MiB
	Disk float64 `json:"disk"` // MiB
}

// UnplacedInstance is one instance the allocator could not place.
type UnplacedInstance struct {
	Kind     manifests.Kind `json:"kind"`
	ID       string         `json:"id"`
	Instance int            `json:"instance"`
	Reason   string         `json:"reason"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return p == nil || len(p.Changes) == 0 }

// Summary counts the changes by action and update kind.
type Summary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Delete    int `json:"delete"`
	Unchanged int `json:"unchanged"`
	Scale     int `json:"scale"`
	Restart   int `json:"restart"`
	Config    int `json:"config"`
}

// Summary counts p's changes.
func (p *Plan) Summary() Summary {
	var s Summary
	if p == nil {
		return s
	}
	s.Unchanged = p.Unchanged
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			s.Create++
		case ActionDelete:
			s.Delete++
		case ActionUpdate:
			s.Update++
			switch c.Update {
			case UpdateScale:
				s.Scale++
			case UpdateRestart:
				s.Restart++
			case UpdateConfig:
				s.Config++
			}
		}
	}
	return s
}
