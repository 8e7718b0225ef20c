// Package clusterbench is `berth bench cluster`: in one process, two real
// leader replicas (berth server's election and reconcile loop over
// cluster/zkstore) against a real ZooKeeper, and simulated agents — the real
// agent code over agent/simrt, each with its own ZooKeeper session — reading
// their desired state from a real Git repository it writes in a temporary
// directory. It measures a cold start, an idle pass, a one-app change and a
// leader failover, and prints one figure per line.
//
// It talks to ZooKeeper (through cluster/zkstore) and to the local
// filesystem (the Git repository and the leaders' caches); it starts no
// container.
package clusterbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/simrt"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/server"
)

// branch is the benchmark repository's branch.
const branch = "main"

// Config is one run's size and connections.
type Config struct {
	// ZK is the ensemble; a run works under a chroot of its own below
	// ZK's path, so runs never meet.
	ZK zkstore.Config
	// Agents and Tasks are the cluster's size; the commit holds
	// Tasks/Instances apps of Instances instances each.
	Agents, Tasks int
	// Instances per app (100 if zero).
	Instances int
	// SessionTimeout of the leaders, and AgentSessionTimeout of the
	// agents (zkstore's default if zero). A machine too loaded to answer
	// thousands of sessions' pings in time needs longer agent sessions.
	SessionTimeout, AgentSessionTimeout time.Duration
	// IdlePasses is how many idle passes are timed (5 if zero).
	IdlePasses int
	// ColdStandby runs the replicas as berth server --cold-standby: the
	// follower keeps no cache, so the process's memory beyond the agents'
	// is the leader's alone, and a failover fills the new leader's cache.
	ColdStandby bool
	// Timeout bounds each phase (30 min if zero).
	Timeout time.Duration
	// Version is the leaders' and agents' version string.
	Version string
	// Log gets progress lines and the components' warnings.
	Log *slog.Logger
}

// Result is what a run measured.
type Result struct {
	Agents, Tasks, Apps int
	ColdConverge        time.Duration
	IdlePassCPU         time.Duration // median
	IdlePassWall        time.Duration // median
	ChangeToCommit      time.Duration
	FailoverFirstPass   time.Duration
	FailoverRestarts    int64
	ProcessPeakRSSMiB   int64
	AgentsRSSMiB        int64
	LeaderTxnPer1k      float64
	AgentStatusTxnPer1k float64
	// Goroutines of the process once idle after the cold start, and after
	// both leaders were stopped (the agents' own): the leaders' cache keeps
	// watches per node, and this is how many goroutines that costs.
	IdleGoroutines, AgentGoroutines int
	// IdleHeapMiB is the Go heap in use once idle after the cold start
	// (leaders and agents).
	IdleHeapMiB int64
	// IdleRSSMiB is the process's RSS once idle after the cold start, its
	// garbage collected and returned to the OS.
	IdleRSSMiB int64
	// PeakBeforeFailoverMiB is the process's peak RSS before the leader
	// is cut off.
	PeakBeforeFailoverMiB int64
	Load                  string // the load average at the end
	// ColdStandby is Config.ColdStandby: whether leader_rss_mib holds the
	// leader alone or the leader and the standby's cache.
	ColdStandby bool
}

