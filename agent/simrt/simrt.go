// Package simrt is a simulated container runtime: a launch.Runtime whose
// containers start at once, run until stopped and cost nothing but a map
// entry. It lets the real agent code (package agent) run thousands of nodes
// in one process, so the cluster benchmark (package clusterbench) and scale
// tests measure Berth and ZooKeeper only. It is never the only test of the
// agent: the agent's own tests run real Docker through agent/dockerrt.
//
// It depends on agent/launch and cluster only.
package simrt

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// Counters add up what every runtime sharing them did; a benchmark reads
// them to tell a restart (a second create for one task, or a stop) from a
// quiet cluster.
type Counters struct {
	Creates atomic.Int64
	Starts  atomic.Int64
	Stops   atomic.Int64
	Removes atomic.Int64
}

// Runtime simulates one node's container engine. The zero value is not
// usable; call New.
type Runtime struct {
	counters *Counters
	now      func() time.Time

	mu         sync.Mutex
	next       int
	containers map[string]*container // by container id
}

type container struct {
	id, agent, task string
	hostPorts       []int
	created         bool // created, never started
	running         bool
	startedAt       time.Time
	exitCode        int
	waiters         []chan int
}

var _ launch.Runtime = (*Runtime)(nil)

// New returns an empty runtime that adds what it does to c (nil: counted
// nowhere) and reads the time from now (nil: time.Now).
func New(c *Counters, now func() time.Time) *Runtime {
	if c == nil {
		c = &Counters{}
	}
	if now == nil {
		now = time.Now
	}
	return &Runtime{counters: c, now: now, containers: map[string]*container{}}
}

// Create records a container for the task; its host ports are the ones the
// assignment asked for (a port asked as 0 stays 0: nothing listens).
func (r *Runtime) Create(_ context.Context, t launch.Task) (string, error) {
	r.counters.Creates.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	id := fmt.Sprintf("sim-%s-%d", t.Node.ID, r.next)
	ports := make([]int, len(t.Assignment.Spec.Ports))
	for i, p := range t.Assignment.Spec.Ports {
		ports[i] = p.HostPort
	}
	r.containers[id] = &container{id: id, agent: t.Node.ID, task: t.Assignment.TaskID, hostPorts: ports, created: true}
	return id, nil
}

func (r *Runtime) get(id string) (*container, error) {
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, launch.ErrNoTask)
	}
	return c, nil
}

// Start marks the container running from now.
func (r *Runtime) Start(_ context.Context, id string) error {
	r.counters.Starts.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	c.created, c.running, c.startedAt = false, true, r.now()
	return nil
}

// Inspect reports the container's simulated state.
func (r *Runtime) Inspect(_ context.Context, id string, _ cluster.TaskSpec) (launch.State, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return launch.State{}, err
	}
	return launch.State{Created: c.created, Running: c.running, StartedAt: c.startedAt, ExitCode: c.exitCode,
		HostPorts: append([]int(nil), c.hostPorts...)}, nil
}

// Wait delivers the exit code when the container is stopped. The channels
// are buffered and never closed, so no goroutine waits per task: a
// simulated node holds tens of tasks, a simulated cluster 150,000.
func (r *Runtime) Wait(_ context.Context, id string) (<-chan int, <-chan error) {
	exit, errc := make(chan int, 1), make(chan error, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	switch {
	case err != nil:
		errc <- err
	case !c.running && !c.created:
		exit <- c.exitCode
	default:
		c.waiters = append(c.waiters, exit)
	}
	return exit, errc
}

// Stop ends the container at once with SIGTERM's status (143), whatever
// the grace: a simulated task always obeys.
func (r *Runtime) Stop(_ context.Context, id string, _ time.Duration) error {
	r.counters.Stops.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok || !c.running {
		return nil
	}
	c.running, c.exitCode = false, 143
	for _, w := range c.waiters {
		w <- c.exitCode
	}
	c.waiters = nil
	return nil
}

// Remove forgets the container.
func (r *Runtime) Remove(_ context.Context, id string) error {
	r.counters.Removes.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.containers, id)
	return nil
}

// Exec succeeds for a running container: every COMMAND check passes.
func (r *Runtime) Exec(_ context.Context, id, _ string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return -1, err
	}
	if !c.running {
		return -1, fmt.Errorf("container %s is not running", id)
	}
	return 0, nil
}

// Output is empty: simulated tasks print nothing.
func (r *Runtime) Output(context.Context, string, int) string { return "" }

// List returns agentID's containers.
func (r *Runtime) List(_ context.Context, agentID string) ([]launch.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []launch.Container
	for _, c := range r.containers {
		if c.agent == agentID {
			out = append(out, launch.Container{ID: c.id, TaskID: c.task})
		}
	}
	return out, nil
}

// Logs has nothing to copy; an unknown task is launch.ErrNoTask.
func (r *Runtime) Logs(_ context.Context, taskID string, _ launch.LogOptions, _, _ io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		if c.task == taskID {
			return nil
		}
	}
	return fmt.Errorf("task %s: %w", taskID, launch.ErrNoTask)
}

// Running is how many containers run now.
func (r *Runtime) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.containers {
		if c.running {
			n++
		}
	}
	return n
}
