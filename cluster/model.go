package cluster

import (
	"time"
)

// TaskState is a task's lifecycle state, named as Mesos names them so that
// operators' dashboards and habits carry over.
type TaskState string

const (
	TaskStaging     TaskState = "STAGING"
	TaskStarting    TaskState = "STARTING"
	TaskRunning     TaskState = "RUNNING"
	TaskFinished    TaskState = "FINISHED"
	TaskFailed      TaskState = "FAILED"
	TaskKilling     TaskState = "KILLING"
	TaskKilled      TaskState = "KILLED"
	TaskLost        TaskState = "LOST"
	TaskUnreachable TaskState = "UNREACHABLE"
)

// Terminal reports whether a task in this state will never run again.
func (s TaskState) Terminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost:
		return true
	}
	return false
}

// Health is a task's health-check verdict.
type Health string

const (
	HealthUnknown   Health = ""          // no verdict yet (in grace period, or not running)
	HealthHealthy   Health = "healthy"   // passing, or RUNNING with no health checks
	HealthUnhealthy Health = "unhealthy" // failing after the grace period
)

// Resources is an amount of schedulable resources.
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`  // MiB
	Disk float64 `json:"disk"` // MiB
}

// PortRange is an inclusive range of host ports an agent offers.
type PortRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// Agent is a node that runs tasks, as it registered itself.
type Agent struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	Address    string            `json:"address"` // advertise address: published ports bind here
	Resources  Resources         `json:"resources"`
	Ports      []PortRange       `json:"ports"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// AllowPrivileged is the agent operator's consent to privileged containers.
	AllowPrivileged bool `json:"allowPrivileged,omitempty"`
	// Policy is everything else the agent's operator consents to run (see
	// package policy); the leader places a task only where it is allowed.
	Policy  AgentPolicy `json:"policy"`
	Version string      `json:"version,omitempty"` // berth version of the agent
	// VolumeDrivers are the volume drivers the agent's Docker Engine has
	// (local and its plugins): external volumes are placed only where
	// their driver is.
	VolumeDrivers []string  `json:"volumeDrivers,omitempty"`
	RegisteredAt  time.Time `json:"registeredAt"`
	LastSeen      time.Time `json:"lastSeen"`
	// Reachable is false once the agent's session expired; its tasks are then
	// handled by their app's unreachableStrategy.
	Reachable bool `json:"reachable"`
	// LogsAddress is host:port where the agent serves its tasks' logs to
	// the servers (package agentlogs); empty when it does not.
	LogsAddress string `json:"logsAddress,omitempty"`
	// SecretRecipient is the agent's own age public key: the leader seals
	// the secrets of the tasks it assigns here to it (see secret.go).
	SecretRecipient string `json:"secretRecipient,omitempty"`
}

// AgentPolicy is what an agent's operator allows a commit author to do on
// that machine, beyond an unprivileged container with its own network
// namespace and no host files. The zero value denies everything that would
// make a commit author root on the host. Package policy checks specs and
// templates against it; the agent enforces it and advertises it here so the
// leader places tasks only where they may run.
type AgentPolicy struct {
	// HostPaths are the cleaned absolute prefixes hostPath volumes may name
	// (berth agent --allow-host-path).
	HostPaths []string `json:"hostPaths,omitempty"`
	// DockerSocket allows a volume that exposes the container engine's
	// socket (--allow-docker-socket): root on the host.
	DockerSocket bool `json:"dockerSocket,omitempty"`
	// Caps are the capabilities cap-add may name, upper case without CAP_
	// (--allow-cap); ALL allows every one.
	Caps []string `json:"caps,omitempty"`
	// Parameters are docker parameters allowed beyond the harmless ones
	// (--allow-parameter).
	Parameters []string `json:"parameters,omitempty"`
	// HostNetwork lets HOST tasks share the host's network namespace
	// (--allow-host-network); without it they get their own namespace with
	// their assigned ports published at the same numbers.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// Networks are the Docker networks USER tasks may join (--allow-network).
	Networks []string `json:"networks,omitempty"`
	// Privileged mirrors Agent.AllowPrivileged (--allow-privileged).
	Privileged bool `json:"privileged,omitempty"`
	// TemplateRoots are the directories template destinations may be under
	// (--template-root); none: no template renders here.
	TemplateRoots []string `json:"templateRoots,omitempty"`
	// TemplateCommands are the programs a template's validate and command
	// may start (--allow-template-command), matched on the first word.
	TemplateCommands []string `json:"templateCommands,omitempty"`
}

