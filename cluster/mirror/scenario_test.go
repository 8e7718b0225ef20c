package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/manifests"
)

// freshRead reads what the mirror follows straight from the store, the way
// a reconcile pass read it before the mirror existed.
func freshRead(ctx context.Context, st *cluster.State) (mirror.Snapshot, error) {
	var s mirror.Snapshot
	var err error
	if s.Agents, err = st.Agents(ctx); err != nil {
		return s, err
	}
	tasks, err := st.Tasks(ctx)
	if err != nil {
		return s, err
	}
	s.TaskParts = [][]cluster.Task{tasks}
	if s.ServicePorts, err = st.ServicePorts(ctx); err != nil {
		return s, err
	}
	if s.Templates, err = st.Templates(ctx); err != nil {
		return s, err
	}
	if s.Applied, err = st.AppliedCommit(ctx); err != nil {
		return s, err
	}
	if s.Launches, err = st.Launches(ctx); err != nil {
		return s, err
	}
	if s.Lost, err = st.LostAgents(ctx); err != nil {
		return s, err
	}
	if s.Residences, err = st.Residences(ctx); err != nil {
		return s, err
	}
	deps, err := st.Deployments(ctx)
	if err != nil {
		return s, err
	}
	s.Deployments = map[string]cluster.Deployment{}
	for _, d := range deps {
		s.Deployments[d.ID] = d
	}
	return s, nil
}

// Parts are compared joined: how the tasks are split is the mirror's own.
var snapshotCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(mirror.Snapshot{}, "Epoch"),
	cmp.Transformer("joined", func(parts [][]cluster.Task) []cluster.Task { return mirror.Snapshot{TaskParts: parts}.AllTasks() }),
	cmpopts.IgnoreUnexported(manifests.Template{})}

