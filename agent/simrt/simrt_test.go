package simrt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/agent/simrt"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
)

func TestRuntimeLifecycle(t *testing.T) {
	ctx := context.Background()
	var c simrt.Counters
	rt := simrt.New(&c, nil)
	id, err := rt.Create(ctx, launch.Task{Node: launch.Node{ID: "n1"}, Assignment: cluster.Assignment{TaskID: "web.1",
		Spec: cluster.TaskSpec{Ports: []cluster.PortSpec{{HostPort: 31001}}}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rt.Inspect(ctx, id, cluster.TaskSpec{})
	if err != nil || !st.Created || st.Running {
		t.Fatalf("after create: %+v, %v; want created, not running", st, err)
	}
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, _ = rt.Inspect(ctx, id, cluster.TaskSpec{})
	if !st.Running || st.StartedAt.IsZero() || len(st.HostPorts) != 1 || st.HostPorts[0] != 31001 {
		t.Fatalf("after start: %+v", st)
	}
	if list, _ := rt.List(ctx, "n1"); len(list) != 1 || list[0].TaskID != "web.1" {
		t.Fatalf("list n1: %+v", list)
	}
	if list, _ := rt.List(ctx, "n2"); len(list) != 0 {
		t.Fatalf("list n2: %+v; want another agent's containers left out", list)
	}
	exit, _ := rt.Wait(ctx, id)
	if err := rt.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if code := <-exit; code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	for i := range 2 {
		if err := rt.Remove(ctx, id); err != nil {
			t.Fatalf("remove %d: %v; removing a removed container is no error", i+1, err)
		}
	}
	if _, err := rt.Inspect(ctx, id, cluster.TaskSpec{}); !errors.Is(err, launch.ErrNoTask) {
		t.Fatalf("inspect removed: %v; want ErrNoTask", err)
	}
	if c.Creates.Load() != 1 || c.Starts.Load() != 1 || c.Stops.Load() != 1 || c.Removes.Load() != 2 {
		t.Fatalf("counters %d %d %d %d", c.Creates.Load(), c.Starts.Load(), c.Stops.Load(), c.Removes.Load())
	}
}

// TestAgentOverSimulatedRuntime runs the real agent on the simulated
// runtime over the in-memory store, as the cluster benchmark does on
// ZooKeeper: assignments become RUNNING tasks at once and a withdrawn one
// is stopped and removed.
func TestAgentOverSimulatedRuntime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tree := memstore.New()
	leader := cluster.NewState(tree.Client())
	lead, err := leader.Store().Campaign(ctx, cluster.DirLeader, "s1")
	if err != nil {
		t.Fatal(err)
	}
	var counters simrt.Counters
	rt := simrt.New(&counters, nil)
	ag, err := agent.New(agent.Config{
		Node:    agent.Node{ID: "sim-1", Hostname: "sim-1", Address: "127.0.0.1", Resources: cluster.Resources{CPUs: 4, Mem: 4096}},
		Runtime: rt, Cluster: &agent.StateCluster{State: cluster.NewState(tree.Client())},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	actx, stop := context.WithCancel(ctx)
	go func() { done <- ag.Run(actx) }()
	defer func() { stop(); <-done }()

	var b cluster.Batch
	for i := range 3 {
		b.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("web.%d", i), AgentID: "sim-1", Owner: cluster.OwnerApp, OwnerID: "/web"})
	}
	if _, err := leader.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	waitStates(ctx, t, leader, map[string]cluster.TaskState{"web.0": cluster.TaskRunning, "web.1": cluster.TaskRunning, "web.2": cluster.TaskRunning})

	b = cluster.Batch{}
	b.DeleteAssignment("sim-1", "web.2", cluster.AnyVersion)
	if _, err := leader.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	for rt.Running() != 2 || counters.Removes.Load() != 1 {
		select {
		case <-ctx.Done():
			t.Fatalf("running %d, removes %d: want the withdrawn task stopped and removed", rt.Running(), counters.Removes.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if counters.Creates.Load() != 3 {
		t.Fatalf("creates %d, want 3 (no restart)", counters.Creates.Load())
	}
}

func waitStates(ctx context.Context, t *testing.T, st *cluster.State, want map[string]cluster.TaskState) {
	t.Helper()
	for {
		sts, err := st.Statuses(ctx, "sim-1")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]cluster.TaskState{}
		for _, s := range sts {
			got[s.TaskID] = s.State
		}
		ok := len(got) == len(want)
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("statuses %v, want %v", got, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
