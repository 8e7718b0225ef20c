package agent

import (
	"context"
	"testing"
	"time"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// The agent as deployed: its assignments followed through its cache over a
// real ZooKeeper (StateCluster), its tasks run as real Docker containers.
// A new assignment runs, a kill request written in place kills, a deleted
// assignment's container is removed, and an assignment written while the
// agent's session expires runs once the agent's re-read finds it.
func TestAgentOverZooKeeperFollowsItsAssignments(t *testing.T) {
	h := newHarness(t)
	zk := testenv.StartZooKeeper(t, 1)
	const session = 2 * time.Second
	open := func(addr string) *zkstore.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := zkstore.Open(ctx, zkstore.Config{Servers: []string{addr}, Chroot: "/agent-docker"}, zkstore.Options{SessionTimeout: session})
		if err != nil {
			t.Fatalf("open zkstore: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	writer := open(zk.Addrs()[0])
	px := zk.Proxy(t, 0)
	agentStore := open(px.Addr())
	leader := cluster.NewState(writer)
	node := h.node("127.0.0.2")
	h.configure = func(c *Config) { c.Cluster = &StateCluster{State: cluster.NewState(agentStore), Log: c.Logger} }
	h.start(node, nil)
	ctx := context.Background()
	put := func(as cluster.Assignment) {
		t.Helper()
		var b cluster.Batch
		b.PutAssignment(as)
		if err := writer.Multi(ctx, b.Ops()...); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus := func(taskID string, want cluster.TaskState) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			sts, err := leader.Statuses(ctx, node.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range sts {
				if st.TaskID == taskID && st.State == want {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s: no %s status; statuses %+v", taskID, want, sts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	containers := func() map[string]bool {
		t.Helper()
		list, err := dockerrt.New(h.cli, dockerrt.Options{}).List(ctx, node.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range list {
			out[c.TaskID] = true
		}
		return out
	}

	web1 := webTask(node, "web.1")
	put(web1)
	waitStatus("web.1", cluster.TaskRunning)
	web1.Kill = true // in place: only the assignment's own watch fires
	put(web1)
	waitStatus("web.1", cluster.TaskKilled)

	put(webTask(node, "web.2"))
	waitStatus("web.2", cluster.TaskRunning)
	var del cluster.Batch
	del.DeleteAssignment(node.ID, "web.2", cluster.AnyVersion)
	if err := writer.Multi(ctx, del.Ops()...); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); containers()["web.2"]; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("web.2's container is still there after its assignment was deleted")
		}
	}

	// Cut off past its session: the agent's watches are lost, and what is
	// written meanwhile is found by the re-read after the new session.
	sess := agentStore.Session()
	px.Block()
	put(webTask(node, "web.3"))
	time.Sleep(session + 3*testenv.TickTime)
	px.Unblock()
	select {
	case <-sess:
	case <-time.After(4 * session):
		t.Fatal("the agent's client did not learn its session expired")
	}
	waitStatus("web.3", cluster.TaskRunning)
	if got := containers(); !got["web.3"] || got["web.2"] {
		t.Fatalf("containers %v: want web.3 and not web.2", got)
	}
}
