package zkstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// BenchmarkPlacements10k places 10,000 tasks on 50 agents through a real
// single-node ZooKeeper: the leader commits the assignments (fenced, batched)
// and each agent reports a RUNNING status for its 200 tasks in one call, as
// an agent does after starting them. It reports ZooKeeper write transactions
// per 1,000 placements (target: at most 10) and the wall time of the whole.
func BenchmarkPlacements10k(b *testing.B) {
	zk := testenv.StartZooKeeper(b, 1)
	const tasks, agents = 10000, 50
	ctx := context.Background()
	spec := cluster.TaskSpec{
		Image: "registry.example/web/frontend:1.4.2", Cmd: "exec /app/server --port $PORT0",
		Env:       map[string]string{"MARATHON_APP_ID": "/web/frontend", "LOG_LEVEL": "info"},
		Labels:    map[string]string{"team": "web"},
		Resources: cluster.Resources{CPUs: 0.1, Mem: 64}, Network: "BRIDGE",
		Ports:        []cluster.PortSpec{{Name: "http", ContainerPort: 8080, HostPort: 31000, ServicePort: 10001, Protocol: "tcp"}},
		HealthChecks: []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: "/health", GracePeriod: 300 * time.Second, Interval: 60 * time.Second, Timeout: 20 * time.Second, MaxConsecutiveFailures: 3}},
	}
	var txns int64
	var elapsed, listing time.Duration
	for i := 0; b.Loop(); i++ {
		chroot := fmt.Sprintf("/bench-%d", i)
		leader := open(b, zk.Addrs(), chroot, "", "")
		agent := open(b, zk.Addrs(), chroot, "", "")
		lead, err := leader.Campaign(ctx, cluster.DirLeader, "s1")
		if err != nil {
			b.Fatal(err)
		}
		for a := range agents {
			if _, err := cluster.NewState(agent).RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%02d", a)}); err != nil {
				b.Fatal(err)
			}
		}
		before := leader.Stats().Transactions + agent.Stats().Transactions
		start := time.Now()

		var batch cluster.Batch
		now := time.Now()
		for t := range tasks {
			batch.PutAssignment(cluster.Assignment{
				TaskID: fmt.Sprintf("web_frontend.%08x", t), Owner: cluster.OwnerApp, OwnerID: "/web/frontend",
				Version: "3f9a1c", AgentID: fmt.Sprintf("agent-%02d", t%agents), Spec: spec, CreatedAt: now,
			})
		}
		if _, err := cluster.NewState(leader).Commit(ctx, lead, &batch); err != nil {
			b.Fatal(err)
		}
		st := cluster.NewState(agent)
		for a := range agents {
			var statuses []cluster.TaskStatus
			for t := a; t < tasks; t += agents {
				statuses = append(statuses, cluster.TaskStatus{
					TaskID: fmt.Sprintf("web_frontend.%08x", t), AgentID: fmt.Sprintf("agent-%02d", a),
					State: cluster.TaskRunning, Health: cluster.HealthHealthy, ContainerID: "0123456789ab",
					HostPorts: []int{31000 + t%1000}, StartedAt: now, UpdatedAt: now,
				})
			}
			if err := st.PutStatuses(ctx, statuses...); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		txns += leader.Stats().Transactions + agent.Stats().Transactions - before
		listStart := time.Now()
		all, err := cluster.NewState(leader).Tasks(ctx)
		if err != nil || len(all) != tasks {
			b.Fatalf("list tasks: %d, %v", len(all), err)
		}
		listing += time.Since(listStart)
		leader.Close()
		agent.Close()
	}
	b.ReportMetric(float64(txns)/float64(b.N)/(tasks/1000), "txn/1k-placements")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/10k-placements")
	b.ReportMetric(listing.Seconds()/float64(b.N), "s/list-10k-tasks")
}
