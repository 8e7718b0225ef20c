package reconciler

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// The loop's timers run on the clock of a synctest bubble, so its timing is
// tested without sleeping: a crash-looping app with a 30 s backoff is
// relaunched when the backoff ends (the decision's RequeueAt), not a moment
// before and not at the next 7 s resync after it.
func TestLoopWakesWhenTheBackoffEnds(t *testing.T) {
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/crash.yaml": "kind: App\nid: /crash\ninstances: 1\ncpus: 0.1\nmem: 16\ncmd: crash\nbackoffSeconds: 30\nbackoffFactor: 1\n"}, "crash loop")
	cache := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		tree := memstore.New()
		agentSession, serverSession := tree.Client(), tree.Client()
		st := cluster.NewState(agentSession)
		launched := crashingAgent(ctx, t, st, "a1")
		lead, err := serverSession.Campaign(ctx, "/leader", "s1")
		if err != nil {
			t.Fatal(err)
		}
		src, err := OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		r := New(Config{Branch: "main", Poll: time.Hour, Resync: 7 * time.Second, Pass: decide.Options{Prune: true}}, src, st)
		ran := make(chan struct{})
		go func() { _ = r.Run(ctx, lead); close(ran) }()
		// Everything in the bubble must end before it does.
		defer func() {
			cancel()
			<-ran
			_ = lead.Resign(context.Background())
			serverSession.Close()
			agentSession.Close()
			src.(interface{ Close() error }).Close()
		}()

		launches := func() int {
			synctest.Wait()
			return launched()
		}
		time.Sleep(time.Second)
		first := launches()
		if first < 1 {
			t.Fatalf("no launch after the first pass: %+v", r.Status())
		}
		time.Sleep(28 * time.Second)
		if n := launches(); n != first {
			t.Fatalf("relaunched inside the 30 s backoff (%d launches, was %d)", n, first)
		}
		time.Sleep(3 * time.Second)
		if n := launches(); n <= first {
			t.Fatalf("not relaunched once the backoff ended (%d launches): the loop waits for its next resync (35 s)", n)
		}
	})
}

// crashingAgent registers id and reports every task assigned to it FAILED;
// the returned function counts the tasks it was given.
func crashingAgent(ctx context.Context, t *testing.T, st *cluster.State, id string) func() int {
	a := cluster.Agent{ID: id, Hostname: id, Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 2048, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}}
	if _, err := st.RegisterAgent(ctx, a); err != nil {
		t.Fatalf("register agent: %v", err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	go func() {
		for set := range st.WatchAssignments(ctx, id, func(error) {}) {
			var sts []cluster.TaskStatus
			for _, as := range set {
				mu.Lock()
				seen[as.TaskID] = true
				mu.Unlock()
				state := cluster.TaskFailed
				if as.Kill {
					state = cluster.TaskKilled
				}
				sts = append(sts, cluster.TaskStatus{TaskID: as.TaskID, AgentID: id, State: state, UpdatedAt: time.Now()})
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}
