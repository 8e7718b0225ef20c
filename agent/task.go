package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// task supervises one assignment's container for as long as the assignment
// exists: launch (or adopt), watch, health-check, kill, and finally remove.
type task struct {
	ag  *Agent
	as  cluster.Assignment
	log *slog.Logger
	// containerID is set before run when a container was found at start.
	containerID string
	// stopCh carries stop requests from the agent loop: false = kill and
	// keep the container (for logs), true = the assignment is gone, remove it.
	stopCh        chan bool
	killRequested bool // agent loop only
	status        cluster.TaskStatus
}

func newTask(a *Agent, as cluster.Assignment) *task {
	return &task{
		ag:     a,
		as:     as,
		log:    a.log.With("task", as.TaskID, "app", as.OwnerID),
		stopCh: make(chan bool, 2),
		status: cluster.TaskStatus{TaskID: as.TaskID, AgentID: a.cfg.Node.ID},
	}
}

// stop is called from the agent loop only; each kind of request is sent once,
// so the buffer of two never blocks.
func (t *task) stop(remove bool) {
	if remove {
		t.stopCh <- true
		return
	}
	if !t.killRequested {
		t.killRequested = true
		t.stopCh <- false
	}
}

func (t *task) run(ctx context.Context) {
	remove, stopping := t.supervise(ctx)
	if stopping {
		return // the agent is stopping: leave the container for the next agent
	}
	for !remove {
		select {
		case <-ctx.Done():
			return
		case remove = <-t.stopCh:
		}
	}
	if t.containerID == "" {
		_ = t.ag.cfg.Secrets.forget(t.as.TaskID) // a launch that failed after laying them out
		return
	}
	if err := t.ag.cfg.Runtime.Remove(ctx, t.containerID); err != nil {
		t.log.Warn("remove container", "container", shortID(t.containerID), "err", err)
		return
	}
	if err := t.ag.cfg.Secrets.forget(t.as.TaskID); err != nil {
		t.log.Warn("remove the task's secret files", "err", err)
	}
	t.ag.removeSandbox(t.as.TaskID)
}

// report queues the task's status with the given state; the edit fills the
// fields that state carries.
func (t *task) report(ctx context.Context, state cluster.TaskState, edit func(*cluster.TaskStatus)) {
	st := t.status
	st.State, st.Message, st.ExitCode, st.OutputTail = state, "", nil, ""
	if edit != nil {
		edit(&st)
	}
	st.UpdatedAt = t.ag.cfg.Now()
	t.status = st
	t.log.Info("task state", "state", state, "health", st.Health, "message", st.Message)
	// Written within statusWindow together with the agent's other reports,
	// and retried until written; a newer report of this task replaces it.
	t.ag.statuses.add(ctx, st)
}

func (t *task) fail(ctx context.Context, msg string) {
	t.report(ctx, cluster.TaskFailed, func(s *cluster.TaskStatus) { s.Message = msg })
}

