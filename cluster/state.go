package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"

	"golang.org/x/sync/errgroup"
)

// State is the typed view of the cluster state over a raw Store: what agents
// and the leader read and write. It holds no state of its own, so any number
// of them may share one Store.
type State struct {
	store Store
}

// NewState wraps s.
func NewState(s Store) *State { return &State{store: s} }

// Store returns the raw store underneath.
func (st *State) Store() Store { return st.store }

// Versioned is a value with the store version a conditional write must name.
type Versioned[T any] struct {
	Value   T
	Version int32
}

// RegisterAgent records a (persistent) and marks it live with an ephemeral
// node that disappears when the agent's session expires, which is how the
// leader learns an agent was lost. The store re-creates the live node after a
// new session, so an agent that comes back is live again by itself.
// A registration that finds the live node of the agent's previous run waits
// for that run's session to expire (registerLive).
func (st *State) RegisterAgent(ctx context.Context, a Agent) (Registration, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("register agent %s: %w", a.ID, err)
	}
	if err := st.store.Multi(ctx, Put(agentPath(a.ID), data)); err != nil {
		return nil, fmt.Errorf("register agent %s: write record: %w", a.ID, err)
	}
	// The agent's own directories exist before anyone watches them.
	for _, dir := range []string{assignmentsDir(a.ID), statusesDir(a.ID)} {
		if err := ensure(ctx, st.store, dir); err != nil {
			return nil, fmt.Errorf("register agent %s: %w", a.ID, err)
		}
	}
	// An agent started again within its session timeout finds the live
	// node of its previous run: it waits for it to go, as a server does.
	reg, err := st.registerLive(ctx, livePath(a.ID), data)
	if err != nil {
		return nil, fmt.Errorf("register agent %s: live node: %w", a.ID, err)
	}
	return reg, nil
}

// ensure creates dir (and its parents) unless it exists.
func ensure(ctx context.Context, s interface {
	Multi(context.Context, ...Op) error
}, dir string) error {
	err := s.Multi(ctx, Create(dir, nil))
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// Agents lists every agent that ever registered, with Reachable set from
// whether its session is live now.
func (st *State) Agents(ctx context.Context) ([]Agent, error) {
	names, err := children(ctx, st.store, dirAgents)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	live, err := children(ctx, st.store, dirLive)
	if err != nil {
		return nil, fmt.Errorf("list live agents: %w", err)
	}
	isLive := make(map[string]bool, len(live))
	for _, n := range live {
		isLive[n] = true
	}
	agents := make([]Agent, 0, len(names))
	for _, n := range names {
		var a Agent
		if _, err := getJSON(ctx, st.store, join(dirAgents, n), &a); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // removed while listing
			}
			return nil, fmt.Errorf("read agent: %w", err)
		}
		a.Reachable = isLive[n]
		agents = append(agents, a)
	}
	return agents, nil
}

// WatchAgents fires when an agent becomes live or is lost.
func (st *State) WatchAgents(ctx context.Context) (<-chan Event, error) {
	if err := ensure(ctx, st.store, dirLive); err != nil {
		return nil, err
	}
	return st.store.Watch(ctx, dirLive)
}

// Assignments reads the assignments of one agent, sorted by task id.
func (st *State) Assignments(ctx context.Context, agentID string) ([]Versioned[Assignment], error) {
	return listJSON[Assignment](ctx, st.store, assignmentsDir(agentID))
}

// WatchAssignments sends the full set of agentID's assignments now and after
// every change, until ctx is done; the channel is then closed. Sets can be
// skipped if the reader is slow, never reordered: the agent always sees the
// latest. Errors reading are reported on errs and retried after the next
// change or a second, whichever is first.
//
// Each change re-reads every assignment of the agent, which is fine for the
// simulated agents of tests; the real agent follows its assignments
// incrementally with mirror.ForAgent (agent.StateCluster).
func (st *State) WatchAssignments(ctx context.Context, agentID string, errs func(error)) <-chan []Assignment {
	out := make(chan []Assignment, 1)
	dir := assignmentsDir(agentID)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			wctx, cancel := context.WithCancel(ctx)
			changed, list, err := st.watchAssignmentsOnce(wctx, dir)
			if err == nil {
				set := make([]Assignment, len(list))
				for i, v := range list {
					set[i] = v.Value
				}
				// Replace an unread set: only the latest matters.
				select {
				case <-out:
				default:
				}
				out <- set
			} else {
				if errs != nil && ctx.Err() == nil {
					errs(fmt.Errorf("watch assignments of %s: %w", agentID, err))
				}
				changed = nil
			}
			more := waitChange(ctx, changed)
			cancel() // drops the watches that did not fire
			if !more {
				return
			}
		}
	}()
	return out
}

