package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/reconcilertest"
	"github.com/berthops/berth/testenv"
)

// prodGroup is a Marathon group committed as it is: /prod/web depends on
// the group /prod/db.
const prodGroup = `{"id": "/prod", "groups": [
  {"id": "db", "apps": [
    {"id": "mysql", "cmd": "mysqld", "cpus": 0.1, "mem": 16},
    {"id": "redis", "cmd": "redis", "cpus": 0.1, "mem": 16}]},
  {"id": "web", "dependencies": ["/prod/db"], "apps": [
    {"id": "nginx", "cmd": "nginx", "cpus": 0.1, "mem": 16, "instances": 2}]}]}
`

// TestLoopDeploysAGroupInDependencyOrder: from a Marathon group committed to
// Git, the leading loop starts the group /prod/db first and holds /prod/web
// pass after pass until every app of /prod/db runs healthy.
func TestLoopDeploysAGroupInDependencyOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"prod.json": prodGroup}, "the prod group")
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	// An agent the test plays by hand: nothing runs until it says so.
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1", Hostname: "a1", Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 2048, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}}); err != nil {
		t.Fatal(err)
	}
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond, Pass: decide.Options{Prune: true}}, src, st)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, lead) }()
	defer func() { cancel(); <-done }()

	tasksOf := func() map[string][]cluster.Task {
		tasks, _ := st.Tasks(ctx)
		out := map[string][]cluster.Task{}
		for _, tk := range tasks {
			out[tk.OwnerID] = append(out[tk.OwnerID], tk)
		}
		return out
	}
	reconcilertest.WaitFor(t, ctx, "/prod/db's tasks assigned", func() bool {
		by := tasksOf()
		return len(by["/prod/db/mysql"]) == 1 && len(by["/prod/db/redis"]) == 1
	})
	for range 5 {
		last := r.Status().LastSync
		reconcilertest.WaitFor(t, ctx, "another pass", func() bool { return r.Status().LastSync.After(last) })
	}
	if n := len(tasksOf()["/prod/web/nginx"]); n != 0 {
		t.Fatalf("/prod/web/nginx has %d tasks while /prod/db is not running", n)
	}
	for _, a := range r.Status().Apps {
		if a.ID == "/prod/web/nginx" && !strings.Contains(a.Message, "waiting for /prod/db/mysql, /prod/db/redis") {
			t.Errorf("nginx status %q does not say what it waits for", a.Message)
		}
	}

	// /prod/db's tasks run and are healthy: /prod/web starts.
	by := tasksOf()
	var sts []cluster.TaskStatus
	for _, tk := range append(by["/prod/db/mysql"], by["/prod/db/redis"]...) {
		sts = append(sts, cluster.TaskStatus{TaskID: tk.TaskID, AgentID: "a1", State: cluster.TaskRunning, Health: cluster.HealthHealthy,
			StartedAt: time.Now(), UpdatedAt: time.Now()})
	}
	if err := st.PutStatuses(ctx, sts...); err != nil {
		t.Fatal(err)
	}
	reconcilertest.WaitFor(t, ctx, "/prod/web/nginx's 2 tasks assigned", func() bool { return len(tasksOf()["/prod/web/nginx"]) == 2 })
}
