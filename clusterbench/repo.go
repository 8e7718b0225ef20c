package clusterbench

import (
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// repo is the benchmark's Git repository of manifests: a bare repository
// in a temporary directory, read by the leaders over file://.
type repo struct {
	dir  string
	git  *git.Repository
	tip  plumbing.Hash
	when time.Time
}

func newRepo(dir string) (*repo, error) {
	g, err := git.PlainInit(dir, true)
	if err != nil {
		return nil, fmt.Errorf("create the manifest repository %s: %w", dir, err)
	}
	if err := g.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))); err != nil {
		return nil, fmt.Errorf("create the manifest repository %s: %w", dir, err)
	}
	return &repo{dir: dir, git: g, when: time.Now().UTC()}, nil
}

// url is what the leaders clone.
func (r *repo) url() string { return "file://" + r.dir }

// commit makes a commit on the branch whose tree is README.md plus apps
// (file name to content) under apps/, and returns its hash.
func (r *repo) commit(apps map[string][]byte, msg string) (string, error) {
	blob := func(b []byte) (plumbing.Hash, error) {
		obj := r.git.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := w.Write(b); err != nil {
			return plumbing.ZeroHash, err
		}
		if err := w.Close(); err != nil {
			return plumbing.ZeroHash, err
		}
		return r.git.Storer.SetEncodedObject(obj)
	}
	tree := func(entries []object.TreeEntry) (plumbing.Hash, error) {
		// Plain files only here, so sorting by name is Git's order.
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
		obj := r.git.Storer.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		return r.git.Storer.SetEncodedObject(obj)
	}
	var appEntries []object.TreeEntry
	for name, content := range apps {
		h, err := blob(content)
		if err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
		appEntries = append(appEntries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
	}
	readme, err := blob([]byte("Manifests written by berth bench cluster.\n"))
	if err != nil {
		return "", fmt.Errorf("write README.md: %w", err)
	}
	root := []object.TreeEntry{{Name: "README.md", Mode: filemode.Regular, Hash: readme}}
	if len(appEntries) > 0 {
		h, err := tree(appEntries)
		if err != nil {
			return "", fmt.Errorf("write the apps tree: %w", err)
		}
		root = append(root, object.TreeEntry{Name: "apps", Mode: filemode.Dir, Hash: h})
	}
	rootHash, err := tree(root)
	if err != nil {
		return "", fmt.Errorf("write the root tree: %w", err)
	}
	r.when = r.when.Add(time.Second)
	sig := object.Signature{Name: "berth bench", Email: "bench@berth.invalid", When: r.when}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: rootHash}
	if !r.tip.IsZero() {
		c.ParentHashes = []plumbing.Hash{r.tip}
	}
	obj := r.git.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", fmt.Errorf("encode commit: %w", err)
	}
	h, err := r.git.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", fmt.Errorf("write commit: %w", err)
	}
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), h)); err != nil {
		return "", fmt.Errorf("move %s: %w", branch, err)
	}
	r.tip = h
	return h.String(), nil
}