// waitEqual waits until the mirror equals a fresh read of the store; the
// watches deliver changes asynchronously, so equality is eventual.
func waitEqual(t *testing.T, m *mirror.Mirror, st *cluster.State, what string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		want, err := freshRead(ctx, st)
		if err != nil {
			t.Fatalf("%s: fresh read: %v", what, err)
		}
		got, err := m.Snapshot()
		if err == nil {
			diff := cmp.Diff(want, got, snapshotCmp...)
			if diff == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the mirror differs from the store (-store +mirror):\n%s", what, diff)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: mirror: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// world is a scenario's cluster: agent sessions writing what agents write,
// and the leader's session the mirror follows, writing what the leader
// writes and telling the mirror (Apply).
type world struct {
	rng    *rand.Rand
	agents cluster.Store // the agents' session
	leader cluster.Store // the mirror's (leader's) session
	m      *mirror.Mirror
	regs   map[string]cluster.Registration
	tasks  map[string]string // task -> agent
	ports  map[int]bool
}

func (w *world) agentID() string { return fmt.Sprintf("agent/%d", w.rng.IntN(4)) }

// agentStep is a random write an agent makes.
func (w *world) agentStep(ctx context.Context, t *testing.T) {
	st := cluster.NewState(w.agents)
	id := w.agentID()
	switch w.rng.IntN(4) {
	case 0: // register, or lose the live node
		if r, ok := w.regs[id]; ok {
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			delete(w.regs, id)
			return
		}
		r, err := st.RegisterAgent(ctx, cluster.Agent{ID: id, Hostname: id, Resources: cluster.Resources{CPUs: float64(w.rng.IntN(8))}})
		if err != nil {
			t.Fatal(err)
		}
		w.regs[id] = r
	default: // a status of a task, in place or new, or gone
		for task, agent := range w.tasks {
			if w.rng.IntN(5) == 0 {
				if err := st.DeleteStatus(ctx, agent, task); err != nil {
					t.Fatal(err)
				}
				return
			}
			states := []cluster.TaskState{cluster.TaskStarting, cluster.TaskRunning, cluster.TaskFailed}
			s := cluster.TaskStatus{TaskID: task, AgentID: agent, State: states[w.rng.IntN(len(states))],
				Message: fmt.Sprint(w.rng.IntN(1000))}
			if err := st.PutStatuses(ctx, s); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// leaderStep is a random fenced-style write the leader makes; the mirror
// must show it as soon as it is applied.
func (w *world) leaderStep(ctx context.Context, t *testing.T) {
	var b cluster.Batch
	n := w.rng.IntN(1000)
	var check func(mirror.Snapshot) bool
	switch w.rng.IntN(8) {
	case 0, 1, 2:
		task := fmt.Sprintf("app.t%d", n)
		agent := w.agentID()
		if old, ok := w.tasks[task]; ok {
			b.DeleteAssignment(old, task, cluster.AnyVersion)
			delete(w.tasks, task)
			check = func(s mirror.Snapshot) bool {
				for _, tk := range s.AllTasks() {
					if tk.TaskID == task {
						return false
					}
				}
				return true
			}
			break
		}
		a := cluster.Assignment{TaskID: task, Owner: cluster.OwnerApp, OwnerID: "/app", AgentID: agent,
			Version: fmt.Sprint(n), Spec: cluster.TaskSpec{Image: "img", Env: map[string]string{"N": fmt.Sprint(n)}}}
		b.PutAssignment(a)
		w.tasks[task] = agent
		check = func(s mirror.Snapshot) bool {
			for _, tk := range s.AllTasks() {
				if tk.TaskID == task {
					return tk.Version == a.Version
				}
			}
			return false
		}
	case 3:
		p := 10000 + n%20
		if w.ports[p] {
			b.DeleteServicePort(p)
		} else {
			b.PutServicePort(cluster.ServicePort{Port: p, AppID: "/app"})
		}
		w.ports[p] = !w.ports[p]
	case 4:
		b.PutDeployment(cluster.Deployment{ID: fmt.Sprintf("/app%d", n%5), Step: n})
		if n%2 == 0 {
			b.DeleteDeployment(fmt.Sprintf("/app%d", (n+1)%5))
		}
	case 5:
		b.PutLaunches(cluster.LaunchHistory{AppID: fmt.Sprintf("/app%d", n%5), Failures: n})
		b.PutAgentLost(cluster.AgentLost{AgentID: w.agentID(), Since: time.Unix(int64(n), 0).UTC()})
		b.PutResidence(cluster.Residence{AppID: fmt.Sprintf("/db%d", n%3), Slots: []cluster.ResidentSlot{{ID: fmt.Sprint(n), AgentID: w.agentID()}}})
		if n%4 == 0 {
			b.DeleteResidence(fmt.Sprintf("/db%d", (n+1)%3))
		}
	case 6:
		c := cluster.AppliedCommit{Commit: fmt.Sprintf("c%d", n)}
		b.SetAppliedCommit(c)
		check = func(s mirror.Snapshot) bool { return s.Applied.Commit == c.Commit }
	case 7:
		tmpl := manifests.Template{ID: fmt.Sprintf("/tmpl%d", n%3), Contents: fmt.Sprint(n)}
		b.PutTemplate(cluster.PublishTemplate(tmpl))
	}
	ops := b.Ops()
	if err := w.leader.Multi(ctx, ops...); err != nil {
		if errors.Is(err, cluster.ErrNotFound) {
			return // deleted something already gone: nothing written
		}
		t.Fatal(err)
	}
	w.m.Apply(ops)
	if check != nil {
		s, err := w.m.Snapshot()
		if errors.Is(err, mirror.ErrStale) {
			return // watches lost: the pass would resync first
		}
		if err != nil || !check(s) {
			t.Fatalf("the mirror does not show the leader's own write at once (err %v): %+v", err, ops)
		}
	}
}

// runScenario runs random writes from agents and the leader, with session
// losses of the mirror's own session (expire), checking after each round
// that the mirror equals a fresh read of the store.
func runScenario(t *testing.T, seed uint64, rounds, steps int, agents, leader cluster.Store, expire func()) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Logf("seed %d", seed)
	w := &world{rng: rand.New(rand.NewPCG(seed, 1)), agents: agents, leader: leader,
		regs: map[string]cluster.Registration{}, tasks: map[string]string{}, ports: map[int]bool{}}
	for _, dir := range cluster.TopDirs() {
		if err := leader.Multi(ctx, cluster.Create(dir, nil)); err != nil && !errors.Is(err, cluster.ErrExists) {
			t.Fatal(err)
		}
	}
	var drift int
	w.m = mirror.New(leader, mirror.Options{ResyncEvery: time.Hour, Workers: 4,
		OnResync: func(_ string, n int) { drift += n }})
	done := make(chan error, 1)
	go func() { done <- w.m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	fresh := cluster.NewState(agents)
	for r := range rounds {
		for range steps {
			if w.rng.IntN(2) == 0 {
				w.agentStep(ctx, t)
			} else {
				w.leaderStep(ctx, t)
			}
		}
		if expire != nil && w.rng.IntN(3) == 0 {
			expire()
		}
		t.Logf("round %d written", r)
		waitEqual(t, w.m, fresh, fmt.Sprintf("round %d", r))
	}
	// A resync of a mirror that is current finds nothing to correct.
	n, err := w.m.Resync(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("resync of a current mirror found %d nodes of drift", n)
	}
}
