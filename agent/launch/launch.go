// Package launch is the contract between the agent and a container runtime:
// the task the agent asks a runtime to run, the state the runtime reports
// back, and the labels that mark a container as one agent's task. The agent
// core (package agent) supervises tasks through Runtime and knows nothing of
// Docker; agent/dockerrt implements it on the Docker Engine, and a scale
// simulation can implement it without containers.
package launch

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/berthops/berth/cluster"
)

// Labels every container a runtime creates for an agent carries. They are how
// a restarted agent finds its containers again, and berth.agent is what
// keeps two agents on one runtime from touching each other's containers.
const (
	LabelAgent   = "berth.agent"
	LabelTask    = "berth.task"
	LabelApp     = "berth.app" // the owner id: an app id or a job name
	LabelOwner   = "berth.owner"
	LabelVersion = "berth.version"
)

// Node is what a runtime needs to know of the node it runs a task on.
type Node struct {
	ID       string
	Hostname string
	// Address is the advertise address: published ports bind there.
	Address string
	// Policy is the node's whole consent (privileged included); a runtime
	// refuses a task it does not allow, whatever the leader decided.
	Policy cluster.AgentPolicy
}

// Task is one assignment to launch on a node.
type Task struct {
	Node       Node
	Assignment cluster.Assignment
	// Sandbox is the task's sandbox directory on the host (its fetched
	// artifacts), mounted at SandboxPath; "" when the agent keeps none.
	Sandbox string
	// Secrets are the task's secret values as the agent laid them out on
	// tmpfs (nil for a task without secrets); see Secrets.
	Secrets *Secrets
}

// Secrets are a task's opened secrets, ready for a runtime: files on a tmpfs
// of the node to mount read-only, and the environment variables. EnvFile,
// when set, is a tmpfs file of `export NAME='value'` lines that a shell
// command sources before it runs, so the values are not in the container's
// configuration (which Docker keeps on disk); Env holds the variables a
// runtime must set itself because the task has no shell command.
type Secrets struct {
	Files   []SecretFile
	EnvFile string
	Env     map[string]string
}

// SecretFile is one file to mount read-only at ContainerPath.
type SecretFile struct {
	HostPath      string
	ContainerPath string
}

// SecretEnvPath is where EnvFile is mounted in the container.
const SecretEnvPath = "/run/berth/secrets.env"

// SandboxPath is where a task's sandbox is mounted in its container, and
// what $MESOS_SANDBOX says: Mesos's own path, so that commands written for
// Mesos find their files.
const SandboxPath = "/mnt/mesos/sandbox"

// State is a container as the runtime sees it now.
type State struct {
	// Created is true for a container created but never started (an agent
	// stopped between the two).
	Created bool
	Running bool
	// StartedAt is zero when the container never started.
	StartedAt time.Time
	// ExitCode is the last exit status, once the container stopped.
	ExitCode int
	// HostPorts are the host ports the task's ports are bound to, in the
	// spec's order (a port asked as 0 reports the one the runtime chose).
	HostPorts []int
}

// Container is one of an agent's containers found by its labels.
type Container struct {
	ID     string
	TaskID string
}

// ErrNoTask means no container of the task exists on this runtime.
var ErrNoTask = errors.New("no container for this task on this node")

// LogOptions select what Logs shows.
type LogOptions struct {
	Follow bool
	Tail   string // number of lines from the end, or "all"
}

// Runtime runs an agent's tasks as containers. Every error is about the one
// container named; removing or stopping a container that is already gone is
// not an error.
type Runtime interface {
	// Create makes the task's image present (pulling it when missing, or
	// every time with forcePullImage) and creates its container, named and
	// labelled for the node's agent, without starting it. An error about
	// the spec or the node's policy is final: the task fails with it.
	Create(ctx context.Context, t Task) (id string, err error)
	Start(ctx context.Context, id string) error
	// Inspect reports the container's state; spec tells which ports to
	// report the host ports of.
	Inspect(ctx context.Context, id string, spec cluster.TaskSpec) (State, error)
	// Wait delivers the exit status once the container is not running, or
	// an error if the container is lost; both channels end with ctx.
	Wait(ctx context.Context, id string) (<-chan int, <-chan error)
	// Stop asks the container to stop and kills it after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	Remove(ctx context.Context, id string) error
	// Exec runs cmd through the container's /bin/sh and returns its exit
	// status (COMMAND health checks).
	Exec(ctx context.Context, id, cmd string) (int, error)
	// Output is the last lines of the container's stdout and stderr ("" if
	// they cannot be read).
	Output(ctx context.Context, id string, lines int) string
	// List finds agentID's containers by their labels.
	List(ctx context.Context, agentID string) ([]Container, error)
	// Logs copies a task's output, found by its berth.task label; with
	// Follow it streams until the task ends or ctx does.
	Logs(ctx context.Context, taskID string, opts LogOptions, stdout, stderr io.Writer) error
}
