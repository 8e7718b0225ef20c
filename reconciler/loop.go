package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/reconciler/wire"
	"github.com/berthops/berth/schedule"
	"github.com/berthops/berth/secrets"
)

// Source is the Git side of the loop: fetch, resolve the branch, read a
// commit's manifest tree.
type Source interface {
	Fetch(ctx context.Context) error
	Resolve(ref string) (string, error)
	Tree(commit, dir string) (fs.FS, error)
}

// Config is the loop's configuration.
type Config struct {
	// Branch is the ref whose head the cluster follows.
	Branch string
	// Path is the manifest root inside the repository ("" = the whole tree).
	Path string
	// Poll is how often the branch is fetched when no webhook arrives.
	Poll time.Duration
	// Resync is how often the cluster is re-read and a pass runs, even with
	// no Git change: self-healing is level-triggered.
	Resync time.Duration
	Pass   decide.Options
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observer, if set, is told what the loop does (package metrics exports
	// it to Prometheus).
	Observer Observer
	// Verify, if set, vets every new head before it is loaded (RequireSigned:
	// only commits signed by a trusted key): a head it refuses is rejected
	// whole, like an invalid commit, and the cluster stays on the last good
	// one.
	Verify func(commit string) error
	// Signatures, if set, says what a commit's signature is
	// (DescribeSignatures); GET /v1/diff shows it for the head and the
	// live commit, as berth diff does.
	Signatures func(commit string) (*plan.Signature, error)
	// CacheResync is how often the leader's cache of the cluster state
	// (package mirror) is re-read in full and compared; 0 means 5 minutes.
	// Watches keep it current in between.
	CacheResync time.Duration
	// DirectReads turns the cache off: every pass reads the whole cluster
	// state from the store, as before the cache existed (benchmarks
	// compare the two).
	DirectReads bool
	// ColdStandby keeps no cache while following: each term fills its own
	// with a full read, which at 150,000 tasks takes most of a failover.
	// By default (Standby running) a follower keeps the cache filled, at
	// the cost of a copy of the cluster state in every replica's memory.
	ColdStandby bool
	// SecretIdentity is the servers' age identity (--age-identity): it
	// opens the Secrets a commit's apps reference. Without it, a commit
	// whose apps use secrets is refused, saying so.
	SecretIdentity *secrets.Identity
}

// The status documents are the API's (package wire), shared with clients.
type (
	CommitError = wire.CommitError
	Status      = wire.Status
	AppStatus   = wire.AppStatus
)

// Reconciler keeps the cluster equal to the head of a branch. Run it only
// while leading; everything it needs is re-read from Git and the store, so a
// new leader resumes where the last one stopped.
type Reconciler struct {
	cfg   Config
	src   Source
	state *cluster.State
	log   *slog.Logger

	trigger chan struct{}

	mu      sync.Mutex
	status  Status
	desired *manifests.Set
	// keys are the opened Secrets of desired: in memory only, never logged.
	keys *secrets.Keyring
	// schedules are desired's parsed job schedules (JobSchedules).
	schedules map[string]schedule.Schedule
	// jobs is the job records kept between passes while Run leads; nil
	// otherwise, and then every snapshot reads them all. Only Run's
	// goroutine touches it (not under mu): snapshot is for passes only.
	jobs *jobRecords
	// nextDue is the last pass's Result.NextDue (Run's goroutine only).
	nextDue decide.NextDue
	// memo is the last pass's Result.Memo (Run's goroutine only).
	memo *decide.Memo
	// last is the last complete decision of this term, for idle passes
	// (Run's goroutine only).
	last *lastPass
	// inputEpoch is the cache epoch the last input was read at.
	inputEpoch uint64
	// mirror is this term's cache of the cluster state (under mu; nil
	// when not leading or with DirectReads).
	mirror *mirror.Mirror
	// standby is the cache Standby keeps filled while following (under
	// mu); Run takes it over for its term.
	standby *mirror.Mirror
	subs    map[chan<- Status]struct{}
	// manual are `berth jobs run` requests not yet committed as runs.
	manual []string
}

// ErrJobDisabled is RunJob refusing a job declared with disabled: true.
var ErrJobDisabled = errors.New("job is disabled")

// RunJob asks for a run of job now; the next pass records and launches it.
func (r *Reconciler) RunJob(job string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.desired == nil || r.desired.Job(job) == nil {
		return fmt.Errorf("no job %q in the desired state (commit %s)", job, shortCommit(r.status.Desired))
	}
	if j := r.desired.Job(job); j.Disabled {
		// The pass would drop the request: say so rather than accept it.
		return fmt.Errorf("%w: %s:%d: job %s has disabled: true (commit %s); enable it to run it", ErrJobDisabled,
			j.Origin.File, j.Origin.Line, job, shortCommit(r.status.Desired))
	}
	r.manual = append(r.manual, job)
	select {
	case r.trigger <- struct{}{}:
	default:
	}
	return nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// New makes a reconciler; call Run to start it.
func New(cfg Config, src Source, state *cluster.State) *Reconciler {
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.Pass.NewTaskID == nil {
		cfg.Pass.NewTaskID = NewTaskID
	}
	return &Reconciler{cfg: cfg, src: src, state: state, log: cfg.Logger, trigger: make(chan struct{}, 1)}
}

// Sync asks for a Git fetch and a pass as soon as possible (a webhook or
// `berth sync`) and returns the request's generation. It never blocks.
func (r *Reconciler) Sync() uint64 {
	r.mu.Lock()
	r.status.Generation++
	gen := r.status.Generation
	r.mu.Unlock()
	select {
	case r.trigger <- struct{}{}:
	default:
	}
	return gen
}

// Desired returns the manifest set the cluster is converged to and its
// commit; nil before the first valid commit was loaded.
func (r *Reconciler) Desired() (*manifests.Set, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desired, r.status.Desired
}

// Status returns the latest status.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// subscribe sends every new status to ch (dropping it when ch is full:
// a slow reader sees the next one) until the returned cancel is called.
func (r *Reconciler) subscribe(ch chan<- Status) (cancel func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = map[chan<- Status]struct{}{}
	}
	r.subs[ch] = struct{}{}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, ch)
	}
}

