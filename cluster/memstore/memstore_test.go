package memstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/cluster/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Namespace: func(t *testing.T) func() cluster.Store {
			tree := memstore.New()
			return func() cluster.Store { return tree.Client() }
		},
		Expire: func(t *testing.T, s cluster.Store) { s.(*memstore.Client).Expire() },
	})
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "state.json")
	tree, err := memstore.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	c := tree.Client()
	if err := c.Multi(ctx, cluster.Create("/a/b", []byte("kept")), cluster.Set("/a/b", []byte("kept2"), 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "/live/x", []byte("gone")); err != nil {
		t.Fatal(err)
	}
	reopened, err := memstore.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	c2 := reopened.Client()
	n, err := c2.Get(ctx, "/a/b")
	if err != nil || string(n.Data) != "kept2" || n.Version != 1 {
		t.Fatalf("reloaded /a/b = %q v%d, %v", n.Data, n.Version, err)
	}
	if _, err := c2.Get(ctx, "/live/x"); err == nil {
		t.Fatalf("ephemeral node survived a restart")
	}
}
