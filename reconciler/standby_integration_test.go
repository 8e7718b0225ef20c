package reconciler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/testenv"
)

// resyncs records why a replica's cache re-read the whole cluster.
type resyncs struct {
	reconciler.Observer
	mu      sync.Mutex
	reasons []string
}

func (r *resyncs) CacheResync(reason string, drift int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
	r.Observer.CacheResync(reason, drift)
}

func (r *resyncs) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reasons)
}

// A follower keeps its cache filled (Standby); when the leader is cut off,
// it takes that cache over: its first pass does not wait for a full read
// of the cluster (one runs in the background, reason "asked"), and it
// decides what the old leader left, restarting nothing.
func TestNewLeaderTakesOverItsStandbyCache(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := &jobsCluster{t: t, ctx: ctx, zk: zk, chroot: "/standby-" + testenv.UniqueID(t)}
	c.obs = cluster.NewState(c.open(zk.Addrs()[0]))
	t.Cleanup(c.wg.Wait)

	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{
		"apps/web.yaml": "kind: App\nid: /web\ninstances: 3\ncpus: 0.1\nmem: 16\ncmd: serve\n",
	}, "web")
	c.scriptedAgent("steady", zk.Addrs()[0], cluster.TaskRunning)

	obs := map[string]*resyncs{}
	proxies := map[string]*testenv.ZKProxy{}
	for _, id := range []string{"s1", "s2"} {
		obs[id] = &resyncs{Observer: metrics.New(prometheus.NewRegistry())}
		proxies[id] = zk.Proxy(t, 0)
	}
	c.serveObserved("s1", c.open(proxies["s1"].Addr()), repo.FileURL(), obs["s1"])
	var first string
	c.waitFor("a leader", func() bool { first, _ = c.obs.Leader(ctx); return first != "" })
	other := map[string]string{"s1": "s2", "s2": "s1"}[first]
	c.serveObserved(other, c.open(proxies[other].Addr()), repo.FileURL(), obs[other])
	c.waitFor("/web running 3 instances", func() bool { return liveTasks(ctx, c.obs, "/web") == 3 })
	before := taskIDs(ctx, t, c.obs)
	c.waitFor("the follower's standby cache filled", func() bool { return slices.Contains(obs[other].list(), "start") })

	proxies[first].Block()
	c.waitFor("the follower to lead", func() bool { l, _ := c.obs.Leader(ctx); return l == other })
	c.waitFor("the new leader's background resync", func() bool { return slices.Contains(obs[other].list(), "asked") })
	// A few passes of the new term.
	time.Sleep(time.Second)
	if after := taskIDs(ctx, t, c.obs); !slices.Equal(before, after) {
		t.Fatalf("the new leader changed the tasks: before %v, after %v", before, after)
	}
	reasons := obs[other].list()
	starts := 0
	for _, r := range reasons {
		if r == "start" {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("the new leader filled a cache %d times (resyncs %v); it should have taken over its standby's", starts, reasons)
	}
	t.Logf("new leader's resyncs: %v", reasons)
}

func taskIDs(ctx context.Context, t *testing.T, st *cluster.State) []string {
	t.Helper()
	tasks, err := st.Tasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tk := range tasks {
		if !tk.Status.State.Terminal() {
			ids = append(ids, tk.TaskID)
		}
	}
	slices.Sort(ids)
	return ids
}