// Run fetches and applies until ctx is done or leadership is lost (the
// returned error then wraps cluster.ErrFenced).
func (r *Reconciler) Run(ctx context.Context, lead cluster.Leadership) error {
	r.cfg.Observer.Leader(true)
	defer r.cfg.Observer.Leader(false)
	// A new term starts from the store: the records kept by an earlier
	// term may predate another leader's writes.
	r.jobs = &jobRecords{}
	r.nextDue, r.last, r.memo = nil, nil, nil
	defer func() { r.jobs, r.nextDue, r.last, r.memo = nil, nil, nil, nil }()
	switch m := r.standbyMirror(); {
	case r.cfg.DirectReads:
	case m != nil:
		// The standby's cache followed every write while this replica
		// followed; once it has read what the watches that fired before
		// this election told of, it holds what a full read would, and a
		// full read runs in the background to count any drift.
		if err := m.Settle(ctx); err != nil {
			return fmt.Errorf("reconcile: settle the standby cache: %w", err)
		}
		m.RequestResync()
		r.setMirror(&r.mirror, m)
		defer r.setMirror(&r.mirror, nil)
	default:
		// Without a standby cache, each term fills one of its own with a
		// full read: another leader may have written anything meanwhile.
		stop := r.startMirror(ctx)
		defer stop()
	}
	poll := time.NewTicker(r.cfg.Poll)
	defer poll.Stop()
	resync := time.NewTimer(0)
	defer resync.Stop()
	fetch := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
			fetch = true
		case <-r.trigger:
			fetch = true
		case <-resync.C:
		}
		if fetch {
			r.refresh(ctx)
			fetch = false
		}
		next, err := r.pass(ctx, lead)
		if errors.Is(err, cluster.ErrFenced) || errors.Is(err, cluster.ErrClosed) {
			return fmt.Errorf("reconcile: %w", err)
		}
		wait := r.cfg.Resync
		if !next.IsZero() {
			if d := next.Sub(r.cfg.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		resync.Reset(wait)
	}
}