// supervise runs the task until it is terminal. remove says a removal was
// already requested; stopping says the agent itself is shutting down.
func (t *task) supervise(ctx context.Context) (remove, stopping bool) {
	rt := t.ag.cfg.Runtime
	spec := t.as.Spec
	if t.containerID == "" {
		if t.as.Release {
			t.release(ctx)
			return false, false
		}
		if t.as.Kill {
			t.report(ctx, cluster.TaskKilled, func(s *cluster.TaskStatus) { s.Message = "killed before launch" })
			return false, false
		}
		select {
		case r := <-t.stopCh:
			t.report(ctx, cluster.TaskKilled, func(s *cluster.TaskStatus) { s.Message = "killed before launch" })
			return r, false
		default:
		}
		if err := t.launch(ctx); err != nil {
			if ctx.Err() != nil {
				return false, true
			}
			t.fail(ctx, err.Error())
			return false, false
		}
	}
	info, err := rt.Inspect(ctx, t.containerID, spec)
	if err != nil {
		if ctx.Err() != nil {
			return false, true
		}
		t.fail(ctx, err.Error())
		return false, false
	}
	if info.Created {
		// Created but never started: the previous agent stopped between
		// create and start. Finish the launch.
		if err := rt.Start(ctx, t.containerID); err != nil {
			t.fail(ctx, err.Error())
			return false, false
		}
		if info, err = rt.Inspect(ctx, t.containerID, spec); err != nil {
			t.fail(ctx, err.Error())
			return false, false
		}
	}
	t.status.ContainerID = t.containerID
	t.status.StartedAt = info.StartedAt
	ports := info.HostPorts
	t.status.HostPorts = ports

	// Everything below stops with this task's supervision.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exitCh, errCh := rt.Wait(sctx, t.containerID)

	trackers := make([]*healthTracker, len(spec.HealthChecks))
	results := make(chan probeResult)
	checks := make(chan cluster.CheckResult)
	readiness := make(chan readinessOutcome)
	if info.Running {
		health := cluster.HealthUnknown
		if len(spec.HealthChecks) == 0 {
			health = cluster.HealthHealthy
		}
		t.report(ctx, cluster.TaskRunning, func(s *cluster.TaskStatus) {
			s.Health, s.Readiness = health, initialReadiness(spec.ReadinessChecks)
		})
		for i, rc := range spec.ReadinessChecks {
			go t.readinessLoop(sctx, i, rc, ports, readiness)
		}
		t.register(ctx, ports, health == cluster.HealthHealthy)
		for i, hc := range spec.HealthChecks {
			trackers[i] = &healthTracker{spec: hc, started: t.status.StartedAt}
			if trackers[i].started.IsZero() {
				trackers[i].started = t.ag.cfg.Now()
			}
			go t.probeLoop(sctx, i, hc, ports, results)
		}
		if spec.Check != nil {
			go t.checkLoop(sctx, *spec.Check, ports, checks)
		}
	}

	deadline, stopDeadline := t.deadline(info.Running)
	defer stopDeadline()
	for {
		select {
		case <-ctx.Done():
			return false, true
		case <-deadline:
			t.stopAs(ctx, fmt.Sprintf("killed: ran longer than its timeout of %v", spec.Timeout), cluster.HealthUnknown, cluster.TaskFailed)
			return false, false
		case r := <-t.stopCh:
			t.kill(ctx, "killed: the assignment was withdrawn", cluster.HealthUnknown)
			return r, false
		case code := <-exitCh:
			t.exited(ctx, code, "")
			return false, false
		case err := <-errCh:
			if ctx.Err() != nil {
				return false, true
			}
			t.exited(ctx, -1, fmt.Sprintf("lost the container: %v", err))
			return false, false
		case c := <-checks:
			// A check is reported, never judged: health, kills and the
			// registry do not look at it.
			if !sameCheckResult(&c, t.status.Check) {
				t.report(ctx, cluster.TaskRunning, func(s *cluster.TaskStatus) { s.Check = &c })
			}
		case r := <-readiness:
			t.observeReadiness(ctx, r)
		case r := <-results:
			tr := trackers[r.index]
			if r.err != nil {
				t.log.Debug("health check failed", "check", r.index, "err", r.err)
			}
			if tr.observe(t.ag.cfg.Now(), r.err == nil) {
				t.kill(ctx, fmt.Sprintf("killed: health check %d (%s) failed %d times in a row: %v",
					r.index, tr.spec.Protocol, tr.failures, r.err), cluster.HealthUnhealthy)
				return false, false
			}
			if h := combinedHealth(trackers); h != t.status.Health {
				t.report(ctx, cluster.TaskRunning, func(s *cluster.TaskStatus) { s.Health = h })
				if t.ag.cfg.Registry != nil {
					t.ag.cfg.Registry.SetHealthy(t.as.TaskID, h == cluster.HealthHealthy)
				}
			}
		}
	}
}

// launch creates and starts the task's container (the runtime pulls the
// image when needed), reporting STAGING then STARTING.
func (t *task) launch(ctx context.Context) error {
	rt := t.ag.cfg.Runtime
	t.report(ctx, cluster.TaskStaging, nil)
	n := t.ag.cfg.Node
	if err := checkResolvedHostPaths(n.policy(), t.as.Spec); err != nil {
		return fmt.Errorf("task %s: %w", t.as.TaskID, err)
	}
	sandbox, err := t.prepareSandbox(ctx)
	if err != nil {
		return err
	}
	sec, err := t.ag.cfg.Secrets.layOut(t.as)
	if err != nil {
		return fmt.Errorf("task %s: %w", t.as.TaskID, err)
	}
	id, err := rt.Create(ctx, launch.Task{Assignment: t.as, Sandbox: sandbox, Secrets: sec,
		Node: launch.Node{ID: n.ID, Hostname: n.Hostname, Address: n.Address, Policy: n.policy()}})
	if err != nil {
		return err
	}
	t.containerID = id
	t.status.ContainerID = id
	t.report(ctx, cluster.TaskStarting, nil)
	return rt.Start(ctx, id)
}

