package decide

import (
	"sort"

	"github.com/berthops/berth/allocator"
	"strings"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// QueueUsage is one capacity queue as GET /v1/queues shows it: its shares
// of the cluster and what its running tasks use now.
type QueueUsage struct {
	ID          string  `json:"id"`
	Capacity    float64 `json:"capacity"`    // percent of the parent
	MaxCapacity float64 `json:"maxCapacity"` // percent of the parent
	// Guaranteed and Max are the absolute shares of the reachable agents'
	// resources (capacity and maxCapacity multiplied down the tree).
	Guaranteed cluster.Resources `json:"guaranteed"`
	Max        cluster.Resources `json:"max"`
	// Used sums the resources of running and starting tasks charged to the
	// queue or any queue below it.
	Used  cluster.Resources `json:"used"`
	Tasks int               `json:"tasks"`
}

// Queues reports every declared queue's shares and use. Tasks are charged
// to the queue their app or job names in the desired set.
func Queues(set *manifests.Set, agents []cluster.Agent, tasks []cluster.Task) []QueueUsage {
	return QueuesOfParts(set, agents, [][]cluster.Task{tasks})
}

// QueuesOfParts is Queues over tasks in parts, as the leader's cache keeps
// them (mirror.Snapshot.TaskParts): no copy of every task per request.
func QueuesOfParts(set *manifests.Set, agents []cluster.Agent, parts [][]cluster.Task) []QueueUsage {
	if set == nil {
		return []QueueUsage{}
	}
	var total cluster.Resources
	for _, a := range agents {
		if a.Reachable {
			total = addRes(total, a.Resources)
		}
	}
	queueOf := map[string]string{}
	for _, a := range set.Apps {
		queueOf[string(cluster.OwnerApp)+a.ID] = a.Queue
	}
	for _, j := range set.Jobs {
		queueOf[string(cluster.OwnerJob)+j.Name] = j.Queue
	}
	byID := map[string]manifests.Queue{}
	for _, q := range set.Queues {
		byID[q.ID] = q
	}
	out := make([]QueueUsage, 0, len(set.Queues))
	index := map[string]int{}
	// The shares come from the allocator's own queue tree: what is shown is
	// what placement enforces. A tree the allocator refuses (caught at load,
	// so only possible for a hand-made set) shows no shares.
	shares, _ := allocator.QueueShares(set.Queues, allocator.Resources{CPUs: total.CPUs, Mem: total.Mem, Disk: total.Disk})
	shareOf := map[string]allocator.QueueShare{}
	for _, sh := range shares {
		shareOf[sh.ID] = sh
	}
	for _, q := range set.Queues {
		sh := shareOf[q.ID]
		index[q.ID] = len(out)
		out = append(out, QueueUsage{ID: q.ID, Capacity: q.Capacity, MaxCapacity: maxCap(q),
			Guaranteed: fromAllocator(sh.Guaranteed), Max: fromAllocator(sh.Max)})
	}
	for _, part := range parts {
		for k := range part {
			t := &part[k]
			if t.Kill || t.Status.State.Terminal() {
				continue
			}
			q := queueOf[string(t.Owner)+t.OwnerID]
			for id := q; id != "" && id != "/"; id = parentQueue(id) {
				if i, ok := index[id]; ok {
					out[i].Used = addRes(out[i].Used, t.Spec.Resources)
					out[i].Tasks++
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func maxCap(q manifests.Queue) float64 {
	if q.MaxCapacity <= 0 {
		return 100
	}
	return q.MaxCapacity
}

func parentQueue(id string) string {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return ""
	}
	return id[:i]
}

func addRes(a, b cluster.Resources) cluster.Resources {
	return cluster.Resources{CPUs: a.CPUs + b.CPUs, Mem: a.Mem + b.Mem, Disk: a.Disk + b.Disk}
}

func fromAllocator(r allocator.Resources) cluster.Resources {
	return cluster.Resources{CPUs: r.CPUs, Mem: r.Mem, Disk: r.Disk}
}
