package memstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// The file is read directly: the open tree holds its lock.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var saved map[string]struct{ Version int32 }
		raw, err := os.ReadFile(file)
		if err == nil {
			err = json.Unmarshal(raw, &saved)
		}
		if err == nil && saved["/burst"].Version == 199 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file after the burst: %v v%d", err, saved["/burst"].Version)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOpenIsExclusive: a second Open of a file another tree holds fails at
// once, naming the directory and the holder's pid; Close releases it.
func TestOpenIsExclusive(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	tree, err := memstore.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = memstore.Open(file)
	if err == nil {
		t.Fatal("a second Open of a held state file succeeded: two processes would both lead")
	}
	for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := tree.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := memstore.Open(file)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

// TestOpenDamagedUsesBackup: an empty or corrupt state file is replaced by
// the last good one, and the tree says so; the damaged file never becomes
// the backup. Without a backup the error says what to do.
func TestOpenDamagedUsesBackup(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string][]byte{"empty": nil, "truncated": []byte(`{"/a":{"data":"dj`)} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "state.json")
			for _, v := range []string{"v1", "v2"} {
				tree, err := memstore.Open(file)
				if err != nil {
					t.Fatal(err)
				}
				if err := tree.Client().Multi(ctx, cluster.Put("/a", []byte(v))); err != nil {
					t.Fatal(err)
				}
				if err := tree.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(file, damage, 0o600); err != nil {
				t.Fatal(err)
			}
			tree, err := memstore.Open(file)
			if err != nil {
				t.Fatalf("open a damaged state file with a good backup: %v", err)
			}
			if n, err := tree.Client().Get(ctx, "/a"); err != nil || string(n.Data) != "v1" {
				t.Fatalf("/a = %q, %v; want the backup's v1", n.Data, err)
			}
			if msg := tree.Recovered(); !strings.Contains(msg, "state.json.bak") {
				t.Errorf("Recovered() = %q, want it to name the backup", msg)
			}
			if err := tree.Client().Multi(ctx, cluster.Put("/a", []byte("v3"))); err != nil {
				t.Fatal(err)
			}
			if err := tree.Close(); err != nil {
				t.Fatal(err)
			}
			// The damaged file was not rotated into the backup.
			if raw, err := os.ReadFile(file + ".bak"); err != nil || !json.Valid(raw) {
				t.Fatalf("backup after recovery: %q, %v", raw, err)
			}
			reopened, err := memstore.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer reopened.Close()
			if n, _ := reopened.Client().Get(ctx, "/a"); string(n.Data) != "v3" || reopened.Recovered() != "" {
				t.Fatalf("after recovery and a save: /a = %q, recovered %q", n.Data, reopened.Recovered())
			}
		})
	}
	file := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := memstore.Open(file)
	if err == nil || !strings.Contains(err.Error(), "is empty") || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("an empty state file without a backup: %v", err)
	}
}
