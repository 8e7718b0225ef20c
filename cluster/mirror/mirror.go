package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
)

// ErrStale is Snapshot refusing to answer: the mirror was never filled, or
// its watches were lost with the store's session and a Resync has not
// repaired it yet. Deciding on it could undo changes it missed.
var ErrStale = errors.New("cluster mirror is stale: its watches were lost or it was never filled; resync first")

// Options tune a Mirror.
type Options struct {
	// ResyncEvery is how often Run re-reads everything and compares it with
	// the mirror; 0 means 5 minutes. Watches keep the mirror current; this
	// only bounds how long a missed change (a store bug, a lost event) can
	// live.
	ResyncEvery time.Duration
	// Workers is how many nodes are re-read at once after their watches
	// fire; 0 means 32. ZooKeeper pipelines them over one connection.
	Workers int
	// OnResync, if set, is told about every completed resync: why it ran
	// and how many nodes the mirror had wrong (package metrics counts them).
	OnResync func(reason string, drift int)
	Logger   *slog.Logger
}

// table is one mirrored directory.
type table struct {
	dir string
	// depth is 0 for a single node (dir is the node), 1 for dir/<leaf> and
	// 2 for dir/<sub>/<leaf>.
	depth int
	// decode turns a leaf's data into its typed value; nil means the data
	// is not needed (live nodes count by name only).
	decode func([]byte) (any, error)
	// tasks marks the trees whose changes change the joined task list.
	tasks bool
	// agents marks the trees whose changes change the agent list.
	agents bool
}

func decoder[T any]() func([]byte) (any, error) {
	return func(data []byte) (any, error) {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// leaf is one mirrored node.
type leaf struct {
	val any
	// changed is the epoch of the leaf's last change in the mirror, which
	// tells a read that started earlier that its answer is out of date.
	changed uint64
}

// dirNode is a directory's children, by name.
type dirNode struct {
	kids    map[string]struct{}
	sorted  []string // nil when kids changed since last sorted
	changed uint64
}

func (d *dirNode) names() []string {
	if d.sorted == nil {
		d.sorted = make([]string, 0, len(d.kids))
		for k := range d.kids {
			d.sorted = append(d.sorted, k)
		}
		slices.Sort(d.sorted)
	}
	return d.sorted
}

// Mirror is the in-memory copy of the cluster state. Create it with New (the
// leader's view) or ForAgent (one agent's assignments), run it with Run, and
// read it with Snapshot or Assignments.
type Mirror struct {
	store  cluster.Store
	opts   Options
	log    *slog.Logger
	tables []*table
	layout cluster.Layout

	started chan struct{}
	runCtx  context.Context
	lostCh  chan struct{}
	// askCh asks Run for a resync that the mirror does not need to be
	// trusted (RequestResync): it stays fresh meanwhile.
	askCh chan struct{}

	resyncMu sync.Mutex

	mu      sync.Mutex
	cond    *sync.Cond
	changed chan struct{}
	epoch   uint64
	leaves  map[string]*leaf
	dirs    map[string]*dirNode
	// gone stamps deletions with their epoch, for reads in flight; it is
	// emptied whenever no read is.
	gone     map[string]uint64
	watching map[string]bool
	pending  map[string]bool // path -> watch before the first read
	order    []string
	busy     map[string]bool
	deferred map[string]bool
	inflight int
	// lost counts lost sessions (and invalidations); healed is the count a
	// clean resync last covered. The mirror is stale while they differ.
	lost, healed uint64
	synced       bool
	// resynced is closed (and replaced) after every resync attempt;
	// resyncErr is the last attempt's error.
	resynced  chan struct{}
	resyncErr error

	agentsCache []cluster.Agent
	tasksCache  map[string][]cluster.Task // by agent node name
	allTasks    [][]cluster.Task          // the parts of every agent's tasks
}

// New returns the leader's mirror: agents, live agents, every assignment and
// status, service ports, published templates, deployments, the engine's
// durable memory and the applied commit.
func New(store cluster.Store, opts Options) *Mirror {
	l := cluster.TreeLayout()
	return newMirror(store, opts, l, []*table{
		{dir: l.Agents, depth: 1, decode: decoder[cluster.Agent](), agents: true},
		{dir: l.Live, depth: 1, agents: true},
		{dir: l.Assignments, depth: 2, decode: decoder[cluster.Assignment](), tasks: true},
		{dir: l.Statuses, depth: 2, decode: decoder[cluster.TaskStatus](), tasks: true},
		{dir: l.ServicePorts, depth: 1, decode: decoder[cluster.ServicePort]()},
		{dir: l.Templates, depth: 1, decode: decoder[cluster.PublishedTemplate]()},
		{dir: l.Deployments, depth: 1, decode: decoder[cluster.Deployment]()},
		{dir: l.Launches, depth: 1, decode: decoder[cluster.LaunchHistory]()},
		{dir: l.Lost, depth: 1, decode: decoder[cluster.AgentLost]()},
		{dir: l.Residences, depth: 1, decode: decoder[cluster.Residence]()},
		{dir: l.Commit, depth: 0, decode: decoder[cluster.AppliedCommit]()},
	})
}

// ForAgent returns a mirror of one agent's assignments, what the agent
// follows to know which tasks to run.
func ForAgent(store cluster.Store, agentID string, opts Options) *Mirror {
	return newMirror(store, opts, cluster.TreeLayout(), []*table{
		{dir: cluster.AssignmentsDir(agentID), depth: 1, decode: decoder[cluster.Assignment]()},
	})
}

func newMirror(store cluster.Store, opts Options, l cluster.Layout, tables []*table) *Mirror {
	if opts.ResyncEvery <= 0 {
		opts.ResyncEvery = 5 * time.Minute
	}
	if opts.Workers <= 0 {
		opts.Workers = 32
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirror{store: store, opts: opts, log: opts.Logger, tables: tables, layout: l,
		started: make(chan struct{}), lostCh: make(chan struct{}, 1), askCh: make(chan struct{}, 1), changed: make(chan struct{}, 1),
		leaves: map[string]*leaf{}, dirs: map[string]*dirNode{}, gone: map[string]uint64{},
		watching: map[string]bool{}, pending: map[string]bool{}, busy: map[string]bool{}, deferred: map[string]bool{},
		tasksCache: map[string][]cluster.Task{}, resynced: make(chan struct{})}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// Run fills the mirror and keeps it current until ctx is done: it starts the
// workers that re-read what watches report, resyncs on the timer and after
// a lost session. It returns ctx.Err(); its watches end with ctx.
func (m *Mirror) Run(ctx context.Context) error {
	m.runCtx = ctx
	close(m.started)
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.cond.Broadcast()
	})
	var wg sync.WaitGroup
	for range m.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.work(ctx)
		}()
	}
	defer wg.Wait()
	reason := "start"
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-m.lostCh:
			reason = "watches lost"
		case <-m.askCh:
			reason = "asked"
		}
		wait := m.opts.ResyncEvery
		if _, err := m.Resync(ctx, reason); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.log.Warn("cluster mirror resync failed; retrying", "err", err)
			wait = time.Second
		}
		reason = "timer"
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// Changed is signalled (without blocking, so several changes may make one
// signal) whenever the mirrored state changes.
func (m *Mirror) Changed() <-chan struct{} { return m.changed }