// refresh fetches the branch and loads its head when it moved. An invalid
// commit is rejected whole: the desired state stays on the last good one.
func (r *Reconciler) refresh(ctx context.Context) {
	r.mu.Lock()
	gen := r.status.Generation
	r.mu.Unlock()
	gitFailed := func(msg string) {
		r.cfg.Observer.GitError()
		r.log.Warn("git", "err", msg)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.status.GitError = msg
		r.status.Fetched, r.status.FetchedAt = gen, r.cfg.Now()
	}
	if err := r.src.Fetch(ctx); err != nil {
		gitFailed(fmt.Sprintf("git fetch: %v", err))
		return
	}
	head, err := r.src.Resolve(r.cfg.Branch)
	if err != nil {
		gitFailed(fmt.Sprintf("resolve %s: %v", r.cfg.Branch, err))
		return
	}
	r.mu.Lock()
	seen := r.status.Head == head
	r.status.GitError = ""
	if seen {
		r.status.Fetched, r.status.FetchedAt = gen, r.cfg.Now()
	}
	r.mu.Unlock()
	if seen {
		return
	}
	if po, ok := r.cfg.Observer.(PassObserver); ok {
		po.HeadFetched(head)
	}
	var set *manifests.Set
	if r.cfg.Verify != nil {
		err = r.cfg.Verify(head)
	}
	if err == nil {
		set, err = r.load(head)
	}
	var keys *secrets.Keyring
	if err == nil {
		keys, err = secrets.Open(set, r.cfg.SecretIdentity)
	}
	var schedules map[string]schedule.Schedule
	if err == nil {
		schedules = decide.JobSchedules(set) // once per commit, not every pass
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Head = head
	r.status.Fetched, r.status.FetchedAt = gen, r.cfg.Now()
	if err != nil {
		ce := &CommitError{Commit: head, Since: r.cfg.Now()}
		var list manifests.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				ce.Errors = append(ce.Errors, e.Error())
			}
		} else {
			ce.Errors = []string{err.Error()}
		}
		r.status.Rejected = ce
		r.cfg.Observer.Rejected(true)
		r.log.Warn("commit rejected", "commit", head, "errors", len(ce.Errors))
		return
	}
	r.status.Rejected = nil
	r.cfg.Observer.Rejected(false)
	r.status.Desired = head
	// Until a pass has decided against the new head, the cluster does not
	// run it.
	r.status.Converged = false
	r.cfg.Observer.Converged(false)
	r.desired, r.schedules, r.keys = set, schedules, keys
	r.log.Info("commit loaded", "commit", head, "apps", len(set.Apps), "jobs", len(set.Jobs))
}

func (r *Reconciler) load(commit string) (*manifests.Set, error) {
	return LoadCommit(r.src, nil, commit, r.cfg.Path)
}

