// Package history is the soak's record of what every client and component
// saw, and the checker that judges that record against Berth's promises.
//
// A History is a list of timestamped Events: commits pushed (with the apps
// and jobs they ask for), faults injected (with their start and end), task
// lists read from the API, Consul's passing instances, the nginx upstream
// file and nginx's answers, job runs, Docker events, which processes run
// and which server leads, and the observations made after the faults
// stopped. Check is pure: a History in, Violations out, each with the time
// window it covers. It reads no clock and does no I/O, so a history written
// by a soak can be checked again, and the checker's tests are hand-made
// histories.
//
// The soak that records histories against a real cluster is e2e/soak.
package history

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// Kind says what an Event holds.
type Kind string

const (
	// KindCommit: the generator pushed Commit.
	KindCommit Kind = "commit"
	// KindFault: the nemesis injected Fault (At is its start).
	KindFault Kind = "fault"
	// KindFaultsStopped: the nemesis stopped and every process runs again;
	// convergence is measured from here.
	KindFaultsStopped Kind = "faults-stopped"
	// KindTasks: every task, as one API read returned them.
	KindTasks Kind = "tasks"
	// KindConsul: the passing instances of each watched service.
	KindConsul Kind = "consul"
	// KindUpstream: the servers of the nginx upstream file.
	KindUpstream Kind = "upstream"
	// KindAnswer: one request through nginx.
	KindAnswer Kind = "answer"
	// KindJobRuns: a job's runs, as one API read returned them.
	KindJobRuns Kind = "job-runs"
	// KindManualRun: the generator asked for a manual run.
	KindManualRun Kind = "manual-run"
	// KindDocker: a Docker event on one of the cluster's containers.
	KindDocker Kind = "docker"
	// KindSettle: an observation of the whole cluster after the faults
	// stopped (the convergence check).
	KindSettle Kind = "settle"
	// KindMembers: which server and agent processes run, and which
	// server says it leads.
	KindMembers Kind = "members"
	// KindNote: anything else worth reading in the history (errors of the
	// recorder itself, a leader change); never judged.
	KindNote Kind = "note"
)

// Event is one thing seen at one time. Only the field of its Kind is set.
type Event struct {
	At       time.Time    `json:"at"`
	Kind     Kind         `json:"kind"`
	Commit   *Commit      `json:"commit,omitempty"`
	Fault    *Fault       `json:"fault,omitempty"`
	Tasks    []Task       `json:"tasks,omitempty"`
	Consul   *Consul      `json:"consul,omitempty"`
	Upstream *Upstream    `json:"upstream,omitempty"`
	Answer   *Answer      `json:"answer,omitempty"`
	Job      string       `json:"job,omitempty"`
	Runs     []JobRun     `json:"runs,omitempty"`
	Manual   *ManualRun   `json:"manual,omitempty"`
	Docker   *DockerEvent `json:"docker,omitempty"`
	Settle   *Observation `json:"settle,omitempty"`
	Members  *Members     `json:"members,omitempty"`
	Note     string       `json:"note,omitempty"`
}

// Commit is what one pushed commit asks for.
type Commit struct {
	Hash    string         `json:"hash"`
	Message string         `json:"message"`
	Apps    map[string]App `json:"apps"`
	Jobs    map[string]Job `json:"jobs"`
}

// App is the part of an app manifest the checker judges by.
type App struct {
	Instances int    `json:"instances"`
	Image     string `json:"image"`
	// MinimumHealthCapacity is upgradeStrategy.minimumHealthCapacity.
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	// Service is the app's Consul service name ("" when not watched).
	Service string `json:"service,omitempty"`
}

// Job is the part of a job manifest the checker judges by.
type Job struct {
	// Schedule is the ISO 8601 repeating interval, with an explicit start.
	Schedule string        `json:"schedule"`
	Epsilon  time.Duration `json:"epsilon"`
	// Concurrent jobs may run an occurrence while the previous one runs.
	Concurrent bool `json:"concurrent,omitempty"`
}

// FaultConsulRestart names a restart of the Consul agent the templates
// render from: the checker allows for the templates' hold of a list that
// comes back shorter right after it (see Options.SourceHold).
const FaultConsulRestart = "consul-restart"

