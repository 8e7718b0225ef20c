package clusterbench

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
)

// pass is one completed reconcile pass of a leader replica.
type pass struct {
	start, end time.Time
	cpu        time.Duration // the whole process's CPU during the pass
	starts     map[string]int
	kills      int
	changes    int
}

// observer watches one replica's reconciler (a reconciler.Observer and
// reconciler.PassObserver).
type observer struct {
	mu        sync.Mutex
	cond      *sync.Cond
	started   time.Time
	cpuStart  time.Duration
	passes    []pass
	fetched   map[string]time.Time // new heads by commit, when fetched
	lastFetch string
}

var (
	_ reconciler.Observer     = (*observer)(nil)
	_ reconciler.PassObserver = (*observer)(nil)
)

func newObserver() *observer {
	o := &observer{fetched: map[string]time.Time{}}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// processCPU is the user and system CPU the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (o *observer) PassStarted() {
	cpu := processCPU()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started, o.cpuStart = time.Now(), cpu
}

func (o *observer) HeadFetched(commit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fetched[commit] = time.Now()
	o.lastFetch = commit
	o.cond.Broadcast()
}

func (o *observer) Pass(_ time.Duration, out decide.Result, _ [][]cluster.Task) {
	cpu := processCPU()
	p := pass{end: time.Now(), changes: len(out.Changes), starts: map[string]int{}}
	for _, c := range out.Changes {
		switch c := c.(type) {
		case decide.StartTask:
			p.starts[c.Assignment.OwnerID]++
		case decide.KillTask:
			p.kills++
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	p.start, p.cpu = o.started, cpu-o.cpuStart
	o.passes = append(o.passes, p)
	o.cond.Broadcast()
}

// IdlePass is a pass that reused the last decision (nothing changed): the
// cheapest pass a leader makes, and the one idle_pass_ms is about.
func (o *observer) IdlePass() { o.Pass(0, decide.Result{}, nil) }

// waitPass waits for the first pass that ends after since and satisfies ok
// (nil: any), or ctx.
func (o *observer) waitPass(ctx context.Context, since time.Time, ok func(pass) bool) (pass, error) {
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.cond.Broadcast()
	})
	defer stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		for _, p := range o.passes {
			if p.end.After(since) && (ok == nil || ok(p)) {
				return p, nil
			}
		}
		if ctx.Err() != nil {
			return pass{}, ctx.Err()
		}
		o.cond.Wait()
	}
}

// fetchedAt is when commit was fetched as a new head (zero: not yet).
func (o *observer) fetchedAt(commit string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetched[commit]
}

func (o *observer) Placement(place func())  { place() }
func (o *observer) StoreError()             {}
func (o *observer) GitError()               {}
func (o *observer) PassError()              {}
func (o *observer) Rejected(bool)           {}
func (o *observer) Leader(bool)             {}
func (o *observer) Degraded(int)            {}
func (o *observer) Converged(bool)          {}
func (o *observer) CacheResync(string, int) {}

// running counts the tasks the simulated agents recorded RUNNING, each
// once, and when the latest first RUNNING record was written.
type running struct {
	mu     sync.Mutex
	seen   map[string]bool
	last   time.Time
	n      atomic.Int64
	writes atomic.Int64 // every status report written
}

func newRunning() *running { return &running{seen: map[string]bool{}} }

func (r *running) record(st cluster.TaskStatus) {
	r.writes.Add(1)
	if st.State != cluster.TaskRunning {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[st.TaskID] {
		return
	}
	r.seen[st.TaskID] = true
	r.last = now
	r.n.Add(1)
}

// lastAt is when the latest task was first recorded RUNNING.
func (r *running) lastAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// countingCluster is an agent's cluster edge that tells running of every
// status written.
type countingCluster struct {
	agent.Cluster
	running *running
}

func (c countingCluster) ReportStatuses(ctx context.Context, sts []cluster.TaskStatus) error {
	if err := c.Cluster.ReportStatuses(ctx, sts); err != nil {
		return err
	}
	for _, st := range sts {
		c.running.record(st)
	}
	return nil
}

// severable dials ZooKeeper and can cut every connection it made and refuse
// new ones: the process looks dead to the ensemble (as after kill -9) but
// never closes its session, which therefore expires.
type severable struct {
	muted atomic.Bool // set when cut: the replica's logs are dropped
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (s *severable) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut {
		return nil, errors.New("cut off by the benchmark")
	}
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, c)
	return c, nil
}

func (s *severable) sever() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = true
	s.muted.Store(true)
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}