// Print writes the figures one per line, `name: value`.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "agents: %d\ntasks: %d\napps: %d\n", r.Agents, r.Tasks, r.Apps)
	fmt.Fprintf(w, "cold_converge_s: %.1f\n", r.ColdConverge.Seconds())
	fmt.Fprintf(w, "idle_pass_ms: %.1f\n", ms(r.IdlePassCPU))
	fmt.Fprintf(w, "idle_pass_wall_ms: %.1f\n", ms(r.IdlePassWall))
	fmt.Fprintf(w, "change_to_commit_ms: %.0f\n", ms(r.ChangeToCommit))
	fmt.Fprintf(w, "failover_first_pass_s: %.1f\n", r.FailoverFirstPass.Seconds())
	fmt.Fprintf(w, "failover_restarts: %d\n", r.FailoverRestarts)
	// The process's peak before the failover, less the agents'. Both
	// replicas are in this process: with standby caches, the figure is the
	// leader's memory and the follower's cache together.
	standby := "warm (leader_rss_mib holds the leader and the follower's cache)"
	if r.ColdStandby {
		standby = "cold (leader_rss_mib holds the leader alone)"
	}
	fmt.Fprintf(w, "standby: %s\n", standby)
	fmt.Fprintf(w, "leader_rss_mib: %d\n", max(r.PeakBeforeFailoverMiB-r.AgentsRSSMiB, 0))
	// The steady state, without the cold start's and the failover's
	// transient garbage that the peak holds.
	fmt.Fprintf(w, "leader_idle_rss_mib: %d\n", max(r.IdleRSSMiB-r.AgentsRSSMiB, 0))
	fmt.Fprintf(w, "process_peak_rss_mib: %d\n", r.ProcessPeakRSSMiB)
	fmt.Fprintf(w, "agents_rss_mib: %d\n", r.AgentsRSSMiB)
	fmt.Fprintf(w, "zk_txn_per_1k_placements: %.1f\n", r.LeaderTxnPer1k)
	fmt.Fprintf(w, "agent_status_txn_per_1k_placements: %.1f\n", r.AgentStatusTxnPer1k)
	fmt.Fprintf(w, "leader_goroutines: %d\n", max(r.IdleGoroutines-r.AgentGoroutines, 0))
	fmt.Fprintf(w, "process_goroutines_idle: %d\n", r.IdleGoroutines)
	fmt.Fprintf(w, "process_heap_idle_mib: %d\n", r.IdleHeapMiB)
	fmt.Fprintf(w, "load_average: %s\n", r.Load)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bench is one run's moving parts.
type bench struct {
	cfg     Config
	log     *slog.Logger
	quiet   *slog.Logger // the components' own logs: warnings only
	chroot  zkstore.Config
	dir     string
	repo    *repo
	run     *running
	counts  simrt.Counters
	agents  []*zkstore.Store
	apps    int
	leaders []*replica
	// stopAgents ends the simulated agents before their sessions close.
	stopAgents context.CancelFunc
}

// replica is one leader replica: its store, its cut-off switch, its loop.
type replica struct {
	id    string
	store *zkstore.Store
	cut   *severable
	rec   *reconciler.Reconciler
	obs   *observer
	srv   *server.Server
	stop  context.CancelFunc
	done  chan error
}

// Run runs the benchmark and returns its figures. It leaves its znodes
// under the run's chroot (deleting 150,000 of them would take longer than
// the run); point it at a ZooKeeper of its own.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Instances <= 0 {
		cfg.Instances = 100
	}
	if cfg.Agents < 1 || cfg.Tasks < cfg.Instances || cfg.Tasks%cfg.Instances != 0 {
		return Result{}, fmt.Errorf("bench cluster: --agents must be at least 1 and --tasks a positive multiple of %d (the instances of each app)", cfg.Instances)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = zkstore.DefaultSessionTimeout
	}
	if cfg.AgentSessionTimeout <= 0 {
		cfg.AgentSessionTimeout = zkstore.DefaultSessionTimeout
	}
	if cfg.IdlePasses <= 0 {
		cfg.IdlePasses = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "berth-bench-cluster-")
	if err != nil {
		return Result{}, fmt.Errorf("bench cluster: temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	b := &bench{cfg: cfg, log: cfg.Log, quiet: slog.New(warnOnly{cfg.Log.Handler()}), dir: dir, run: newRunning(),
		apps: cfg.Tasks / cfg.Instances}
	b.chroot = cfg.ZK
	b.chroot.Chroot = strings.TrimSuffix(cfg.ZK.Chroot, "/") + "/run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	defer b.close()
	return b.measure(ctx)
}

// warnOnly passes on warnings and errors only: the agents and leaders log
// every task's state at info, which would be the benchmark's main cost.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}
func (w warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(as)} }
func (w warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{w.Handler.WithGroup(g)} }