// OwnerKind says what a task belongs to.
type OwnerKind string

const (
	OwnerApp OwnerKind = "app"
	OwnerJob OwnerKind = "job"
)

// TaskSpec is everything an agent needs to launch and supervise one task. The
// server derives it from an App or Job manifest, so agents never interpret
// manifests themselves and an agent of an older version still runs what the
// server decided.
type TaskSpec struct {
	Image          string `json:"image"`
	ForcePullImage bool   `json:"forcePullImage,omitempty"`
	// Cmd is run through /bin/sh -c (Marathon `cmd`, Chronos shell=true).
	Cmd string `json:"cmd,omitempty"`
	// Args go to the image's entrypoint without a shell (Marathon `args`).
	Args        []string          `json:"args,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Resources   Resources         `json:"resources"`
	Network     string            `json:"network"`               // BRIDGE, HOST or USER
	NetworkName string            `json:"networkName,omitempty"` // the Docker network for USER
	Ports       []PortSpec        `json:"ports,omitempty"`
	Volumes     []VolumeSpec      `json:"volumes,omitempty"`
	Privileged  bool              `json:"privileged,omitempty"`
	// Parameters are raw `docker run` options (Marathon docker.parameters).
	Parameters   []Parameter       `json:"parameters,omitempty"`
	HealthChecks []HealthCheckSpec `json:"healthChecks,omitempty"`
	// Check is a Mesos check: reported, never a health verdict.
	Check *CheckSpec `json:"check,omitempty"`
	// ReadinessChecks gate a new task's counting towards capacity during a
	// rollout (see readiness.go).
	ReadinessChecks []ReadinessCheckSpec `json:"readinessChecks,omitempty"`
	// KillGracePeriod is the time between SIGTERM and SIGKILL.
	KillGracePeriod time.Duration `json:"killGracePeriod"`
	User            string        `json:"user,omitempty"`
	// Fetch is downloaded into the task's sandbox before it starts
	// (Marathon fetch/uris, Chronos fetch/uris).
	Fetch []Artifact `json:"fetch,omitempty"`
	// Timeout is how long a job's run may take: the agent kills it after
	// that and reports it FAILED (0: no limit).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Secrets are where the task's secrets go (env variables, files), by
	// reference only; their values travel in Sealed (see secret.go).
	Secrets []SecretSpec `json:"secrets,omitempty"`
	Sealed  string       `json:"sealed,omitempty"`
}

// Artifact is one URI the agent fetches into a task's sandbox, with Mesos's
// fetcher semantics (see docs/agent.md, "Artifacts").
type Artifact struct {
	URI string `json:"uri"`
	// Extract unpacks a recognised archive into the sandbox.
	Extract    bool `json:"extract,omitempty"`
	Executable bool `json:"executable,omitempty"`
	// Cache reuses the agent's copy of URI, fetched once.
	Cache bool `json:"cache,omitempty"`
	// DestPath names the file in the sandbox (default: the URI's base name).
	DestPath string `json:"destPath,omitempty"`
}

// PortSpec is one port of a task. HostPort 0 means "any free port"; by the
// time a spec reaches an agent inside an Assignment, host ports are resolved.
type PortSpec struct {
	Name          string            `json:"name,omitempty"`
	ContainerPort int               `json:"containerPort,omitempty"` // 0 under HOST networking
	HostPort      int               `json:"hostPort"`
	ServicePort   int               `json:"servicePort,omitempty"`
	Protocol      string            `json:"protocol"` // tcp, udp or "udp,tcp"
	Labels        map[string]string `json:"labels,omitempty"`
}

// VolumeSpec is a host bind mount (HostPath), or a Docker named volume
// (Name): a persistent volume of the task's slot, or an external volume of
// a volume driver.
type VolumeSpec struct {
	HostPath      string `json:"hostPath,omitempty"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
	Name          string `json:"name,omitempty"`
	// Persistent marks a slot's persistent volume: created by the agent
	// with Berth's labels, kept across tasks, removed only when the slot
	// is released (Assignment.Release).
	Persistent    bool              `json:"persistent,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOptions map[string]string `json:"driverOptions,omitempty"`
}

// Parameter is a raw docker option.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// HealthCheckSpec is a resolved health check (Marathon semantics, defaults applied).
type HealthCheckSpec struct {
	Protocol               string        `json:"protocol"` // HTTP, HTTPS, TCP, COMMAND
	Path                   string        `json:"path,omitempty"`
	PortIndex              int           `json:"portIndex"`
	Port                   int           `json:"port,omitempty"`
	Command                string        `json:"command,omitempty"`
	GracePeriod            time.Duration `json:"gracePeriod"`
	Interval               time.Duration `json:"interval"`
	Timeout                time.Duration `json:"timeout"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures"`
}

