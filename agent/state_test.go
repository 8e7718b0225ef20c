package agent

import (
	"context"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
)

// TestStateCluster checks the production Cluster over the in-memory store:
// registration, the assignment watch and status reports.
func TestStateCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tree := memstore.New()
	leader := cluster.NewState(tree.Client())
	lead, err := leader.Store().Campaign(ctx, "/election", "server-1")
	if err != nil {
		t.Fatal(err)
	}
	sc := &StateCluster{State: cluster.NewState(tree.Client())}
	if err := sc.RegisterAgent(ctx, cluster.Agent{ID: "node-2", Address: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	agents, err := leader.Agents(ctx)
	if err != nil || len(agents) != 1 || !agents[0].Reachable {
		t.Fatalf("agents %+v, %v: want node-2 reachable", agents, err)
	}
	watch, err := sc.WatchAssignments(ctx, "node-2")
	if err != nil {
		t.Fatal(err)
	}
	if set := <-watch; len(set) != 0 {
		t.Fatalf("first set %+v: want empty", set)
	}
	var b cluster.Batch
	b.PutAssignment(cluster.Assignment{TaskID: "web.1", AgentID: "node-2", OwnerID: "/web"})
	if _, err := leader.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	select {
	case set := <-watch:
		if len(set) != 1 || set[0].TaskID != "web.1" {
			t.Fatalf("set %+v: want web.1", set)
		}
	case <-ctx.Done():
		t.Fatal("no assignment set after the leader's write")
	}
	if err := sc.ReportStatuses(ctx, []cluster.TaskStatus{{TaskID: "web.1", AgentID: "node-2", State: cluster.TaskRunning}}); err != nil {
		t.Fatal(err)
	}
	sts, err := leader.Statuses(ctx, "node-2")
	if err != nil || len(sts) != 1 || sts[0].State != cluster.TaskRunning {
		t.Fatalf("statuses %+v, %v", sts, err)
	}
}
