package mirror_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/cluster/mirror"
)

func TestMirrorEqualsStoreInMemory(t *testing.T) {
	for seed := range uint64(8) {
		tree := memstore.New()
		leader := tree.Client()
		runScenario(t, seed, 10, 30, tree.Client(), leader, leader.Expire)
	}
}

// A mirror whose session was lost refuses to answer until it resynced, and
// then shows what changed while it was deaf.
func TestLostWatchesMakeTheMirrorStaleUntilResynced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tree := memstore.New()
	leader, agents := tree.Client(), tree.Client()
	// Run never starts here, so no resync happens behind the test's back
	// except the ones it asks for.
	m := mirror.New(leader, mirror.Options{ResyncEvery: time.Hour})
	if _, err := m.Snapshot(); err != mirror.ErrStale {
		t.Fatalf("an unfilled mirror answered: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFresh(t, m)
	st := cluster.NewState(agents)
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1"}); err != nil {
		t.Fatal(err)
	}
	waitEqual(t, m, st, "after registering")
	m.Invalidate()
	if _, err := m.Snapshot(); err != mirror.ErrStale {
		t.Fatalf("an invalidated mirror answered: %v", err)
	}
	waitFresh(t, m) // Run resyncs by itself
	leader.Expire()
	waitFresh(t, m)
	waitEqual(t, m, st, "after the session was lost")
}

func waitFresh(t *testing.T, m *mirror.Mirror) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !m.Fresh() {
		if time.Now().After(deadline) {
			t.Fatal("the mirror did not resync")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A mirror that holds something the store does not (a change its watches
// missed) is corrected by a resync, which counts it as drift.
func TestResyncCountsAndRepairsDrift(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tree := memstore.New()
	leader := tree.Client()
	var reasons []string
	var drift int
	m := mirror.New(leader, mirror.Options{ResyncEvery: time.Hour,
		OnResync: func(reason string, n int) { reasons, drift = append(reasons, reason), drift+n }})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFresh(t, m)
	var b cluster.Batch
	b.PutDeployment(cluster.Deployment{ID: "/ghost"})
	b.SetAppliedCommit(cluster.AppliedCommit{Commit: "never-written"})
	m.Apply(b.Ops()) // as if written, but never committed
	n, err := m.Resync(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("resync found %d nodes of drift, want 2", n)
	}
	waitEqual(t, m, cluster.NewState(leader), "after the resync")
	if len(reasons) < 2 || reasons[len(reasons)-1] != "test" || drift != 2 {
		t.Fatalf("OnResync saw %v with drift %d", reasons, drift)
	}
}
