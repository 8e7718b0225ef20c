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