// mutable drops every record once muted is set.
type mutable struct {
	slog.Handler
	muted *atomic.Bool
}

func (m mutable) Enabled(ctx context.Context, l slog.Level) bool {
	return !m.muted.Load() && m.Handler.Enabled(ctx, l)
}
func (m mutable) WithAttrs(as []slog.Attr) slog.Handler {
	return mutable{m.Handler.WithAttrs(as), m.muted}
}
func (m mutable) WithGroup(g string) slog.Handler { return mutable{m.Handler.WithGroup(g), m.muted} }

func (b *bench) measure(ctx context.Context) (Result, error) {
	res := Result{Agents: b.cfg.Agents, Tasks: b.cfg.Tasks, Apps: b.apps, ColdStandby: b.cfg.ColdStandby}
	var err error
	if b.repo, err = newRepo(filepath.Join(b.dir, "repo.git")); err != nil {
		return res, err
	}
	if _, err := b.repo.commit(nil, "empty cluster"); err != nil {
		return res, err
	}
	b.log.Info("starting simulated agents", "agents", b.cfg.Agents, "zk", b.chroot.String())
	if err := b.startAgents(ctx); err != nil {
		return res, err
	}
	b.log.Info("starting two leader replicas")
	for i := range 2 {
		r, err := b.startReplica(ctx, fmt.Sprintf("bench-server-%d", i+1))
		if err != nil {
			return res, err
		}
		b.leaders = append(b.leaders, r)
	}
	lead, err := b.waitLeader(ctx, nil)
	if err != nil {
		return res, err
	}
	// The empty commit is decided once before the clock starts.
	if _, err := lead.obs.waitPass(ctx, time.Time{}, nil); err != nil {
		return res, fmt.Errorf("first pass of %s: %w", lead.id, err)
	}

	// Cold start: every app at once, from the commit to every task RUNNING.
	apps := map[string][]byte{}
	for i := range b.apps {
		apps[appFile(i)] = appManifest(i, b.cfg.Instances)
	}
	leaderTx0, agentTx0 := b.leaderTxns(), b.agentTxns()
	b.log.Info("committing the apps", "apps", b.apps, "tasks", b.cfg.Tasks)
	if _, err := b.repo.commit(apps, fmt.Sprintf("%d apps x %d", b.apps, b.cfg.Instances)); err != nil {
		return res, err
	}
	t0 := time.Now()
	b.syncAll()
	if err := b.waitRunning(ctx, int64(b.cfg.Tasks)); err != nil {
		return res, fmt.Errorf("cold start: %w", err)
	}
	res.ColdConverge = b.run.lastAt().Sub(t0)
	b.log.Info("cold start converged", "seconds", res.ColdConverge.Seconds())
	// Passes after the last RUNNING record write what convergence needs
	// (deployments ended); count them too, up to the first idle one.
	idleSince := time.Now()
	if _, err := b.waitIdle(ctx, lead, idleSince); err != nil {
		return res, fmt.Errorf("cold start: %w", err)
	}
	res.LeaderTxnPer1k = float64(b.leaderTxns()-leaderTx0) * 1000 / float64(b.cfg.Tasks)
	res.AgentStatusTxnPer1k = float64(b.agentTxns()-agentTx0) * 1000 / float64(b.cfg.Tasks)

	// Idle: passes with nothing to change.
	b.log.Info("timing idle passes", "passes", b.cfg.IdlePasses)
	var cpu, wall []time.Duration
	since := time.Now()
	for len(cpu) < b.cfg.IdlePasses {
		p, err := b.waitIdle(ctx, lead, since)
		if err != nil {
			return res, fmt.Errorf("idle passes: %w", err)
		}
		cpu, wall = append(cpu, p.cpu), append(wall, p.end.Sub(p.start))
		since = p.end
	}
	res.IdlePassCPU, res.IdlePassWall = median(cpu), median(wall)
	res.IdleGoroutines = runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.IdleHeapMiB = int64(ms.HeapInuse >> 20)
	// The steady state: what is garbage from the cold start given back.
	debug.FreeOSMemory()
	res.IdleRSSMiB = currentRSSMiB()
	b.log.Info("idle", "goroutines", res.IdleGoroutines, "heap_mib", res.IdleHeapMiB, "rss_mib", res.IdleRSSMiB)

	// One app scaled 100 -> 110: from the fetch of its commit to the
	// commit of its new assignments.
	apps[appFile(0)] = appManifest(0, b.cfg.Instances+10)
	scaleAt := time.Now()
	commit, err := b.repo.commit(apps, "scale app 0")
	if err != nil {
		return res, err
	}
	b.log.Info("scaling one app", "app", appID(0), "to", b.cfg.Instances+10)
	lead.rec.Sync()
	pctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	p, err := lead.obs.waitPass(pctx, scaleAt, func(p pass) bool { return p.starts[appID(0)] > 0 })
	cancel()
	if err != nil {
		return res, fmt.Errorf("scale app 0: no pass started its new tasks: %w", err)
	}
	fetched := lead.obs.fetchedAt(commit)
	if fetched.IsZero() {
		return res, fmt.Errorf("scale app 0: commit %s was never fetched by %s", commit, lead.id)
	}
	res.ChangeToCommit = p.end.Sub(fetched)
	b.log.Info("scale committed", "ms", res.ChangeToCommit.Milliseconds(), "pass_ms", p.end.Sub(p.start).Milliseconds())
	if err := b.waitRunning(ctx, int64(b.cfg.Tasks+10)); err != nil {
		return res, fmt.Errorf("scale app 0: %w", err)
	}
	if _, err := b.waitIdle(ctx, lead, time.Now()); err != nil {
		return res, fmt.Errorf("scale app 0: %w", err)
	}

	// Failover: the leader is cut off as by kill -9; the other replica's
	// first complete pass must start and stop nothing.
	creates, stops := b.counts.Creates.Load(), b.counts.Stops.Load()
	// The leader's peak: the cold start and the change, before the
	// failover leaves the cut-off leader's memory beside the new one's in
	// this one process (separate processes in a real cluster).
	res.PeakBeforeFailoverMiB = peakRSSMiB()
	b.log.Info("cutting the leader off", "leader", lead.id)
	cutAt := time.Now()
	lead.cut.sever()
	next, err := b.waitLeader(ctx, lead)
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	b.log.Info("new leader elected", "leader", next.id, "seconds", time.Since(cutAt).Seconds())
	fp, err := next.obs.waitPass(ctx, cutAt, nil)
	if err != nil {
		return res, fmt.Errorf("failover: first pass of %s: %w", next.id, err)
	}
	b.log.Info("new leader's first pass", "started_s", fp.start.Sub(cutAt).Seconds(), "took_s", fp.end.Sub(fp.start).Seconds(), "changes", fp.changes)
	res.FailoverFirstPass = fp.end.Sub(cutAt)
	if _, err := b.waitIdle(ctx, next, fp.end); err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	res.FailoverRestarts = b.counts.Creates.Load() - creates + b.counts.Stops.Load() - stops
	if fp.kills > 0 || len(fp.starts) > 0 {
		res.FailoverRestarts += int64(fp.kills)
		for _, n := range fp.starts {
			res.FailoverRestarts += int64(n)
		}
	}

	// Memory: the process's peak, less what the agents hold without the
	// leaders (measured once both are stopped and memory returned).
	res.ProcessPeakRSSMiB = peakRSSMiB()
	b.stopLeaders()
	runtime.GC()
	debug.FreeOSMemory()
	res.AgentsRSSMiB = currentRSSMiB()
	res.AgentGoroutines = runtime.NumGoroutine()
	res.Load = loadAverage()
	return res, nil
}

