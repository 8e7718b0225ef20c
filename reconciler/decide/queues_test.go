package decide

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func TestQueuesShareAndUse(t *testing.T) {
	set := &manifests.Set{
		Queues: []manifests.Queue{{ID: "/biz1", Capacity: 20, MaxCapacity: 50}, {ID: "/biz1/q11", Capacity: 40}, {ID: "/biz2", Capacity: 80}},
		Apps:   []manifests.App{{ID: "/web", Queue: "/biz1/q11"}},
		Jobs:   []manifests.Job{{Name: "nightly", Queue: "/biz2"}},
	}
	agents := []cluster.Agent{{ID: "a1", Reachable: true, Resources: cluster.Resources{CPUs: 10, Mem: 1000}}, {ID: "gone", Resources: cluster.Resources{CPUs: 99}}}
	task := func(owner cluster.OwnerKind, id string, cpus float64, state cluster.TaskState) cluster.Task {
		return cluster.Task{Assignment: cluster.Assignment{Owner: owner, OwnerID: id, Spec: cluster.TaskSpec{Resources: cluster.Resources{CPUs: cpus, Mem: 10}}},
			Status: cluster.TaskStatus{State: state}}
	}
	tasks := []cluster.Task{
		task(cluster.OwnerApp, "/web", 1, cluster.TaskRunning),
		task(cluster.OwnerApp, "/web", 1, cluster.TaskFinished), // ended: holds nothing
		task(cluster.OwnerJob, "nightly", 2, cluster.TaskRunning),
	}
	got := Queues(set, agents, tasks)
	want := []QueueUsage{
		{ID: "/biz1", Capacity: 20, MaxCapacity: 50, Guaranteed: cluster.Resources{CPUs: 2, Mem: 200}, Max: cluster.Resources{CPUs: 5, Mem: 500},
			Used: cluster.Resources{CPUs: 1, Mem: 10}, Tasks: 1},
		{ID: "/biz1/q11", Capacity: 40, MaxCapacity: 100, Guaranteed: cluster.Resources{CPUs: 0.8, Mem: 80}, Max: cluster.Resources{CPUs: 5, Mem: 500},
			Used: cluster.Resources{CPUs: 1, Mem: 10}, Tasks: 1},
		{ID: "/biz2", Capacity: 80, MaxCapacity: 100, Guaranteed: cluster.Resources{CPUs: 8, Mem: 800}, Max: cluster.Resources{CPUs: 10, Mem: 1000},
			Used: cluster.Resources{CPUs: 2, Mem: 10}, Tasks: 1},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); d != "" {
		t.Errorf("Queues (-want +got):\n%s", d)
	}
}