// exited reports a container that stopped by itself (or was stopped by
// someone other than this agent): FINISHED on 0, FAILED otherwise.
func (t *task) exited(ctx context.Context, code int, msg string) {
	t.deregister(ctx)
	tail := t.outputTail(ctx)
	state := cluster.TaskFinished
	switch {
	case t.as.Kill:
		// Found stopped after a restart with its kill already requested:
		// this agent's previous run killed it.
		state = cluster.TaskKilled
		if msg == "" {
			msg = "killed: the assignment was withdrawn"
		}
	case code != 0:
		state = cluster.TaskFailed
		if msg == "" {
			msg = fmt.Sprintf("exited with status %d", code)
		}
	}
	t.report(ctx, state, func(s *cluster.TaskStatus) {
		s.Health, s.Message, s.OutputTail = cluster.HealthUnknown, msg, tail
		if code >= 0 {
			s.ExitCode = &code
		}
	})
}

// kill stops the task gracefully: out of the registry first, then SIGTERM,
// then SIGKILL after the grace period.
func (t *task) kill(ctx context.Context, reason string, health cluster.Health) {
	t.stopAs(ctx, reason, health, cluster.TaskKilled)
}

// stopAs is kill reporting final once the container is stopped: KILLED for
// a kill, FAILED for a run past its timeout.
func (t *task) stopAs(ctx context.Context, reason string, health cluster.Health, final cluster.TaskState) {
	t.deregister(ctx)
	t.report(ctx, cluster.TaskKilling, func(s *cluster.TaskStatus) { s.Health, s.Message = health, reason })
	grace := t.as.Spec.KillGracePeriod
	if grace <= 0 {
		grace = t.ag.cfg.DefaultKillGrace
	}
	if err := t.ag.cfg.Runtime.Stop(ctx, t.containerID, grace); err != nil {
		t.log.Warn("stop container", "err", err)
	}
	var code *int
	if info, err := t.ag.cfg.Runtime.Inspect(ctx, t.containerID, t.as.Spec); err == nil {
		c := info.ExitCode
		code = &c
	}
	tail := t.outputTail(ctx)
	t.report(ctx, final, func(s *cluster.TaskStatus) {
		s.Health, s.Message, s.ExitCode, s.OutputTail = health, reason, code, tail
	})
}

func (t *task) register(ctx context.Context, ports []int, healthy bool) {
	r := t.ag.cfg.Registry
	if r == nil {
		return
	}
	svcs := taskServices(t.ag.cfg.Node, t.as, ports)
	if len(svcs) == 0 {
		return
	}
	r.SetHealthy(t.as.TaskID, healthy)
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	if err := r.Register(ctx, t.as.TaskID, svcs); err != nil {
		// The registry's own sync loop retries; the task itself is fine.
		t.log.Warn("register services", "err", err)
	}
}

func (t *task) deregister(ctx context.Context) {
	if r := t.ag.cfg.Registry; r != nil {
		// A hung Consul must not keep a task from being killed: after the
		// timeout the kill goes on and Sync removes the service later.
		ctx, cancel := context.WithTimeout(ctx, registryTimeout)
		defer cancel()
		if err := r.Deregister(ctx, t.as.TaskID); err != nil {
			t.log.Warn("deregister services", "err", err)
		}
	}
}

// registryTimeout bounds every registry call a task makes.
const registryTimeout = 5 * time.Second

// outputTailLines is how much of a task's output its terminal status carries.
const outputTailLines = 20

func (t *task) outputTail(ctx context.Context) string {
	return t.ag.cfg.Runtime.Output(ctx, t.containerID, outputTailLines)
}

type probeResult struct {
	index int
	err   error
}

// probeLoop probes one health check now and then every interval.
func (t *task) probeLoop(ctx context.Context, i int, hc cluster.HealthCheckSpec, ports []int, out chan<- probeResult) {
	repeat(ctx, 0, orDefault(hc.Interval, time.Minute), func(ctx context.Context) probeResult {
		return probeResult{index: i, err: probe(ctx, hc, t.ag.cfg.Node.Address, ports, t.exec)}
	}, out, nil)
}

// exec runs a COMMAND health check inside the container through its shell.
func (t *task) exec(ctx context.Context, cmd string) (int, error) {
	return t.ag.cfg.Runtime.Exec(ctx, t.containerID, cmd)
}

// deadline fires when a running task has used up its spec's Timeout,
// counted from the container's start (so an agent restarted meanwhile
// keeps the same limit). Without a timeout it never fires.
func (t *task) deadline(running bool) (<-chan time.Time, func()) {
	limit := t.as.Spec.Timeout
	if limit <= 0 || !running {
		return nil, func() {}
	}
	started := t.status.StartedAt
	if started.IsZero() {
		started = t.ag.cfg.Now()
	}
	timer := time.NewTimer(max(0, started.Add(limit).Sub(t.ag.cfg.Now())))
	return timer.C, func() { timer.Stop() }
}
