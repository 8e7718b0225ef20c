package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// BenchmarkAssignmentAdded measures what one new assignment costs an agent
// that already holds tasks=N, on a real ZooKeeper: from the leader's write
// until the agent's watch delivers the set with it. It reports the ZooKeeper
// reads the agent's session made per change (reads/change) and the
// process's CPU per change (cpu-ms/change: the agent's following plus the
// writer's one small write, the same for both), for the agent's
// watch-driven cache ("cache", StateCluster.WatchAssignments) and for what
// agents did before ("relist", cluster.State.WatchAssignments: watch and
// read every assignment again after each change).
//
//	go test -run '^$' -bench AssignmentAdded -benchtime 50x ./agent/
func BenchmarkAssignmentAdded(b *testing.B) {
	testenv.Integration(b)
	zk := testenv.StartZooKeeper(b, 1)
	for _, n := range []int{30, 1000} {
		for _, how := range []string{"relist", "cache"} {
			b.Run(fmt.Sprintf("tasks=%d/%s", n, how), func(b *testing.B) {
				benchAssignmentAdded(b, zk, n, how)
			})
		}
	}
}

func benchAssignmentAdded(b *testing.B, zk *testenv.ZooKeeper, n int, how string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chroot := fmt.Sprintf("/bench-assign-%d-%s", n, how)
	open := func() *zkstore.Store {
		s, err := zkstore.Open(ctx, zkstore.Config{Servers: zk.Addrs(), Chroot: chroot}, zkstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	writer, agentStore := open(), open()
	const agentID = "node-1"
	assignment := func(id string) cluster.Assignment {
		// About the size of a real assignment: an image, env, ports.
		return cluster.Assignment{TaskID: id, AgentID: agentID, Owner: cluster.OwnerApp, OwnerID: "/web/app",
			Version: "2026-12-07T05:00:00Z", CreatedAt: time.Unix(1796000000, 0).UTC(),
			Spec: cluster.TaskSpec{Image: "registry.example/web/app:1.2.3",
				Env:       map[string]string{"MODE": "production", "PORT0": "31000", "LOG_LEVEL": "info"},
				Resources: cluster.Resources{CPUs: 0.5, Mem: 256},
				Ports:     []cluster.PortSpec{{Name: "http", ContainerPort: 8080, HostPort: 31000, Protocol: "tcp"}}}}
	}
	sc := &StateCluster{State: cluster.NewState(agentStore), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := sc.RegisterAgent(ctx, cluster.Agent{ID: agentID, Address: "127.0.0.2"}); err != nil {
		b.Fatal(err)
	}
	var b0 cluster.Batch
	for i := range n {
		b0.PutAssignment(assignment(fmt.Sprintf("web.held%04d", i)))
	}
	if err := writer.Multi(ctx, b0.Ops()...); err != nil {
		b.Fatal(err)
	}
	var watch <-chan []cluster.Assignment
	if how == "cache" {
		var err error
		if watch, err = sc.WatchAssignments(ctx, agentID); err != nil {
			b.Fatal(err)
		}
	} else {
		watch = sc.State.WatchAssignments(ctx, agentID, func(err error) { b.Log(err) })
	}
	waitLen := func(want int) {
		for set := range watch {
			if len(set) == want {
				return
			}
		}
		b.Fatal("the assignment watch ended")
	}
	waitLen(n)
	var reads int64
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("web.new%06d", i)
		var add cluster.Batch
		add.PutAssignment(assignment(id))
		r0, c0 := agentStore.Stats().Reads, cpuTime(b)
		if err := writer.Multi(ctx, add.Ops()...); err != nil {
			b.Fatal(err)
		}
		waitLen(n + 1)
		reads += agentStore.Stats().Reads - r0
		cpu += cpuTime(b) - c0
		// Back to N tasks, not counted.
		b.StopTimer()
		var del cluster.Batch
		del.DeleteAssignment(agentID, id, cluster.AnyVersion)
		if err := writer.Multi(ctx, del.Ops()...); err != nil {
			b.Fatal(err)
		}
		waitLen(n)
		b.StartTimer()
	}
	b.ReportMetric(float64(reads)/float64(b.N), "reads/change")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/change")
}
