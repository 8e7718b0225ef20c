package allocbench

import (
	"fmt"
	"math/rand/v2"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

// Mix chooses which constraints the synthetic apps carry.
type Mix int

const (
	// Mixed gives apps a blend: most unconstrained, others UNIQUE, GROUP_BY,
	// MAX_PER, LIKE and IS, on hostname and attributes.
	Mixed Mix = iota
	// None leaves every app unconstrained.
	None
	// Unique gives every app hostname:UNIQUE.
	Unique
)

// Spec describes a synthetic workload.
type Spec struct {
	Agents int
	Tasks  int
	// Apps defaults to Tasks/100 (at least 1), so 1,000,000 tasks come in
	// 10,000 apps.
	Apps int
	Mix  Mix
	Seed uint64
	// Queues, when set, charges apps round robin to a small queue tree.
	Queues bool
	// Serials gives every agent a unique attribute, so every agent is its
	// own equivalence class: the worst case for class-based indexing.
	Serials bool
}

// Agents per rack, and racks per zone, in the synthetic cluster.
const (
	agentsPerRack = 40
	zones         = 3
)

// Build returns the cluster and demand for a spec. Agents have 64 cpus,
// 256 GiB of memory, 1 TiB of disk and the default port range; racks hold
// 40 agents, spread over 3 zones; a quarter have SSDs. Tasks are small
// (0.1-1 cpus, 64-1024 MiB), so the default workload fits in about half
// the cluster, as a busy real cluster would.
func Build(sp Spec) (allocator.Cluster, []allocator.Group, []manifests.Queue) {
	rng := rand.New(rand.NewPCG(sp.Seed, 42))
	c := allocator.Cluster{Agents: make([]allocator.Agent, sp.Agents)}
	for i := range c.Agents {
		rack := i / agentsPerRack
		disk := "hdd"
		if i%4 == 0 {
			disk = "ssd"
		}
		c.Agents[i] = allocator.Agent{
			ID:       fmt.Sprintf("agent-%05d", i),
			Hostname: fmt.Sprintf("node-%05d.example", i),
			Attributes: map[string]string{
				"rack": fmt.Sprintf("r%03d", rack),
				"zone": fmt.Sprintf("z%d", rack%zones),
				"disk": disk,
			},
			Total: allocator.Resources{CPUs: 64, Mem: 256 * 1024, Disk: 1024 * 1024},
		}
		if sp.Serials {
			c.Agents[i].Attributes["serial"] = fmt.Sprintf("s%05d", i)
		}
	}
	apps := sp.Apps
	if apps <= 0 {
		apps = max(1, sp.Tasks/100)
	}
	var queues []manifests.Queue
	leaves := []string{""}
	if sp.Queues {
		queues = []manifests.Queue{
			{ID: "/biz1", Capacity: 60, MaxCapacity: 100},
			{ID: "/biz1/q11", Capacity: 50, MaxCapacity: 100},
			{ID: "/biz1/q12", Capacity: 50, MaxCapacity: 80},
			{ID: "/biz2", Capacity: 40, MaxCapacity: 70, Weight: 2},
		}
		leaves = []string{"/biz1/q11", "/biz1/q12", "/biz2"}
	}
	cpus := []float64{0.1, 0.25, 0.5, 1}
	mems := []float64{64, 128, 256, 512, 1024}
	demand := make([]allocator.Group, apps)
	for i := range demand {
		n := sp.Tasks / apps
		if i < sp.Tasks%apps {
			n++
		}
		g := allocator.Group{
			ID:        fmt.Sprintf("/app-%05d", i),
			Instances: n,
			Resources: allocator.Resources{CPUs: cpus[rng.IntN(len(cpus))], Mem: mems[rng.IntN(len(mems))], Disk: float64(rng.IntN(3) * 100)},
			Queue:     leaves[i%len(leaves)],
		}
		if rng.IntN(2) == 0 {
			g.HostPorts = []int{0}
		}
		g.Constraints = constraintsFor(sp.Mix, rng)
		demand[i] = g
	}
	return c, demand, queues
}

func constraintsFor(m Mix, rng *rand.Rand) []manifests.Constraint {
	switch m {
	case None:
		return nil
	case Unique:
		return []manifests.Constraint{{Field: "hostname", Operator: manifests.OpUnique}}
	}
	switch k := rng.IntN(20); {
	case k < 10:
		return nil
	case k < 12:
		return []manifests.Constraint{{Field: "hostname", Operator: manifests.OpUnique}}
	case k < 14:
		return []manifests.Constraint{{Field: "rack", Operator: manifests.OpGroupBy}}
	case k < 15:
		return []manifests.Constraint{{Field: "zone", Operator: manifests.OpGroupBy, Value: "3"}}
	case k < 17:
		return []manifests.Constraint{{Field: "zone", Operator: manifests.OpLike, Value: "z[01]"}}
	case k < 18:
		if rng.IntN(2) == 0 {
			return []manifests.Constraint{{Field: "hostname", Operator: manifests.OpLike, Value: fmt.Sprintf(`node-\d{4}%d\.example`, rng.IntN(10))}}
		}
		return []manifests.Constraint{{Field: "hostname", Operator: manifests.OpMaxPer, Value: "2"}}
	case k < 19:
		return []manifests.Constraint{{Field: "disk", Operator: manifests.OpIs, Value: "ssd"}, {Field: "rack", Operator: manifests.OpUnlike, Value: "r00[0-4]"}}
	}
	return []manifests.Constraint{{Field: "rack", Operator: manifests.OpMaxPer, Value: "10"}}
}
