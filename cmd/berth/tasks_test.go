package main

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

// BenchmarkRenderTasks renders `berth tasks` for 10,000 tasks, a large
// Marathon-sized cluster: the table must stay instant to print.
func BenchmarkRenderTasks(b *testing.B) {
	tasks := make([]cluster.Task, 0, 10000)
	for i := range 10000 {
		tasks = append(tasks, cluster.Task{
			Assignment: cluster.Assignment{TaskID: fmt.Sprintf("app%d.%012x", i%500, i), Owner: cluster.OwnerApp, OwnerID: fmt.Sprintf("/team/app%d", i%500),
				Version: "fe04cff9ccb5", AgentID: fmt.Sprintf("a%d", i%100), CreatedAt: goldenNow.Add(-time.Duration(i) * time.Second)},
			Status: cluster.TaskStatus{State: cluster.TaskRunning, Health: cluster.HealthHealthy, HostPorts: []int{31000 + i%100}, StartedAt: goldenNow.Add(-time.Duration(i) * time.Second)},
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		renderTasks(io.Discard, tasks, goldenNow)
	}
}
