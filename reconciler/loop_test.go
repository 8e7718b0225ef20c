package reconciler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

const webApp = `kind: App
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

// playAgent stands in for an agent: it runs whatever is assigned to it and
// stops what is killed, reporting statuses through the store as a real agent
// does. The Docker side is tested in package agent.
func playAgent(ctx context.Context, t *testing.T, st *cluster.State, id string) {
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

// startLoop runs a leading reconciler over an in-memory store, one played
// agent and a Git repository whose main branch declares /web with 2
// instances. done receives Run's result.
func startLoop(ctx context.Context, t *testing.T, m Observer) (repo *testenv.GitRepo, st *cluster.State, r *Reconciler, done <-chan error) {
	t.Helper()
	repo = testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": sprintf(webApp, 2)}, "web x2")
	tree := memstore.New()
	st = cluster.NewState(tree.Client())
	playAgent(ctx, t, st, "a1")
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r = New(Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond, Pass: decide.Options{Prune: true}, Observer: m}, src, st)
	ch := make(chan error, 1)
	go func() { ch <- r.Run(ctx, lead) }()
	return repo, st, r, ch
}

func TestLoopFollowsTheBranch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	repo, st, r, done := startLoop(ctx, t, metrics.New(reg))

	waitFor(t, ctx, "2 running tasks", func() bool { return countRunning(ctx, st) == 2 })
	waitFor(t, ctx, "status converged", func() bool { s := r.Status(); return s.Converged && len(s.Apps) == 1 && s.Apps[0].Health == "Healthy" })
	if n := gauge(t, reg, "berth_leader", ""); n != 1 {
		t.Errorf("berth_leader = %v while leading", n)
	}
	if n := gauge(t, reg, "berth_tasks", "RUNNING"); n != 2 {
		t.Errorf("berth_tasks{state=RUNNING} = %v, want 2", n)
	}
	if n, err := testutil.GatherAndCount(reg, "berth_sync_duration_seconds"); err != nil || n != 1 {
		t.Errorf("berth_sync_duration_seconds: %d series, %v", n, err)
	}

	// An invalid commit is rejected whole; the cluster stays as it is.
	bad := repo.Commit(t, "main", map[string]string{"apps/web.yaml": sprintf(webApp, 5) + "bogus: 1\n"}, "broken")
	gen := r.Sync()
	waitFor(t, ctx, "the sync request fetched", func() bool { return r.Status().Fetched >= gen })
	waitFor(t, ctx, "rejection", func() bool { s := r.Status(); return s.Rejected != nil && s.Rejected.Commit == bad })
	if got := r.Status().Rejected.Errors; len(got) == 0 || !containsStr(got[0], "apps/web.yaml:") {
		t.Errorf("rejection errors %q do not name the file and line", got)
	}
	// Two more passes after the rejection, rather than a sleep: the loop
	// keeps deciding on the last good commit and changes nothing.
	for range 2 {
		last := r.Status().LastSync
		waitFor(t, ctx, "another pass", func() bool { return r.Status().LastSync.After(last) })
	}
	if s := r.Status(); s.Decided == bad || s.Desired == bad {
		t.Fatalf("the rejected commit was decided on: %+v", s)
	}
	if n := countRunning(ctx, st); n != 2 {
		t.Fatalf("an invalid commit changed the cluster: %d running", n)
	}

	repo.Commit(t, "main", map[string]string{"apps/web.yaml": sprintf(webApp, 3)}, "web x3")
	r.Sync()
	waitFor(t, ctx, "3 running tasks", func() bool { return countRunning(ctx, st) == 3 })

	repo.Commit(t, "main", map[string]string{"README.md": "nothing"}, "remove web")
	r.Sync()
	waitFor(t, ctx, "pruned", func() bool {
		tasks, _ := st.Tasks(ctx)
		if len(tasks) > 0 {
			t.Logf("tasks: %+v status %+v", tasks[0].Assignment.Kill, tasks[0].Status)
		}
		return len(tasks) == 0
	})
	waitFor(t, ctx, "applied commit recorded", func() bool {
		c, _ := st.AppliedCommit(ctx)
		return c.Commit == r.Status().Desired && c.Commit != ""
	})

	cancel()
	<-done
}

func countRunning(ctx context.Context, st *cluster.State) int {
	tasks, _ := st.Tasks(ctx)
	n := 0
	for _, t := range tasks {
		if t.Status.State == cluster.TaskRunning && !t.Kill {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

// gauge reads a gauge from reg: the series whose one label has value label
// ("" for a gauge without labels).
func gauge(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge %s{%s}", name, label)
	return 0
}