// Epoch counts the changes the mirror has seen; the same epoch means the
// same state.
func (m *Mirror) Epoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Fresh reports whether the mirror was filled and has not lost its watches
// since.
func (m *Mirror) Fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.freshLocked()
}

func (m *Mirror) freshLocked() bool { return m.synced && m.lost == m.healed }

// WaitFresh blocks until the mirror is fresh (Run resyncs it by itself at
// start and after its watches were lost), ctx is done, or a resync fails:
// then it returns that resync's error.
func (m *Mirror) WaitFresh(ctx context.Context) error {
	for {
		m.mu.Lock()
		if m.freshLocked() {
			m.mu.Unlock()
			return nil
		}
		ch := m.resynced
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
		m.mu.Lock()
		fresh, err := m.freshLocked(), m.resyncErr
		m.mu.Unlock()
		if !fresh && err != nil {
			return err
		}
	}
}

// Invalidate marks the mirror stale until the next resync: its owner no
// longer knows what the store holds (a commit failed half way).
func (m *Mirror) Invalidate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lostLocked()
}

// RequestResync asks for a full re-read in the background, counted as a
// resync with reason "asked"; the mirror answers meanwhile. A leader that
// takes over a standby's mirror asks for one, as each term of a leader that
// fills its own begins with one.
func (m *Mirror) RequestResync() {
	select {
	case m.askCh <- struct{}{}:
	default:
	}
}