// Fault is one injected fault.
type Fault struct {
	Name   string    `json:"name"` // e.g. "kill-leader", "zk-quorum"
	Target string    `json:"target"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Agent is the agent the fault took away, if any: its tasks' health is
	// not Berth's to keep while it lasts.
	Agent string `json:"agent,omitempty"`
	// App is the app whose task the fault hit, if any.
	App string `json:"app,omitempty"`
	// ControlPlane faults can stop the leader from deciding for a while
	// (leader killed or paused, ZooKeeper quorum lost, Git stalled): jobs
	// may legitimately skip occurrences past their epsilon then.
	ControlPlane bool `json:"controlPlane,omitempty"`
	// LoadBalancer faults took away what renders nginx's upstream (the
	// agent running the template): the upstream cannot follow Consul while
	// they last.
	LoadBalancer bool `json:"loadBalancer,omitempty"`
	// Global faults excuse every app's capacity while they last (ZooKeeper
	// quorum lost: no status can be written).
	Global bool `json:"global,omitempty"`
}

// Task is one task as the API reported it.
type Task struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Agent   string `json:"agent"`
	Image   string `json:"image"`
	State   string `json:"state"`
	Running bool   `json:"running"`
	Healthy bool   `json:"healthy"`
	// Live is false once the task is terminal.
	Live bool `json:"live"`
	// Kill is set once Berth decided to stop it.
	Kill bool `json:"kill,omitempty"`
	// Addrs are the address:port of its published ports.
	Addrs []string `json:"addrs,omitempty"`
}

// Serving reports whether the task counts towards an app's healthy
// capacity: running, healthy and not being stopped.
func (t Task) Serving() bool { return t.Live && t.Running && t.Healthy && !t.Kill }

// Consul is one answer of Consul's health endpoint per watched service.
type Consul struct {
	// Passing maps a service to the address:port of its passing instances.
	Passing map[string][]string `json:"passing"`
}

// Upstream is the nginx upstream file as read at one time.
type Upstream struct {
	Service string   `json:"service"`
	Servers []string `json:"servers"`
}

// Answer is one request through nginx: the task that answered (read from
// the body), or the status code and error when none did.
type Answer struct {
	Service string `json:"service"`
	Task    string `json:"task,omitempty"`
	Code    int    `json:"code"`
	Error   string `json:"error,omitempty"`
}

// JobRun is one run as the API reported it.
type JobRun struct {
	RunID       string    `json:"runId"`
	State       string    `json:"state"`
	Trigger     string    `json:"trigger"`
	ScheduledAt time.Time `json:"scheduledAt"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	TaskID      string    `json:"taskId,omitempty"`
	// Message is Berth's reason for the state (for a SKIPPED run: missed
	// by more than epsilon, or the previous run was still running).
	Message string `json:"message,omitempty"`
}

// ManualRun is the generator's request for a manual run of Job.
type ManualRun struct {
	Job      string `json:"job"`
	Accepted bool   `json:"accepted"`
	// Maybe is set on a request that got no answer (a timeout, a broken
	// connection) or a server error: the leader may have recorded the run
	// before the answer was lost. Only a 4xx answer is a refusal.
	Maybe bool   `json:"maybe,omitempty"`
	Error string `json:"error,omitempty"`
}

// DockerEvent is a container event of the cluster's containers.
type DockerEvent struct {
	Action    string `json:"action"`
	Container string `json:"container"`
	App       string `json:"app,omitempty"`
	Task      string `json:"task,omitempty"`
}

// Container is a container of the cluster as Docker listed it.
type Container struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Task    string `json:"task"`
	Running bool   `json:"running"`
}

// Members is the cluster's processes at one time.
type Members struct {
	// Leader is the server that says it leads ("" when none answered so).
	Leader string `json:"leader"`
	// Down are the servers and agents whose process is not running.
	Down []string `json:"down,omitempty"`
}

// Observation is the whole cluster at one time, after the faults stopped.
type Observation struct {
	// Applied is the commit the leader reports applied ("" when no leader
	// answered).
	Applied string `json:"applied"`
	// Head is the last commit pushed.
	Head       string      `json:"head"`
	Tasks      []Task      `json:"tasks"`
	Containers []Container `json:"containers"`
	Consul     Consul      `json:"consul"`
	// JobTasks are the tasks of job runs still running: their containers
	// are wanted too.
	JobTasks []string `json:"jobTasks,omitempty"`
	// Error is why the observation is incomplete (an API read failed).
	Error string `json:"error,omitempty"`
}

// History is a soak's whole record.
type History struct {
	Seed   int64   `json:"seed"`
	Events []Event `json:"events"`
}

// Sort orders the events by time (stable: events recorded at the same
// instant keep their order).
func (h *History) Sort() {
	sort.SliceStable(h.Events, func(i, j int) bool { return h.Events[i].At.Before(h.Events[j].At) })
}

// Write writes h as JSON.
func (h *History) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// Read reads a history written by Write.
func Read(r io.Reader) (History, error) {
	var h History
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return History{}, fmt.Errorf("read history: %w", err)
	}
	return h, nil
}
