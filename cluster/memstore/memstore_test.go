package memstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	if err := tree.Close(); err != nil {
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

// FuzzOpen feeds arbitrary state files to Open: a damaged file must give an
// error or a usable tree, never a panic.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"/a":{"version":1},"/a/b":{"data":"eA==","version":0}}`))
	f.Add([]byte(`{"/":{},"//":{},"/a/../b":{"version":-5},"":{}}`))
	f.Add([]byte(`{"/x/y/z":{"data":"AA=="}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		file := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		tree, err := memstore.Open(file)
		if err != nil {
			return
		}
		defer tree.Close()
		c := tree.Client()
		ctx := context.Background()
		if _, err := c.Children(ctx, "/"); err != nil {
			t.Fatalf("root of a loaded tree: %v", err)
		}
		if err := c.Multi(ctx, cluster.Put("/x/y/z", []byte("v"))); err != nil {
			t.Fatalf("write to a loaded tree: %v", err)
		}
	})
}

func TestPersistenceWithoutClose(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "state.json")
	tree, err := memstore.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	c := tree.Client()
	for i := range 200 {
		if err := c.Multi(ctx, cluster.Put("/burst", []byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	// A burst is written once, shortly after it ends, with no Close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		reopened, err := memstore.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		n, err := reopened.Client().Get(ctx, "/burst")
		if err == nil && n.Version == 199 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file after the burst: %v v%d", err, n.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
