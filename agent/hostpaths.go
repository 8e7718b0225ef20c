package agent

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/policy"
)

// checkResolvedHostPaths re-checks every hostPath with its symlinks
// resolved, because Docker follows them: /data/link pointing at / must be
// refused like / itself. A path that does not exist yet is resolved through
// its longest existing ancestor, since Docker creates the rest there.
func checkResolvedHostPaths(p cluster.AgentPolicy, spec cluster.TaskSpec) error {
	for i, v := range spec.Volumes {
		if v.Name != "" || v.Persistent {
			continue // a Docker named volume: no host path to resolve
		}
		resolved := resolveExisting(v.HostPath)
		if resolved == path.Clean(v.HostPath) {
			continue
		}
		if r, ok := policy.CheckHostPath(p, resolved); !ok {
			r.Reason = fmt.Sprintf("volumes[%d]: hostPath %q resolves to %q: %s", i, v.HostPath, resolved, r.Reason)
			return r
		}
	}
	return nil
}

func resolveExisting(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for dir := p; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		if dir == "/" || dir == "." {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
