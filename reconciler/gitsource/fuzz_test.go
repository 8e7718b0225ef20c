package gitsource_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// FuzzTreeFS feeds arbitrary names (and --path values) to a tree with
// nested directories and symbolic links, including loops and links out of
// the tree: nothing may panic, loop forever or read outside the tree.
func FuzzTreeFS(f *testing.F) {
	for _, seed := range []string{".", "a/b/c.yaml", "links/up/a/b/c.yaml", "links/loop", "links/self/self/self",
		"../x", "a//b", "/a", "a/./b", "links/out/etc/passwd", "links/dir/../a"} {
		f.Add(seed, "")
		f.Add(seed, "links")
	}
	r := testenv.NewGitRepo(f, filepath.Join(f.TempDir(), "repo.git"))
	c := r.CommitWithLinks(f, "main",
		map[string]string{"a/b/c.yaml": "x", "a/d.yaml": "y", "top.yaml": "z"},
		map[string]string{"links/up": "..", "links/loop": "loop", "links/self": ".", "links/out": "../../..",
			"links/dir": "../a", "links/abs": "/etc", "links/chain1": "chain2", "links/chain2": "../a/b/c.yaml"},
		"fuzz")
	src, err := gitsource.Open(f.Context(), gitsource.Options{URL: r.Dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, dir string) {
		fsys, err := src.Tree(c, dir)
		if err != nil {
			return
		}
		if b, err := fs.ReadFile(fsys, name); err == nil && !strings.Contains("xyz", string(b)) {
			t.Fatalf("ReadFile(%q) under %q read %q, which is no file of the tree", name, dir, b)
		}
		_, _ = fs.Stat(fsys, name)
		_, _ = fs.ReadDir(fsys, name)
		if fl, err := fsys.Open(name); err == nil {
			fl.Close()
		}
		_, _ = gitsource.CleanPath(name)
	})
}
