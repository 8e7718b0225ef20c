package reconciler

import (
	"context"
	"io/fs"

	"github.com/berthops/berth/reconciler/gitsource"
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
