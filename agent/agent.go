package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// Config wires an agent to its node description and its three edges.
type Config struct {
	Node Node
	// Runtime runs the tasks' containers (agent/dockerrt on a Docker
	// Engine).
	Runtime  launch.Runtime
	Cluster  Cluster
	Registry Registry // nil: tasks are not registered as services
	// DefaultKillGrace is the SIGTERM-to-SIGKILL time for tasks that set none
	// (Mesos's default is 3 s).
	DefaultKillGrace time.Duration
	// SyncInterval is how often the registry is repaired (default 5 s).
	SyncInterval time.Duration
	// SandboxDir holds one sandbox directory per task (sandbox.go), which
	// only this agent may use. Empty: tasks get no sandbox, and a task with
	// artifacts or a sandbox-relative volume fails to launch.
	SandboxDir string
	// Fetcher fetches artifacts into sandboxes (agent/fetch).
	Fetcher Fetcher
	Version string
	// Secrets receives the tasks' secrets (nil: this agent cannot run a
	// task that uses any, and publishes no recipient).
	Secrets *Secrets
	Logger  *slog.Logger
	Now     func() time.Time
}

// Agent makes one container runtime run the tasks assigned to one node.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	live map[string]bool // tasks with a supervisor, for the registry's Sync

	statuses *statusBatcher // the tasks' status reports, batched
}

// New checks the configuration and returns an agent ready to Run.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Node.ID == "":
		return nil, errors.New("agent: node id is empty")
	case cfg.Node.Address == "":
		return nil, errors.New("agent: advertise address is empty")
	case cfg.Runtime == nil || cfg.Cluster == nil:
		return nil, errors.New("agent: Runtime and Cluster are required")
	}
	if cfg.DefaultKillGrace <= 0 {
		cfg.DefaultKillGrace = 3 * time.Second
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With("agent", cfg.Node.ID), live: map[string]bool{}}
	a.statuses = newStatusBatcher(cfg.Cluster.ReportStatuses, a.log)
	return a, nil
}

// Run registers the node, then keeps Docker equal to the node's assignments
// until ctx ends. Stopping the agent leaves running containers alone: the
// next agent on this node re-attaches to them.
func (a *Agent) Run(ctx context.Context) error {
	// Last, once every task has stopped: the status writes still pending
	// (one bounded attempt once ctx is done) end before Run returns.
	defer a.statuses.wait()
	n := a.cfg.Node
	now := a.cfg.Now()
	reg := cluster.Agent{
		ID: n.ID, Hostname: n.Hostname, Address: n.Address, Resources: n.Resources, Ports: n.Ports,
		Attributes: n.Attributes, AllowPrivileged: n.policy().Privileged, Policy: n.policy(), Version: a.cfg.Version,
		RegisteredAt: now, LastSeen: now, Reachable: true, LogsAddress: n.LogsAddress,
		SecretRecipient: a.cfg.Secrets.recipient(),
	}
	if vr, ok := a.cfg.Runtime.(launch.Volumes); ok {
		// External volumes are placed only where their driver is: an
		// agent that cannot say gets none of them, and runs the rest.
		if ds, err := vr.VolumeDrivers(ctx); err != nil {
			a.log.Warn("list volume drivers; advertising none", "err", err)
		} else {
			reg.VolumeDrivers = ds
		}
	}
	if err := a.cfg.Cluster.RegisterAgent(ctx, reg); err != nil {
		return fmt.Errorf("register agent %s: %w", n.ID, err)
	}
	existing, err := a.listOwn(ctx)
	if err != nil {
		return err
	}
	watch, err := a.cfg.Cluster.WatchAssignments(ctx, n.ID)
	if err != nil {
		return fmt.Errorf("watch assignments of %s: %w", n.ID, err)
	}
	a.log.Info("agent running", "address", n.Address, "containers", len(existing))

	// Every goroutine below ends with ctx; cancel runs before the Wait
	// (defers run last-in first-out), so returning on an error cannot hang.
	var wg sync.WaitGroup
	defer wg.Wait()
	// The watch follows the caller's context, which is cancelled before
	// the derived one below: its end is a shutdown if either is done.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tasks := map[string]*task{}
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case set, ok := <-watch:
			if !ok {
				if ctx.Err() != nil || parent.Err() != nil {
					return nil
				}
				return fmt.Errorf("assignments watch of %s ended", n.ID)
			}
			a.reconcile(ctx, &wg, tasks, set, existing)
			if first {
				first = false
				a.cleanSandboxes(tasks)
				// Whatever no assignment claimed on the first pass is left
				// from before a restart and is not wanted any more.
				for id, c := range existing {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a.removeUnwanted(ctx, id, c)
					}()
				}
				existing = nil
				if a.cfg.Registry != nil {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a.syncRegistry(ctx)
					}()
				}
			}
		}
	}
}