// passFailed records a pass that could not decide or commit: the status
// keeps the error with the commit it concerns, and is not converged.
func (r *Reconciler) passFailed(commit string, err error) {
	r.cfg.Observer.PassError()
	r.log.Warn("reconcile pass failed", "commit", commit, "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.LastError, r.status.LastErrorCommit, r.status.Converged = err.Error(), commit, false
	r.cfg.Observer.Converged(false)
	r.notify()
}

// pass reads the cluster, decides, and commits the decision fenced by lead.
func (r *Reconciler) pass(ctx context.Context, lead cluster.Leadership) (time.Time, error) {
	r.mu.Lock()
	desired, commit, schedules, keys := r.desired, r.status.Desired, r.schedules, r.keys
	manual := append([]string(nil), r.manual...)
	r.mu.Unlock()
	if desired == nil {
		// Nothing loaded yet (Git unreachable or every commit invalid): do
		// not touch the cluster; in particular, do not prune it.
		return time.Time{}, nil
	}
	if po, ok := r.cfg.Observer.(PassObserver); ok {
		po.PassStarted()
	}
	start := time.Now()
	if out, ok := r.idle(desired, commit, len(manual)); ok {
		r.cfg.Observer.IdlePass()
		r.publish(out, commit, r.cfg.Now())
		return out.RequeueAt, nil
	}
	in, err := r.input(ctx, desired, commit)
	if err != nil {
		r.cfg.Observer.StoreError()
		r.passFailed(commit, err)
		return time.Time{}, err
	}
	in.ManualRuns, in.Schedules, in.NextDue, in.Memo = manual, schedules, r.nextDue, r.memo
	opts := r.cfg.Pass
	opts.AroundPlacement = r.cfg.Observer.Placement
	out := decide.Decide(in, opts)
	r.last, r.memo = nil, out.Memo
	if err := seal(out.Changes, in.Agents, keys); err != nil {
		r.passFailed(commit, err)
		return time.Time{}, err
	}
	if err := r.commit(ctx, lead, out.Changes); err != nil {
		r.jobs.reset() // what was written is unknown: read it all again
		r.cfg.Observer.StoreError()
		r.passFailed(commit, err)
		return time.Time{}, err
	}
	r.remember(in, desired, commit, out)
	r.jobs.wrote(out.JobsWritten)
	r.nextDue = out.NextDue
	r.cfg.Observer.Pass(time.Since(start), out, append([][]cluster.Task{in.Tasks}, in.TaskParts...))
	if len(manual) > 0 {
		r.mu.Lock()
		r.manual = r.manual[len(manual):]
		r.mu.Unlock()
	}
	r.publish(out, commit, in.Now)
	return out.RequeueAt, nil
}

// input reads what a decision needs: the observed cluster and the engine's
// durable memory, from the store.
func (r *Reconciler) input(ctx context.Context, desired *manifests.Set, commit string) (decide.Input, error) {
	var in decide.Input
	var err error
	if m := r.Mirror(); m != nil {
		in, err = r.mirrorInput(ctx, m, desired)
	} else {
		in, err = ReadInput(ctx, r.state, desired)
	}
	if err != nil {
		return decide.Input{}, err
	}
	in.Commit = commit
	if r.jobs != nil {
		in.JobStates, in.JobRuns, err = r.jobs.read(ctx, r.state, desired)
	} else {
		in.JobStates, in.JobRuns, err = readJobRecords(ctx, r.state, desired)
	}
	if err != nil {
		return decide.Input{}, err
	}
	in.Now = r.cfg.Now()
	return in, nil
}

// ReadInput reads the cluster state a decision over desired needs, except
// the job records (which the loop keeps between passes) and the time: the
// agents, tasks, service ports, published templates, the applied commit and
// the engine's durable memory. `GET /v1/diff` and the observed snapshot
// read the same, so every "what would happen" sees what the loop sees.
func ReadInput(ctx context.Context, st *cluster.State, desired *manifests.Set) (decide.Input, error) {
	in := decide.Input{Desired: desired}
	var err error
	if in.Agents, err = st.Agents(ctx); err != nil {
		return in, fmt.Errorf("read agents: %w", err)
	}
	if in.Tasks, err = st.Tasks(ctx); err != nil {
		return in, fmt.Errorf("read tasks: %w", err)
	}
	if in.ServicePorts, err = st.ServicePorts(ctx); err != nil {
		return in, fmt.Errorf("read service ports: %w", err)
	}
	if in.Templates, err = st.Templates(ctx); err != nil {
		return in, fmt.Errorf("read published templates: %w", err)
	}
	applied, err := st.AppliedCommit(ctx)
	if err != nil {
		return in, fmt.Errorf("read the applied commit: %w", err)
	}
	in.Applied = applied.Commit
	if in.Launches, err = st.Launches(ctx); err != nil {
		return in, fmt.Errorf("read launch histories: %w", err)
	}
	if in.Lost, err = st.LostAgents(ctx); err != nil {
		return in, fmt.Errorf("read lost agents: %w", err)
	}
	if in.Residences, err = st.Residences(ctx); err != nil {
		return in, fmt.Errorf("read resident apps' slots: %w", err)
	}
	deps, err := st.Deployments(ctx)
	if err != nil {
		return in, fmt.Errorf("read deployments: %w", err)
	}
	in.Deployments = make(map[string]cluster.Deployment, len(deps))
	for _, d := range deps {
		in.Deployments[d.ID] = d
	}
	return in, nil
}

func (r *Reconciler) publish(out decide.Result, commit string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	st.LastSync, st.LastError, st.LastErrorCommit, st.Orphans, st.Jobs = now, "", "", out.Orphans, out.Jobs
	st.Decided = commit
	// Converged speaks of the head: a pass over an older commit (the head is
	// still loading) is not convergence, unless the head was rejected and
	// the status says so.
	atHead := commit == st.Head || (st.Rejected != nil && st.Rejected.Commit == st.Head)
	st.Converged = out.Converged && atHead
	st.Apps = st.Apps[:0:0]
	degraded := 0
	for _, a := range out.Apps {
		if a.Error != "" || (a.Unplaced != "" && a.Status.Health == rollout.Degraded) {
			degraded++ // cannot be decided, or placed, whatever the pass does
		}
		st.Apps = append(st.Apps, AppStatus{ID: a.ID, Version: a.Version, Sync: a.Status.Sync, Health: a.Status.Health,
			Message: a.Status.Message, Instances: a.Decision.Counts.Current, Healthy: a.Decision.Counts.CurrentHealthy,
			Unplaced: a.Unplaced, Error: a.Error})
	}
	r.cfg.Observer.Degraded(degraded)
	r.cfg.Observer.Converged(st.Converged)
	r.status = st
	r.notify()
}

// notify sends the status to every subscriber (r.mu held).
func (r *Reconciler) notify() {
	st := r.status
	for ch := range r.subs {
		select {
		case ch <- st:
		default:
		}
	}
}

// Subscribe sends every new status to ch, after every pass, until the
// returned cancel is called; a full ch drops the status (a slow reader
// sees the next one). The read-only Marathon API streams events from it.
func (r *Reconciler) Subscribe(ch chan<- Status) (cancel func()) { return r.subscribe(ch) }
