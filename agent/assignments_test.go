package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// follower keeps the latest set an agent's assignment watch sent.
type follower struct {
	mu     sync.Mutex
	latest []cluster.Assignment
	sets   int
	done   chan struct{}
}

func follow(ctx context.Context, t *testing.T, sc *StateCluster, agentID string) *follower {
	t.Helper()
	watch, err := sc.WatchAssignments(ctx, agentID)
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for set := range watch {
			f.mu.Lock()
			f.latest, f.sets = set, f.sets+1
			f.mu.Unlock()
		}
	}()
	return f
}

// waitEqual waits until the agent's view equals a fresh read of its
// assignment directory: watches deliver changes asynchronously, so equality
// is eventual (the test has no timed assertion; the deadline only ends a
// hung run).
func (f *follower) waitEqual(t *testing.T, st *cluster.State, agentID, what string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		vs, err := st.Assignments(ctx, agentID)
		if err != nil {
			t.Fatalf("%s: fresh read: %v", what, err)
		}
		want := make([]cluster.Assignment, len(vs))
		for i, v := range vs {
			want[i] = v.Value
		}
		f.mu.Lock()
		got, sets := f.latest, f.sets
		f.mu.Unlock()
		diff := cmp.Diff(want, got, cmpopts.EquateEmpty())
		if sets > 0 && diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the agent's assignments differ from the store (-store +agent):\n%s", what, diff)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assignmentScenario writes random assignments for two agents (adds,
// changes such as a kill request, deletes, a burst of deletes), with
// cut-offs of the agent's own session (cut), and checks after each round
// that agent "a1"'s view equals a fresh read. It returns the drift the
// agent's resyncs reported.
func assignmentScenario(t *testing.T, seed uint64, rounds, steps int, writer, agentStore cluster.Store, cut func(round int)) int {
	ctx, cancel := context.WithCancel(context.Background())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	var mu sync.Mutex
	drift := 0
	sc := &StateCluster{State: cluster.NewState(agentStore), ResyncEvery: time.Hour,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		OnResync: func(_ string, n int) { mu.Lock(); drift += n; mu.Unlock() }}
	if err := sc.RegisterAgent(ctx, cluster.Agent{ID: "a1", Address: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	f := follow(ctx, t, sc, "a1")
	defer func() { cancel(); <-f.done }()
	fresh := cluster.NewState(writer)
	tasks := map[string]string{} // task -> agent
	for r := range rounds {
		for range steps {
			var b cluster.Batch
			n := rng.IntN(60)
			task := fmt.Sprintf("web.t%d", n)
			agentID := []string{"a1", "a1", "a2"}[rng.IntN(3)]
			switch old, ok := tasks[task]; {
			case ok && rng.IntN(3) == 0: // a kill request or a new version, in place
				b.PutAssignment(cluster.Assignment{TaskID: task, AgentID: old, OwnerID: "/web",
					Version: fmt.Sprint(rng.IntN(5)), Kill: rng.IntN(2) == 0})
			case ok:
				b.DeleteAssignment(old, task, cluster.AnyVersion)
				delete(tasks, task)
			case rng.IntN(10) == 0: // a burst: everything of a1 goes
				for tk, ag := range tasks {
					if ag == "a1" {
						b.DeleteAssignment(ag, tk, cluster.AnyVersion)
						delete(tasks, tk)
					}
				}
			default:
				b.PutAssignment(cluster.Assignment{TaskID: task, AgentID: agentID, OwnerID: "/web", Version: "1",
					Spec: cluster.TaskSpec{Image: "img", Env: map[string]string{"N": fmt.Sprint(n)}}})
				tasks[task] = agentID
			}
			if ops := b.Ops(); len(ops) > 0 {
				if err := writer.Multi(ctx, ops...); err != nil {
					t.Fatal(err)
				}
			}
		}
		if cut != nil && rng.IntN(2) == 0 {
			cut(r)
		}
		f.waitEqual(t, fresh, "a1", fmt.Sprintf("round %d", r))
	}
	mu.Lock()
	defer mu.Unlock()
	return drift
}

func TestAgentAssignmentsEqualStoreInMemory(t *testing.T) {
	for seed := range uint64(6) {
		tree := memstore.New()
		agentStore := tree.Client()
		assignmentScenario(t, seed, 8, 25, tree.Client(), agentStore, func(int) { agentStore.Expire() })
	}
}

// The agent's view of its assignments equals a fresh read of a real
// ZooKeeper after random writes and deletes, connection cut-offs its
// session survives (watches carry over) and expiries of its session
// (watches lost: a full re-read repairs what was missed).
func TestAgentAssignmentsEqualZooKeeper(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	const session = 2 * time.Second
	open := func(addr, chroot string) *zkstore.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := zkstore.Open(ctx, zkstore.Config{Servers: []string{addr}, Chroot: chroot},
			zkstore.Options{SessionTimeout: session})
		if err != nil {
			t.Fatalf("open zkstore: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	for seed := range uint64(2) {
		chroot := fmt.Sprintf("/agent-assign-%d", seed)
		writer := open(zk.Addrs()[0], chroot)
		px := zk.Proxy(t, 0)
		agentStore := open(px.Addr(), chroot)
		drift := assignmentScenario(t, seed, 6, 20, writer, agentStore, func(r int) {
			if r%2 == 0 {
				t.Logf("round %d: cut-off shorter than the session", r)
				px.Block()
				time.Sleep(session / 4)
				px.Unblock()
				return
			}
			t.Logf("round %d: session expiry", r)
			sess := agentStore.Session()
			px.Block()
			// Writes while the agent is cut off are what its lost
			// watches miss.
			var b cluster.Batch
			b.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("web.deaf%d", r), AgentID: "a1", OwnerID: "/web"})
			if err := writer.Multi(context.Background(), b.Ops()...); err != nil && !errors.Is(err, cluster.ErrExists) {
				t.Fatal(err)
			}
			time.Sleep(session + 3*testenv.TickTime)
			px.Unblock()
			select {
			case <-sess:
			case <-time.After(4 * session):
				t.Fatalf("the agent's client did not learn its session expired")
			}
		})
		t.Logf("seed %d: drift repaired by resyncs: %d", seed, drift)
	}
}