// listOwn finds this agent's containers by label, so a restarted agent knows
// what it was running. Other containers are never listed, so never touched.
func (a *Agent) listOwn(ctx context.Context) (map[string]launch.Container, error) {
	list, err := a.cfg.Runtime.List(ctx, a.cfg.Node.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]launch.Container{}
	for _, c := range list {
		out[c.TaskID] = c
	}
	return out, nil
}

// reconcile starts a supervisor for every new assignment (adopting a
// container found at start), asks supervisors of killed assignments to stop,
// and those of removed assignments to stop and remove their container.
func (a *Agent) reconcile(ctx context.Context, wg *sync.WaitGroup, tasks map[string]*task, set []cluster.Assignment, existing map[string]launch.Container) {
	wanted := map[string]bool{}
	for _, as := range set {
		if as.AgentID != "" && as.AgentID != a.cfg.Node.ID {
			continue
		}
		wanted[as.TaskID] = true
		t, ok := tasks[as.TaskID]
		if !ok {
			t = newTask(a, as)
			if c, found := existing[as.TaskID]; found {
				t.containerID = c.ID
				delete(existing, as.TaskID)
			}
			tasks[as.TaskID] = t
			a.setLive(as.TaskID, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.run(ctx)
			}()
		}
		if as.Kill {
			t.stop(false)
		}
	}
	for id, t := range tasks {
		if !wanted[id] {
			t.stop(true)
			delete(tasks, id)
			a.setLive(id, false)
		}
	}
}

// removeUnwanted stops (gracefully) and removes a container no assignment
// wants, deregistering it first.
func (a *Agent) removeUnwanted(ctx context.Context, taskID string, c launch.Container) {
	log := a.log.With("task", taskID, "container", shortID(c.ID))
	log.Info("removing container no assignment wants")
	if a.cfg.Registry != nil {
		rctx, cancel := context.WithTimeout(ctx, registryTimeout)
		err := a.cfg.Registry.Deregister(rctx, taskID)
		cancel()
		if err != nil {
			log.Warn("deregister unwanted task", "err", err)
		}
	}
	if err := a.cfg.Runtime.Stop(ctx, c.ID, a.cfg.DefaultKillGrace); err != nil {
		log.Warn("stop unwanted container", "err", err)
	}
	if err := a.cfg.Runtime.Remove(ctx, c.ID); err != nil {
		log.Warn("remove unwanted container", "err", err)
		return
	}
	if err := a.cfg.Secrets.forget(c.TaskID); err != nil {
		log.Warn("remove the task's secret files", "err", err)
	}
	a.removeSandbox(taskID)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (a *Agent) setLive(taskID string, live bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if live {
		a.live[taskID] = true
	} else {
		delete(a.live, taskID)
	}
}

// Supervised is how many tasks the agent supervises now.
func (a *Agent) Supervised() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.live)
}

func (a *Agent) isLive(taskID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.live[taskID]
}

// syncRegistry repairs the registry now and then every SyncInterval.
func (a *Agent) syncRegistry(ctx context.Context) {
	tick := time.NewTicker(a.cfg.SyncInterval)
	defer tick.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, 2*registryTimeout)
		err := a.cfg.Registry.Sync(sctx, a.isLive)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("sync service registry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
