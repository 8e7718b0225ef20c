package reconciler

import (
	"context"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
)

// A leader whose cache lost its watches (or is unsure after a failed
// commit) reads the store again before it decides: the pass's input is the
// store's, not what the cache held.
func TestStaleCacheIsResyncedBeforeDeciding(t *testing.T) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1", Hostname: "a1"}); err != nil {
		t.Fatal(err)
	}
	r := New(Config{Branch: "main"}, staticSource{}, st)
	stop := r.startMirror(ctx)
	defer stop()
	set := &manifests.Set{}
	in, err := r.input(ctx, set, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Agents) != 1 || !in.Agents[0].Reachable {
		t.Fatalf("agents %+v, want a1 live", in.Agents)
	}
	// The cache holds what the store does not (as if it missed events),
	// then learns its watches are gone.
	var b cluster.Batch
	b.PutDeployment(cluster.Deployment{ID: "/ghost"})
	b.SetAppliedCommit(cluster.AppliedCommit{Commit: "ghost"})
	m := r.Mirror()
	m.Apply(b.Ops())
	m.Invalidate()
	in, err = r.input(ctx, set, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Deployments["/ghost"]; ok || in.Applied == "ghost" {
		t.Fatalf("the pass decided on the stale cache: deployments %v, applied %q", in.Deployments, in.Applied)
	}
}

// GET /v1/diff and /v1/observed plan against Reconciler.Snapshot: while the
// replica leads it is the leader's cache, not a read of the store (here
// the cache holds a deployment the store does not, so the snapshot shows
// where it came from); a replica that does not lead reads the store.
func TestSnapshotReadsTheCacheWhileLeading(t *testing.T) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1", Hostname: "a1"}); err != nil {
		t.Fatal(err)
	}
	var task cluster.Batch
	task.PutAssignment(cluster.Assignment{TaskID: "web.1", AgentID: "a1", OwnerID: "/web"})
	if err := st.Store().Multi(ctx, task.Ops()...); err != nil {
		t.Fatal(err)
	}
	r := New(Config{Branch: "main"}, staticSource{}, st)
	stop := r.startMirror(ctx)
	var b cluster.Batch
	b.PutDeployment(cluster.Deployment{ID: "/cached-only"})
	m := r.Mirror()
	if err := m.WaitFresh(ctx); err != nil {
		t.Fatal(err)
	}
	m.Apply(b.Ops())
	snap, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Deployments["/cached-only"]; !ok || len(snap.Agents) != 1 || !snap.Agents[0].Reachable ||
		len(snap.Tasks) != 1 || snap.Tasks[0].TaskID != "web.1" {
		t.Fatalf("leading: snapshot deployments %v, agents %+v, tasks %+v: want the cache's", snap.Deployments, snap.Agents, snap.Tasks)
	}
	stop()
	snap, err = r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Deployments["/cached-only"]; ok || len(snap.Agents) != 1 || len(snap.Tasks) != 1 {
		t.Fatalf("not leading: snapshot deployments %v, agents %+v, tasks %+v: want the store's", snap.Deployments, snap.Agents, snap.Tasks)
	}
}
