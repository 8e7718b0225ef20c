package reconciler_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/reconcilertest"
)

const privApp = `kind: App
id: /priv
instances: 1
cpus: 0.1
mem: 16
container:
  type: DOCKER
  docker:
    image: berth/web:dev
    privileged: true
`

const fixedPortApp = `kind: App
id: /fixed
instances: 2
cpus: 0.1
mem: 16
cmd: serve
requirePorts: true
portDefinitions:
  - port: 31050
`

// What `berth diff --server` (GET /v1/diff) says of a commit is what the
// server then does with it: for each scenario the diff's verdict is taken,
// the commit is pushed, and the loop's outcome must name the same apps as
// unplaced, for the same reasons.
func TestDiffVerdictIsWhatTheServerDoes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	repo, st, r, _ := reconcilertest.StartLoop(ctx, t, nil)
	reconcilertest.WaitFor(t, ctx, "2 running tasks", func() bool { return reconcilertest.CountRunning(ctx, st) == 2 })
	base := map[string]string{"apps/web.yaml": reconcilertest.Web(2)}

	for _, tt := range []struct {
		name  string
		files map[string]string
		fits  bool
	}{
		{"a scale that fits", map[string]string{"apps/web.yaml": reconcilertest.Web(5)}, true},
		{"a scale past the agent's memory", map[string]string{"apps/web.yaml": strings.Replace(reconcilertest.Web(30), "mem: 32", "mem: 512", 1)}, false},
		{"a privileged app on an agent that does not allow it", map[string]string{"apps/web.yaml": reconcilertest.Web(2), "apps/priv.yaml": privApp}, false},
		{"one fixed host port, two instances, one agent", map[string]string{"apps/web.yaml": reconcilertest.Web(2), "apps/fixed.yaml": fixedPortApp}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := "pr-" + strings.ReplaceAll(tt.name, " ", "-")
			repo.Commit(t, ref, tt.files, tt.name)
			p, _, err := r.Diff(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if p.Fit == nil || p.Fit.Fits != tt.fits {
				t.Fatalf("diff verdict %+v, want fits=%v", p.Fit, tt.fits)
			}
			predicted := map[string]string{}
			short := map[string]int{}
			for _, u := range p.Fit.Unplaced {
				predicted[u.ID] = u.Reason
				short[u.ID]++
			}

			head := repo.Commit(t, "main", tt.files, tt.name)
			r.Sync()
			var done reconciler.Status
			reconcilertest.WaitFor(t, ctx, "a decision on "+head[:8], func() bool {
				done = r.Status()
				if done.Decided != head {
					return false
				}
				if done.Converged {
					return true
				}
				for _, a := range done.Apps {
					if a.Unplaced != "" || a.Error != "" {
						return true
					}
				}
				return false
			})
			got := map[string]string{}
			for _, a := range done.Apps {
				if a.Unplaced != "" {
					got[a.ID] = a.Unplaced
				}
			}
			if !sameKeys(predicted, got) {
				t.Fatalf("diff predicted unplaced %v; the server left unplaced %v", predicted, got)
			}
			for id, reason := range got {
				if predicted[id] != reason {
					t.Errorf("%s: diff said %q, the server says %q", id, predicted[id], reason)
				}
			}
			// And the server settles where the simulation stalled: with as
			// many instances it cannot place as the diff counted.
			for id, n := range short {
				reconcilertest.WaitFor(t, ctx, fmt.Sprintf("%s settled with %d unplaced", id, n), func() bool {
					for _, a := range r.Status().Apps {
						if a.ID == id && a.Unplaced != "" {
							var left, of int
							_, err := fmt.Sscanf(a.Unplaced[strings.Index(a.Unplaced, ": ")+2:], "%d of %d instances", &left, &of)
							return err == nil && left == n && of == n
						}
					}
					return false
				})
			}

			repo.Commit(t, "main", base, "back to the base")
			r.Sync()
			reconcilertest.WaitFor(t, ctx, "back at the base", func() bool {
				s := r.Status()
				return s.Converged && s.Decided != head && countApps(ctx, st) == 1
			})
		})
	}
}

func sameKeys(a, b map[string]string) bool {
	ka, kb := keys(a), keys(b)
	return strings.Join(ka, ",") == strings.Join(kb, ",")
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// countApps is how many apps have live tasks.
func countApps(ctx context.Context, st *cluster.State) int {
	tasks, err := st.Tasks(ctx)
	if err != nil {
		return -1
	}
	apps := map[string]bool{}
	for _, t := range tasks {
		if !t.Status.State.Terminal() {
			apps[t.OwnerID] = true
		}
	}
	return len(apps)
}