func appID(i int) string   { return fmt.Sprintf("/bench/app-%04d", i) }
func appFile(i int) string { return fmt.Sprintf("app-%04d.json", i) }

// appManifest is a Marathon app with no ports and no health checks, so the
// simulated task is healthy once RUNNING and nothing probes it.
func appManifest(i, instances int) []byte {
	return fmt.Appendf(nil, `{"id": %q, "cmd": "sleep 3600", "cpus": 0.1, "mem": 16, "instances": %d, "portDefinitions": []}`+"\n",
		appID(i), instances)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// startAgents opens every agent's session (a few at a time, as a fleet of
// machines would) and runs the real agent over a simulated runtime.
func (b *bench) startAgents(ctx context.Context) error {
	// Room for 1.25 times the tasks, so the cluster is spread and the
	// scale-up fits.
	perAgent := (b.cfg.Tasks*5/4+b.cfg.Agents-1)/b.cfg.Agents + 10
	res := cluster.Resources{CPUs: float64(perAgent) / 10, Mem: float64(perAgent) * 16, Disk: 100000}
	stores := make([]*zkstore.Store, b.cfg.Agents)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range b.cfg.Agents {
		g.Go(func() error {
			octx, cancel := context.WithTimeout(gctx, time.Minute)
			defer cancel()
			s, err := zkstore.Open(octx, b.chroot, zkstore.Options{SessionTimeout: b.cfg.AgentSessionTimeout, Logger: b.quiet, BufferSize: 64 << 10})
			if err != nil {
				return fmt.Errorf("agent %d: %w", i, err)
			}
			stores[i] = s
			return nil
		})
	}
	err := g.Wait()
	for _, s := range stores {
		if s != nil {
			b.agents = append(b.agents, s)
		}
	}
	if err != nil {
		return fmt.Errorf("open the agents' ZooKeeper sessions (%d of %d open): %w", len(b.agents), b.cfg.Agents, err)
	}
	registered := make(chan struct{}, b.cfg.Agents)
	// An agent that stops before registering would leave the wait below
	// waiting for ever.
	stopped := make(chan error, b.cfg.Agents)
	actx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b.stopAgents = stop
	for i, s := range stores {
		id := fmt.Sprintf("sim-%05d", i)
		ag, err := agent.New(agent.Config{
			Node: agent.Node{ID: id, Hostname: id, Address: "127.0.0.1", Resources: res,
				Ports: []cluster.PortRange{{Begin: 31000, End: 32000}}, Attributes: map[string]string{"rack": fmt.Sprintf("r%d", i%40)}},
			Runtime: simrt.New(&b.counts, nil),
			Cluster: countingCluster{Cluster: registering{&agent.StateCluster{State: cluster.NewState(s), Log: b.quiet}, registered}, running: b.run},
			Version: b.cfg.Version, Logger: b.quiet,
			// The simulated agents have no registry; a long interval keeps
			// their idle timers quiet.
			SyncInterval: time.Hour,
		})
		if err != nil {
			return fmt.Errorf("agent %s: %w", id, err)
		}
		go func() {
			if err := ag.Run(actx); err != nil && actx.Err() == nil {
				b.log.Warn("simulated agent stopped", "agent", id, "err", err)
				stopped <- fmt.Errorf("simulated agent %s stopped: %w", id, err)
			}
		}()
	}
	for range b.cfg.Agents {
		select {
		case <-registered:
		case err := <-stopped:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// registering tells when an agent has registered.
type registering struct {
	agent.Cluster
	done chan<- struct{}
}

func (r registering) RegisterAgent(ctx context.Context, a cluster.Agent) error {
	err := r.Cluster.RegisterAgent(ctx, a)
	if err == nil {
		r.done <- struct{}{}
	}
	return err
}

// startReplica runs one berth server replica as `berth server` wires it:
// the election and leader duties of package server, the reconciler as its
// leader duty, over a store whose connections the benchmark can cut.
func (b *bench) startReplica(ctx context.Context, id string) (*replica, error) {
	r := &replica{id: id, cut: &severable{}, obs: newObserver(), done: make(chan error, 1)}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	s, err := zkstore.Open(octx, b.chroot, zkstore.Options{SessionTimeout: b.cfg.SessionTimeout,
		Logger: slog.New(mutable{b.quiet.Handler(), &r.cut.muted}), Dial: r.cut.dial})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", id, err)
	}
	r.store = s
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: b.repo.url(), CacheDir: filepath.Join(b.dir, "cache-"+id), Logger: b.quiet})
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("replica %s: open %s: %w", id, b.repo.url(), err)
	}
	// Once cut off, the replica's complaints (every write failing) are what
	// the benchmark asked for: they are dropped.
	log := slog.New(mutable{b.quiet.Handler(), &r.cut.muted}).With("server", id)
	r.rec = reconciler.New(reconciler.Config{
		Branch: branch, Poll: time.Hour, Resync: time.Second, Logger: log, Observer: r.obs, ColdStandby: b.cfg.ColdStandby,
		Pass: decide.Options{Prune: true, Spec: decide.SpecOptions{ShellImage: decide.DefaultShellImage}},
	}, src, cluster.NewState(s))
	r.srv = server.New(server.Config{ID: id, Version: b.cfg.Version, Store: s, Logger: log,
		Lead: []server.LeadFunc{r.rec.Run}, Standby: []func(context.Context){r.rec.Standby}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("replica %s: listen: %w", id, err)
	}
	sctx, stop := context.WithCancel(ctx)
	r.stop = stop
	go func() { r.done <- r.srv.Serve(sctx, ln) }()
	return r, nil
}

// waitLeader waits until a replica other than not leads and returns it. It
// asks LeaderAddress, whose role comes from memory: Status reads every
// agent's record, and polling it every 20 ms at 5,000 agents was most of
// ZooKeeper's load during the failover it measured.
func (b *bench) waitLeader(ctx context.Context, not *replica) (*replica, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	for {
		for _, r := range b.leaders {
			if r == not {
				continue
			}
			if _, _, self, _ := r.srv.LeaderAddress(ctx); self {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no replica leads: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (b *bench) syncAll() {
	for _, r := range b.leaders {
		r.rec.Sync()
	}
}

// waitRunning waits until n tasks were recorded RUNNING, logging progress.
func (b *bench) waitRunning(ctx context.Context, n int64) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for b.run.n.Load() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d tasks recorded RUNNING: %w", b.run.n.Load(), n, ctx.Err())
		case <-tick.C:
		}
		if time.Since(last) >= 10*time.Second {
			last = time.Now()
			b.log.Info("waiting for tasks", "running", b.run.n.Load(), "of", n)
		}
	}
	return nil
}

// waitIdle waits for r's first pass after since that changes nothing.
func (b *bench) waitIdle(ctx context.Context, r *replica, since time.Time) (pass, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	p, err := r.obs.waitPass(ctx, since, func(p pass) bool { return p.changes == 0 })
	if err != nil {
		return p, fmt.Errorf("no idle pass of %s: %w", r.id, err)
	}
	return p, nil
}

func (b *bench) leaderTxns() int64 {
	var n int64
	for _, r := range b.leaders {
		n += r.store.Stats().Transactions
	}
	return n
}

func (b *bench) agentTxns() int64 {
	var n int64
	for _, s := range b.agents {
		n += s.Stats().Transactions
	}
	return n
}

// stopLeaders stops both replicas; one cut off may never hear back from
// ZooKeeper, so it is given a few seconds only.
func (b *bench) stopLeaders() {
	for _, r := range b.leaders {
		r.stop()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			b.log.Warn("replica did not stop in 10 s; closing its store", "replica", r.id)
		}
		_ = r.store.Close()
	}
	b.leaders = nil
}

func (b *bench) close() {
	b.stopLeaders()
	if b.stopAgents != nil {
		b.stopAgents()
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, s := range b.agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = s.Close()
		}()
	}
	wg.Wait()
}

func peakRSSMiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss / 1024 // Linux reports KiB
}

// currentRSSMiB is the process's resident set now (Linux), or 0.
func currentRSSMiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// loadAverage is /proc/loadavg's three averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
