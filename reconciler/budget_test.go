package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/reconcilertest"
)

// TestHostileCommitsRejected: on a real Git repository, a commit holding a
// YAML alias bomb or a 10 MB manifest is rejected as a whole, naming the
// file, and the cluster stays on the last good commit; a diff of such a ref
// is refused the same way.
func TestHostileCommitsRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	repo, st, r, _ := reconcilertest.StartLoop(ctx, t, nil)
	reconcilertest.WaitFor(t, ctx, "2 running tasks", func() bool { return reconcilertest.CountRunning(ctx, st) == 2 })
	good := r.Status().Desired

	var bomb strings.Builder
	for d := range 2 {
		fmt.Fprintf(&bomb, "---\n- &d%dl0 {kind: App, id: /b, cmd: x}\n", d)
		for l := 1; l <= 15; l++ {
			fmt.Fprintf(&bomb, "- &d%dl%d [*d%dl%d, *d%dl%d, *d%dl%d, *d%dl%d]\n", d, l, d, l-1, d, l-1, d, l-1, d, l-1)
		}
	}
	bad := repo.Commit(t, "main", map[string]string{"apps/bomb.yaml": bomb.String()}, "alias bomb")
	r.Sync()
	reconcilertest.WaitFor(t, ctx, "the bomb rejected", func() bool { s := r.Status(); return s.Rejected != nil && s.Rejected.Commit == bad })
	if errs := r.Status().Rejected.Errors; len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "apps/bomb.yaml:") {
		t.Errorf("rejection does not name the file: %v", errs)
	}
	if s := r.Status(); s.Desired != good || reconcilertest.CountRunning(ctx, st) != 2 {
		t.Errorf("after the bomb: desired %s (want %s), %d running", s.Desired, good, reconcilertest.CountRunning(ctx, st))
	}

	repo.Commit(t, "big", map[string]string{"apps/web.yaml": reconcilertest.Web(2), "apps/huge.yaml": strings.Repeat("# padding\n", 1_000_000)}, "10 MB")
	_, _, err := r.Diff(ctx, "big")
	var list manifests.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), "apps/huge.yaml: file too large") {
		t.Fatalf("diff of a 10 MB manifest: %v", err)
	}
}
