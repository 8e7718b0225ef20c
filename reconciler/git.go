package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/plan"
)

// OpenGit opens the repository the loop follows.
func OpenGit(ctx context.Context, opts gitsource.Options) (Source, error) {
	s, err := gitsource.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	return gitSource{s}, nil
}

type gitSource struct{ *gitsource.Source }

func (g gitSource) Tree(commit, dir string) (fs.FS, error) {
	t, err := g.Source.Tree(commit, dir)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RequireSigned returns a Config.Verify that accepts only commits of src
// signed by one of keys (a good signature that matches the commit). A
// source that cannot tell refuses every commit: failing open would apply
// unsigned changes.
func RequireSigned(src Source, keys *gitsource.TrustedKeys) func(commit string) error {
	g, ok := src.(gitSource)
	if !ok {
		return func(commit string) error {
			return fmt.Errorf("commit %s: cannot check signatures of a %T source", shortCommit(commit), src)
		}
	}
	return func(commit string) error {
		sig, err := g.Verify(commit, keys)
		if err != nil {
			return fmt.Errorf("check the signature of commit %s: %w", shortCommit(commit), err)
		}
		return sig.Err(commit)
	}
}

// DescribeSignatures returns a Config.Signatures: what the signature of a
// commit of src says against keys, for the diff's header. A source that
// cannot tell gets nil (no signature state shown).
func DescribeSignatures(src Source, keys *gitsource.TrustedKeys) func(commit string) (*plan.Signature, error) {
	g, ok := src.(gitSource)
	if !ok {
		return nil
	}
	return func(commit string) (*plan.Signature, error) { return SignatureOf(g.Source, commit, keys) }
}

// SignatureOf is what commit's signature says against keys, in the plan's
// terms: berth diff and GET /v1/diff show the same.
func SignatureOf(src *gitsource.Source, commit string, keys *gitsource.TrustedKeys) (*plan.Signature, error) {
	sig, err := src.Verify(commit, keys)
	if err != nil {
		return nil, fmt.Errorf("check the signature of commit %s: %w", shortCommit(commit), err)
	}
	return &plan.Signature{State: string(sig.State), Format: sig.Format, Key: sig.Key, Signer: sig.Signer, Reason: sig.Reason}, nil
}

// Trees is where LoadCommit reads a commit's manifest tree.
type Trees interface {
	Tree(commit, dir string) (fs.FS, error)
}

// GitTrees adapts an open repository for LoadCommit.
func GitTrees(s *gitsource.Source) Trees { return gitSource{s} }

// LoadCommit loads the manifests of commit under dir with the same loader
// as berth validate (through cache, when one is given), with every origin
// and error named from the repository root: the server, berth diff and the
// API all report the file:line a reviewer opens.
func LoadCommit(src Trees, cache *manifests.ParseCache, commit, dir string) (*manifests.Set, error) {
	tree, err := src.Tree(commit, dir)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", commit, err)
	}
	var set *manifests.Set
	if cache != nil {
		set, err = manifests.LoadCached(tree, cache)
	} else {
		set, err = manifests.Load(tree)
	}
	dir = path.Clean("/" + dir)[1:]
	if dir == "" {
		return set, err
	}
	var list manifests.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			e.File = path.Join(dir, e.File)
		}
	}
	if set != nil {
		for i := range set.Apps {
			set.Apps[i].Origin.File = path.Join(dir, set.Apps[i].Origin.File)
		}
		for i := range set.Jobs {
			set.Jobs[i].Origin.File = path.Join(dir, set.Jobs[i].Origin.File)
		}
		for i := range set.Templates {
			set.Templates[i].Origin.File = path.Join(dir, set.Templates[i].Origin.File)
		}
		for i := range set.Queues {
			set.Queues[i].Origin.File = path.Join(dir, set.Queues[i].Origin.File)
		}
		for i := range set.Secrets {
			set.Secrets[i].Origin.File = path.Join(dir, set.Secrets[i].Origin.File)
		}
	}
	return set, err
}

// ReadFile reads file, named from the repository's root, as commit holds
// it: the manifest file an object's origin names (GET /v1/manifest).
func (r *Reconciler) ReadFile(commit, file string) ([]byte, error) {
	tree, err := r.src.Tree(commit, "")
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", commit, err)
	}
	b, err := fs.ReadFile(tree, file)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", file, shortCommit(commit), err)
	}
	return b, nil
}
