// Package reconcilertest runs a leading reconcile loop for tests of the
// packages around it (the HTTP API, the reconciler's own external tests): an
// in-memory cluster state, a played agent that runs whatever it is assigned,
// and a real Git repository. Only tests import it.
package reconcilertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// WebApp is an App manifest of /web with the instance count left as %d.
const WebApp = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: 32
container:
  type: DOCKER
  docker:
    image: berth/web:dev
    network: BRIDGE
  portMappings:
    - containerPort: 80
`

// Web is WebApp with n instances.
func Web(n int) string { return fmt.Sprintf(WebApp, n) }

// PlayAgent stands in for an agent: it runs whatever is assigned to it and
// stops what is killed, reporting statuses through the store as a real agent
// does. The Docker side is tested in package agent.
func PlayAgent(ctx context.Context, t testing.TB, st *cluster.State, id string) {
	a := cluster.Agent{ID: id, Hostname: id, Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 2048, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}}
	if _, err := st.RegisterAgent(ctx, a); err != nil {
		t.Errorf("register agent: %v", err)
		return
	}
	go func() {
		for set := range st.WatchAssignments(ctx, id, func(error) {}) {
			var sts []cluster.TaskStatus
			for _, as := range set {
				state := cluster.TaskRunning
				if as.Kill {
					state = cluster.TaskKilled
				}
				sts = append(sts, cluster.TaskStatus{TaskID: as.TaskID, AgentID: id, State: state, Health: cluster.HealthHealthy, StartedAt: as.CreatedAt, UpdatedAt: time.Now()})
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
}

// StartLoop runs a leading reconciler over an in-memory store, one played
// agent and a Git repository whose main branch declares /web with 2
// instances. done receives Run's result.
func StartLoop(ctx context.Context, t testing.TB, obs reconciler.Observer) (repo *testenv.GitRepo, st *cluster.State, r *reconciler.Reconciler, done <-chan error) {
	t.Helper()
	repo = testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": Web(2)}, "web x2")
	tree := memstore.New()
	st = cluster.NewState(tree.Client())
	PlayAgent(ctx, t, st, "a1")
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r = reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond, Pass: decide.Options{Prune: true}, Observer: obs}, src, st)
	ch := make(chan error, 1)
	go func() { ch <- r.Run(ctx, lead) }()
	return repo, st, r, ch
}

// CountRunning counts the RUNNING tasks not being killed.
func CountRunning(ctx context.Context, st *cluster.State) int {
	tasks, _ := st.Tasks(ctx)
	n := 0
	for _, t := range tasks {
		if t.Status.State == cluster.TaskRunning && !t.Kill {
			n++
		}
	}
	return n
}

// WaitFor polls ok until it holds or ctx ends (a test failure).
func WaitFor(t testing.TB, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