// Settle waits until the mirror is fresh and has read again every node
// whose watch fired before Settle was called. Watches fire in the order of
// the store's writes, so a follower that learns it leads and then settles
// holds every write made before its election (the former leader's last
// ones included): what a full read at that moment would give, without it.
func (m *Mirror) Settle(ctx context.Context) error {
	for {
		if err := m.WaitFresh(ctx); err != nil {
			return err
		}
		m.mu.Lock()
		idle := m.freshLocked() && len(m.pending) == 0 && len(m.deferred) == 0 && m.inflight == 0
		m.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (m *Mirror) lostLocked() {
	m.lost++
	select {
	case m.lostCh <- struct{}{}:
	default:
	}
}

// classify finds the table of p and what p is in it: the table's own
// directory (level 0), a sub-directory of a two-level table, or a leaf.
func (m *Mirror) classify(p string) (t *table, isLeaf bool, ok bool) {
	for _, t := range m.tables {
		if p == t.dir {
			return t, t.depth == 0, true
		}
		if t.depth == 0 || !strings.HasPrefix(p, t.dir+"/") {
			continue
		}
		n := strings.Count(p[len(t.dir)+1:], "/")
		switch {
		case t.depth == 1 && n == 0:
			return t, true, true
		case t.depth == 2 && n == 0:
			return t, false, true
		case t.depth == 2 && n == 1:
			return t, true, true
		}
		return nil, false, false
	}
	return nil, false, false
}

// Apply records writes the caller committed to the store, before their
// watches report them. The leader calls it after every fenced commit: a
// watch event arrives a round trip later, and the next pass must not decide
// on state older than the writes the last one made (it would place the same
// tasks again). Applying the committed values directly is exact, costs no
// extra read, and the reads still in flight from before are recognised by
// the leaf's newer epoch and retried, so they cannot undo it.
func (m *Mirror) Apply(ops []cluster.Op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		t, isLeaf, ok := m.classify(op.Path)
		if !ok || !isLeaf || t.decode == nil {
			continue
		}
		switch op.Kind {
		case cluster.OpCreate, cluster.OpSet, cluster.OpPut:
			v, err := t.decode(op.Data)
			if err != nil {
				m.lostLocked() // cannot happen with what the leader encodes; read it back then
				continue
			}
			m.setLocked(t, op.Path, v)
		case cluster.OpDelete:
			m.deleteLocked(t, op.Path)
		}
	}
}

// setLocked stores v at p and stamps the change.
func (m *Mirror) setLocked(t *table, p string, v any) {
	m.bumpLocked(t, p)
	l := m.leaves[p]
	if l == nil {
		l = &leaf{}
		m.leaves[p] = l
		if t.depth > 0 {
			m.addKidLocked(t, p)
		}
	}
	l.val, l.changed = v, m.epoch
}

func (m *Mirror) deleteLocked(t *table, p string) {
	m.bumpLocked(t, p)
	m.gone[p] = m.epoch
	if _, ok := m.leaves[p]; !ok {
		return
	}
	delete(m.leaves, p)
	if t.depth == 0 {
		return
	}
	dir, name := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if d := m.dirs[dir]; d != nil {
		delete(d.kids, name)
		d.sorted = nil
	}
}

func (m *Mirror) addKidLocked(t *table, p string) {
	dir, name := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	d := m.dir(dir)
	if _, ok := d.kids[name]; !ok {
		d.kids[name] = struct{}{}
		d.sorted = nil
	}
	if t.depth == 2 {
		top := m.dir(t.dir)
		sub := path.Base(dir)
		if _, ok := top.kids[sub]; !ok {
			top.kids[sub] = struct{}{}
			top.sorted = nil
		}
	}
}

func (m *Mirror) dir(p string) *dirNode {
	d := m.dirs[p]
	if d == nil {
		d = &dirNode{kids: map[string]struct{}{}}
		m.dirs[p] = d
	}
	return d
}

// bumpLocked starts a new epoch for a change at p and drops what is derived
// from it.
func (m *Mirror) bumpLocked(t *table, p string) {
	m.epoch++
	if t.agents {
		m.agentsCache = nil
	}
	if t.tasks {
		rest := strings.TrimPrefix(p, t.dir+"/")
		sub, _, _ := strings.Cut(rest, "/")
		delete(m.tasksCache, sub)
		m.allTasks = nil
	}
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *Mirror) end() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endLocked()
}

func (m *Mirror) endLocked() {
	m.inflight--
	if m.inflight == 0 {
		clear(m.gone) // no read that started before a deletion is left
	}
}

// newerThan reports whether p changed in the mirror after start: a read
// that started at start is out of date for p.
func (m *Mirror) newerThan(p string, start uint64) bool {
	if l := m.leaves[p]; l != nil && l.changed > start {
		return true
	}
	return m.gone[p] > start
}