// watchAssignmentsOnce watches dir and every assignment in it, then reads
// them: a directory watch fires on added and removed children only, and a
// changed assignment (a kill request) changes a child's data. Watching before
// reading means no change is missed. The watches live until ctx ends.
func (st *State) watchAssignmentsOnce(ctx context.Context, dir string) (<-chan Event, []Versioned[Assignment], error) {
	dirWatch, err := st.store.Watch(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	names, err := children(ctx, st.store, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", dir, err)
	}
	chans := []<-chan Event{dirWatch}
	for _, n := range names {
		ch, err := st.store.Watch(ctx, join(dir, n))
		if err != nil {
			return nil, nil, err
		}
		chans = append(chans, ch)
	}
	list := make([]Versioned[Assignment], 0, len(names))
	for _, n := range names {
		var a Assignment
		ver, err := getJSON(ctx, st.store, join(dir, n), &a)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while listing: its watch has fired
		}
		if err != nil {
			return nil, nil, err
		}
		list = append(list, Versioned[Assignment]{Value: a, Version: ver})
	}
	return firstOf(ctx, chans), list, nil
}

// firstOf merges watches into one channel that delivers the first event of
// any of them; its goroutines end with ctx.
func firstOf(ctx context.Context, chans []<-chan Event) <-chan Event {
	if len(chans) == 1 {
		return chans[0]
	}
	merged := make(chan Event, 1)
	for _, ch := range chans {
		go func() {
			select {
			case ev, ok := <-ch:
				if ok {
					select {
					case merged <- ev:
					default:
					}
				}
			case <-ctx.Done():
			}
		}()
	}
	return merged
}

// waitChange blocks until changed fires, or a retry delay when it is nil.
func waitChange(ctx context.Context, changed <-chan Event) bool {
	if changed == nil {
		t := newTimer()
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	select {
	case <-ctx.Done():
		return false
	case <-changed:
		return true
	}
}

// PutStatuses writes task statuses, grouped under their agents, in as few
// transactions as fit ZooKeeper's request limit. Agents own their statuses,
// so the writes are unconditional and unfenced.
func (st *State) PutStatuses(ctx context.Context, statuses ...TaskStatus) error {
	ops := make([]Op, 0, len(statuses))
	for _, s := range statuses {
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("write status of task %s: %w", s.TaskID, err)
		}
		ops = append(ops, Put(statusPath(s.AgentID, s.TaskID), data))
	}
	for _, b := range SplitBatches(ops, nil, 0) {
		if err := st.store.Multi(ctx, b...); err != nil {
			return fmt.Errorf("write %d task statuses: %w", len(b), err)
		}
	}
	return nil
}

// DeleteStatus removes a task's status (after its assignment is gone).
func (st *State) DeleteStatus(ctx context.Context, agentID, taskID string) error {
	err := st.store.Multi(ctx, Delete(statusPath(agentID, taskID), AnyVersion))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete status of task %s: %w", taskID, err)
	}
	return nil
}