// Assignment is the leader's decision that a task runs on an agent. The agent
// watches its assignments and makes Docker match them; removing an assignment
// (or setting Kill) asks the agent to stop the task.
type Assignment struct {
	TaskID  string    `json:"taskId"`
	Owner   OwnerKind `json:"owner"`
	OwnerID string    `json:"ownerId"` // app id (/web/nginx) or job name
	Version string    `json:"version"` // content hash of the spec the task runs
	AgentID string    `json:"agentId"`
	Spec    TaskSpec  `json:"spec"`
	// Kill asks the agent to stop the task gracefully and report KILLED.
	Kill bool `json:"kill,omitempty"`
	// Slot is the resident slot whose persistent volumes the task uses
	// (see Residence); empty for tasks without persistent volumes.
	Slot string `json:"slot,omitempty"`
	// Release asks the agent, once the task is stopped, to remove the
	// persistent volumes of its spec: the slot is given up.
	Release   bool      `json:"release,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// TaskStatus is what an agent reports about one task.
type TaskStatus struct {
	TaskID   string    `json:"taskId"`
	AgentID  string    `json:"agentId"`
	State    TaskState `json:"state"`
	Health   Health    `json:"health,omitempty"`
	Message  string    `json:"message,omitempty"`
	ExitCode *int      `json:"exitCode,omitempty"`
	// OutputTail is the last lines of the task's output when it ended.
	OutputTail  string    `json:"outputTail,omitempty"`
	ContainerID string    `json:"containerId,omitempty"`
	HostPorts   []int     `json:"hostPorts,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitempty"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Check is the latest result of the task's Mesos check, if it has one.
	Check *CheckResult `json:"check,omitempty"`
	// Readiness holds one result per readiness check of the spec once the
	// task runs (see readiness.go).
	Readiness []ReadinessResult `json:"readiness,omitempty"`
}

// Task joins an assignment with its latest status: the unit the API and the
// planner reason about.
type Task struct {
	Assignment
	Status TaskStatus `json:"status"`
}

// ServicePort is a cluster-wide service port held by one port of one app
// (Marathon's servicePort): unique across the cluster and kept on update.
type ServicePort struct {
	Port      int    `json:"port"`
	AppID     string `json:"appId"`
	PortIndex int    `json:"portIndex"`
}

// AppliedCommit is the Git commit whose manifests the cluster was last
// converged to.
type AppliedCommit struct {
	Commit    string    `json:"commit"`
	Branch    string    `json:"branch,omitempty"`
	AppliedAt time.Time `json:"appliedAt"`
}

