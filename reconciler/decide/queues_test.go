package decide

import (
	"testing"
	"time"

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

// A queue's running tasks count against its maxCapacity when new tasks are
// placed, not only the tasks placed in the same decision: a queue at its
// limit gets nothing more, whatever pass its tasks were started in.
func TestRunningTasksCountAgainstTheirQueue(t *testing.T) {
	set := &manifests.Set{
		Queues: []manifests.Queue{{ID: "/q", Capacity: 10, MaxCapacity: 50}, {ID: "/other", Capacity: 90}},
		Apps: []manifests.App{
			{ID: "/a", Queue: "/q", Instances: 5, CPUs: 1, Mem: 10, Cmd: "sleep 1d"},
			{ID: "/b", Queue: "/q", Instances: 3, CPUs: 1, Mem: 10, Cmd: "sleep 1d"},
		},
	}
	agents := []cluster.Agent{{ID: "a1", Hostname: "a1", Reachable: true, Resources: cluster.Resources{CPUs: 10, Mem: 1000, Disk: 1000}}}
	in := Input{Desired: &manifests.Set{Queues: set.Queues, Apps: set.Apps[:1]}, Agents: agents, Now: time.Unix(1e9, 0)}
	in.Apply(Decide(in, Options{Prune: true}).Changes)
	in.PlayAgents(in.Now)
	if n := len(in.Tasks); n != 5 {
		t.Fatalf("/a placed %d tasks, want 5", n)
	}
	in.Desired = set
	for _, parts := range []bool{false, true} {
		next := in
		if parts {
			next.Tasks, next.TaskParts = nil, [][]cluster.Task{in.Tasks}
		}
		out := Decide(next, Options{Prune: true})
		for _, c := range out.Changes {
			if s, ok := c.(StartTask); ok {
				t.Fatalf("parts %v: started %s in /q, which its running tasks already hold at its 50%% limit", parts, s.Assignment.OwnerID)
			}
		}
	}
}