// Statuses reads the statuses one agent reported.
func (st *State) Statuses(ctx context.Context, agentID string) ([]TaskStatus, error) {
	list, err := listJSON[TaskStatus](ctx, st.store, statusesDir(agentID))
	if err != nil {
		return nil, err
	}
	out := make([]TaskStatus, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	return out, nil
}

// Tasks joins every assignment with its status, over all agents, sorted by
// agent then task id. A task with no status yet has State STAGING.
func (st *State) Tasks(ctx context.Context) ([]Task, error) {
	agents, err := children(ctx, st.store, dirAssignments)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	perAgent := make([][]Task, len(agents))
	ids := make([]string, len(agents))
	for i, n := range agents {
		if ids[i], err = url.PathUnescape(n); err != nil {
			return nil, fmt.Errorf("list tasks: agent node %q: %w", n, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	// A few agents at once, each listing with readParallel reads in flight.
	g.SetLimit(4)
	for i, agentID := range ids {
		g.Go(func() error {
			tasks, err := st.agentTasks(gctx, agentID)
			perAgent[i] = tasks
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var tasks []Task
	for _, ts := range perAgent {
		tasks = append(tasks, ts...)
	}
	return tasks, nil
}

func (st *State) agentTasks(ctx context.Context, agentID string) ([]Task, error) {
	as, err := st.Assignments(ctx, agentID)
	if err != nil {
		return nil, err
	}
	ss, err := st.Statuses(ctx, agentID)
	if err != nil {
		return nil, err
	}
	byTask := make(map[string]TaskStatus, len(ss))
	for _, s := range ss {
		byTask[s.TaskID] = s
	}
	tasks := make([]Task, 0, len(as))
	for _, a := range as {
		s, ok := byTask[a.Value.TaskID]
		if !ok {
			s = TaskStatus{TaskID: a.Value.TaskID, AgentID: agentID, State: TaskStaging}
		}
		tasks = append(tasks, Task{Assignment: a.Value, Status: s})
	}
	return tasks, nil
}

// ServicePorts reads every service port held.
func (st *State) ServicePorts(ctx context.Context) ([]ServicePort, error) {
	list, err := listJSON[ServicePort](ctx, st.store, dirPorts)
	if err != nil {
		return nil, err
	}
	out := make([]ServicePort, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

// AppliedCommit reads the commit the cluster was last converged to; the zero
// value and no error if none was applied yet.
func (st *State) AppliedCommit(ctx context.Context) (AppliedCommit, error) {
	var c AppliedCommit
	_, err := getJSON(ctx, st.store, nodeCommit, &c)
	if errors.Is(err, ErrNotFound) {
		return AppliedCommit{}, nil
	}
	return c, err
}

// Deployments reads the deployments in progress.
func (st *State) Deployments(ctx context.Context) ([]Deployment, error) {
	list, err := listJSON[Deployment](ctx, st.store, dirDeployments)
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	return out, nil
}

// Launches reads every app's launch-failure history, by app id.
func (st *State) Launches(ctx context.Context) (map[string]LaunchHistory, error) {
	list, err := listJSON[LaunchHistory](ctx, st.store, dirLaunches)
	if err != nil {
		return nil, err
	}
	out := make(map[string]LaunchHistory, len(list))
	for _, v := range list {
		out[v.Value.AppID] = v.Value
	}
	return out, nil
}

// LostAgents reads since when each lost agent has been lost, by agent id.
func (st *State) LostAgents(ctx context.Context) (map[string]AgentLost, error) {
	list, err := listJSON[AgentLost](ctx, st.store, dirLost)
	if err != nil {
		return nil, err
	}
	out := make(map[string]AgentLost, len(list))
	for _, v := range list {
		out[v.Value.AgentID] = v.Value
	}
	return out, nil
}

// JobRuns reads the recorded runs of one job, sorted by run id.
func (st *State) JobRuns(ctx context.Context, job string) ([]JobRun, error) {
	list, err := listJSON[JobRun](ctx, st.store, jobRunsDir(job))
	if err != nil {
		return nil, err
	}
	out := make([]JobRun, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	return out, nil
}

// JobStates reads the scheduler's memory of every job, by job name.
func (st *State) JobStates(ctx context.Context) (map[string]JobState, error) {
	list, err := listJSON[JobState](ctx, st.store, dirJobs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]JobState, len(list))
	for _, v := range list {
		out[v.Value.Job] = v.Value
	}
	return out, nil
}

// JobNames lists the jobs that have recorded runs.
func (st *State) JobNames(ctx context.Context) ([]string, error) {
	names, err := children(ctx, st.store, dirJobRuns)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		if u, err := url.PathUnescape(n); err == nil {
			names[i] = u
		}
	}
	return names, nil
}

// children lists a directory, treating a missing one as empty.
func children(ctx context.Context, s Store, dir string) ([]string, error) {
	names, err := s.Children(ctx, dir)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return names, err
}

func getJSON(ctx context.Context, s Store, p string, v any) (int32, error) {
	n, err := s.Get(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(n.Data, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", p, err)
	}
	return n.Version, nil
}

// readParallel bounds the reads listJSON keeps in flight: the ZooKeeper
// client pipelines them over one connection, so listing thousands of nodes
// costs a few round trips instead of one each.
const readParallel = 64

func listJSON[T any](ctx context.Context, s Store, dir string) ([]Versioned[T], error) {
	names, err := children(ctx, s, dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	vals := make([]Versioned[T], len(names))
	found := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallel)
	for i, n := range names {
		g.Go(func() error {
			var v T
			ver, err := getJSON(gctx, s, join(dir, n), &v)
			if errors.Is(err, ErrNotFound) {
				return nil // deleted while listing
			}
			if err != nil {
				return err
			}
			vals[i], found[i] = Versioned[T]{Value: v, Version: ver}, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := vals[:0]
	for i, v := range vals {
		if found[i] {
			out = append(out, v)
		}
	}
	return out, nil
}