// Deployment is a rollout in progress, kept in the cluster state so that a new
// leader resumes it instead of starting over.
type Deployment struct {
	ID     string   `json:"id"`
	Commit string   `json:"commit"`
	AppIDs []string `json:"appIds"`
	// Version is the task version the rollout goes to.
	Version string `json:"version,omitempty"`
	Step    int    `json:"step"`
	Steps   int    `json:"steps"`
	Message string `json:"message,omitempty"`
	// StartedAt and UpdatedAt let operators see a stuck rollout.
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// LaunchHistory is an app's consecutive failed launches of one version, the
// memory Marathon's launch backoff needs. It is kept in the cluster state so
// that a new leader continues the delay instead of starting it over.
type LaunchHistory struct {
	AppID       string    `json:"appId"`
	Version     string    `json:"version"`
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"lastFailure"`
}

// AgentLost says since when an agent has been unreachable; its tasks'
// unreachableStrategy clocks count from Since, whoever leads.
type AgentLost struct {
	AgentID string    `json:"agentId"`
	Since   time.Time `json:"since"`
}

// JobRunState is where one run of a job is.
type JobRunState string

const (
	JobRunPending   JobRunState = "PENDING"
	JobRunRunning   JobRunState = "RUNNING"
	JobRunSucceeded JobRunState = "SUCCEEDED"
	JobRunFailed    JobRunState = "FAILED"
	// JobRunSkipped records an occurrence that did not run: later than the
	// job's epsilon, or due while the previous run still ran and the job is
	// not concurrent.
	JobRunSkipped JobRunState = "SKIPPED"
)

// Ended reports whether a run in this state will not change any more.
func (s JobRunState) Ended() bool {
	return s == JobRunSucceeded || s == JobRunFailed || s == JobRunSkipped
}

// How a job run was triggered.
const (
	TriggerSchedule = "schedule"
	TriggerParents  = "parents"
	TriggerManual   = "manual"
)

// JobRun is one scheduled (or dependency-triggered) run of a job, with its
// retries, as Chronos tracks them.
type JobRun struct {
	Job         string      `json:"job"`
	RunID       string      `json:"runId"`
	TaskID      string      `json:"taskId,omitempty"`
	State       JobRunState `json:"state"`
	Attempt     int         `json:"attempt"`
	ScheduledAt time.Time   `json:"scheduledAt"`
	StartedAt   time.Time   `json:"startedAt,omitempty"`
	FinishedAt  time.Time   `json:"finishedAt,omitempty"`
	ExitCode    *int        `json:"exitCode,omitempty"`
	Message     string      `json:"message,omitempty"`
	// Trigger is schedule, parents or manual.
	Trigger string `json:"trigger,omitempty"`
	AgentID string `json:"agentId,omitempty"`
	// OutputTail is the last lines the final attempt printed.
	OutputTail string `json:"outputTail,omitempty"`
}

// JobState is the scheduler's memory of one job, kept in the cluster state
// so a new leader neither skips nor repeats an occurrence.
type JobState struct {
	Job string `json:"job"`
	// Anchor is when the job was first seen: the start of a schedule written
	// without one (R//PT1H), and where a cron schedule begins counting.
	Anchor time.Time `json:"anchor"`
	// LastHandled is the last occurrence that was run or skipped.
	LastHandled time.Time `json:"lastHandled,omitzero"`
	// ParentsSeen is the latest parent completion that triggered a run.
	ParentsSeen  time.Time `json:"parentsSeen,omitzero"`
	SuccessCount int       `json:"successCount"`
	ErrorCount   int       `json:"errorCount"`
	LastSuccess  time.Time `json:"lastSuccess,omitzero"`
	LastError    time.Time `json:"lastError,omitzero"`
}

// LeaderRecord is what the current leader last wrote about itself, fenced:
// each new leader takes the next Term, and Heartbeat moves while it leads,
// so operators (and tests) can tell a live leader from a stale one.
type LeaderRecord struct {
	ID        string    `json:"id"`
	Term      int64     `json:"term"`
	Since     time.Time `json:"since"`
	Heartbeat time.Time `json:"heartbeat"`
}

// ServerInfo is how a berth server announces itself (ephemeral), so
// followers can point clients at the leader's API.
type ServerInfo struct {
	ID      string    `json:"id"`
	Address string    `json:"address"` // HTTP API, host:port
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
}
