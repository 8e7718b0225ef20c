package allocator_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

// randomScenario builds a small random cluster and demand, with every
// operator, missing attributes, running tasks, scarce ports and a random
// queue tree.
func randomScenario(rng *rand.Rand) (allocator.Cluster, []allocator.Group, allocator.Options) {
	var c allocator.Cluster
	n := rng.IntN(12)
	for i := range n {
		a := allocator.Agent{
			ID:         fmt.Sprintf("a%d", i),
			Hostname:   fmt.Sprintf("h%d", rng.IntN(n+1)), // hostnames may repeat
			Total:      allocator.Resources{CPUs: float64(rng.IntN(8)) / 2, Mem: float64(rng.IntN(5) * 256), Disk: float64(rng.IntN(3) * 100)},
			Attributes: map[string]string{},
		}
		if rng.IntN(4) > 0 {
			a.Attributes["rack"] = fmt.Sprintf("r%d", rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			a.Attributes["zone"] = fmt.Sprintf("z%d", rng.IntN(2))
		}
		if rng.IntN(2) == 0 {
			b := 31000 + rng.IntN(4)
			a.Ports = []allocator.PortRange{{Begin: b, End: b + rng.IntN(3)}}
		}
		c.Agents = append(c.Agents, a)
	}
	fields := []string{"hostname", "rack", "zone"}
	ops := []manifests.Constraint{
		{Operator: "UNIQUE"}, {Operator: "CLUSTER"}, {Operator: "CLUSTER", Value: "r1"}, {Operator: "GROUP_BY"},
		{Operator: "GROUP_BY", Value: "2"}, {Operator: "LIKE", Value: "r[01]|h[0-3]"}, {Operator: "UNLIKE", Value: "r0|h1"},
		{Operator: "MAX_PER", Value: "2"}, {Operator: "IS", Value: "z1"},
	}
	var demand []allocator.Group
	for i := range rng.IntN(8) {
		g := allocator.Group{
			ID:        fmt.Sprintf("/g%d", i%5), // ids may repeat
			Instances: rng.IntN(6),
			Resources: allocator.Resources{CPUs: float64(rng.IntN(4)) / 4, Mem: float64(rng.IntN(3) * 128), Disk: float64(rng.IntN(2) * 50)},
		}
		for range rng.IntN(3) {
			k := ops[rng.IntN(len(ops))]
			k.Field = fields[rng.IntN(len(fields))]
			g.Constraints = append(g.Constraints, k)
		}
		for range rng.IntN(3) {
			p := 0
			if rng.IntN(3) == 0 {
				p = 31000 + rng.IntN(6)
			}
			g.HostPorts = append(g.HostPorts, p)
		}
		demand = append(demand, g)
	}
	for range rng.IntN(6) {
		if n == 0 {
			break
		}
		r := allocator.Running{
			AgentID:   fmt.Sprintf("a%d", rng.IntN(n)),
			Group:     fmt.Sprintf("/g%d", rng.IntN(5)),
			Resources: allocator.Resources{CPUs: 0.5, Mem: 128},
		}
		if rng.IntN(2) == 0 {
			r.HostPorts = []int{31000 + rng.IntN(4)}
		}
		c.Running = append(c.Running, r)
	}
	opts := allocator.Options{Seed: rng.Uint64(), Strategy: allocator.Strategy(rng.IntN(2))}
	if rng.IntN(2) == 0 {
		opts.Queues = []manifests.Queue{
			{ID: "/a", Capacity: float64(rng.IntN(60)), MaxCapacity: 100},
			{ID: "/a/x", Capacity: 50, MaxCapacity: float64(50 + rng.IntN(51))},
			{ID: "/a/y", Capacity: 50, MaxCapacity: 100, Weight: float64(1 + rng.IntN(3))},
			{ID: "/b", Capacity: 40, MaxCapacity: float64(40 + rng.IntN(61))},
		}
		leaves := []string{"", "/a/x", "/a/y", "/b"}
		for i := range demand {
			demand[i].Queue = leaves[rng.IntN(len(leaves))]
		}
	}
	return c, demand, opts
}

// TestProperties checks, on thousands of random clusters and demands, that
// nothing is over-committed, every constraint holds, coupled groups are all
// or nothing, queues stay under their maximum, and the result depends only
// on the inputs and the seed.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		c, demand, opts := randomScenario(rng)
		res, err := allocator.Allocate(c, demand, opts)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if err := checkResult(c, demand, opts, res); err != nil {
			t.Fatalf("case %d: %v\ncluster %+v\ndemand %+v\nopts %+v\nresult %+v", i, err, c, demand, opts, res)
		}
		again, _ := allocator.Allocate(c, demand, opts)
		if fmt.Sprint(again) != fmt.Sprint(res) {
			t.Fatalf("case %d: not deterministic", i)
		}
	}
}

// TestQueueGuarantees checks that every queue with enough demand gets its
// guaranteed share when the cluster is full, whatever the order of demand.
// Tasks are one cpu and agents whole cpus, so packing is never the limit.
func TestQueueGuarantees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		var c allocator.Cluster
		total := 0
		for a := range 1 + rng.IntN(10) {
			cpus := 1 + rng.IntN(16)
			total += cpus
			c.Agents = append(c.Agents, allocator.Agent{ID: fmt.Sprintf("a%d", a), Hostname: fmt.Sprintf("h%d", a), Total: allocator.Resources{CPUs: float64(cpus)}})
		}
		capA := float64(rng.IntN(50))
		capB := float64(rng.IntN(int(100 - capA)))
		qs := []manifests.Queue{{ID: "/a", Capacity: capA}, {ID: "/b", Capacity: capB, Weight: float64(1 + rng.IntN(4))}}
		var demand []allocator.Group
		want := map[string]int{}
		for k, q := range []string{"/a", "/b", ""} {
			n := rng.IntN(2 * total)
			demand = append(demand, allocator.Group{ID: fmt.Sprintf("/app%d", k), Instances: n, Resources: allocator.Resources{CPUs: 1}, Queue: q})
			guar := map[string]float64{"/a": capA, "/b": capB, "": 100 - capA - capB}[q]
			want[q] = min(n, int(float64(total)*guar/100))
		}
		rng.Shuffle(len(demand), func(i, j int) { demand[i], demand[j] = demand[j], demand[i] })
		opts := allocator.Options{Queues: qs, Seed: uint64(i)}
		res := mustAllocate(t, c, demand, opts)
		for k, g := range res.Groups {
			if got := len(g.Placements); got < want[demand[k].Queue] {
				t.Fatalf("case %d: queue %q placed %d, guaranteed %d (cluster %d cpus, caps %v/%v)", i, demand[k].Queue, got, want[demand[k].Queue], total, capA, capB)
			}
		}
		if res.Placed() < min(total, demand[0].Instances+demand[1].Instances+demand[2].Instances) {
			t.Fatalf("case %d: placed %d while %d cpus were free and demand remained", i, res.Placed(), total)
		}
	}
}

// TestGroupByEven checks GROUP_BY's promise on random rack layouts with
// room to spare: instances are spread evenly (counts differ by at most
// one) when the count is absent or covers every rack, over every rack when
// no count is given, and a count larger than the racks there are allows no
// more instances than racks.
func TestGroupByEven(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		racks := 1 + rng.IntN(6)
		var c allocator.Cluster
		for r := range racks {
			for k := range 1 + rng.IntN(4) {
				id := fmt.Sprintf("r%d-%d", r, k)
				c.Agents = append(c.Agents, allocator.Agent{ID: id, Hostname: id, Total: allocator.Resources{CPUs: 100},
					Attributes: map[string]string{"rack": fmt.Sprintf("r%d", r)}})
			}
		}
		count := ""
		n := 0
		if rng.IntN(2) == 0 {
			n = 1 + rng.IntN(7)
			count = fmt.Sprint(n)
		}
		instances := 1 + rng.IntN(20)
		demand := []allocator.Group{{ID: "/g", Instances: instances, Resources: allocator.Resources{CPUs: 1}, Constraints: cons("rack", "GROUP_BY", count)}}
		opts := allocator.Options{Seed: rng.Uint64(), Strategy: allocator.Strategy(rng.IntN(2))}
		res := mustAllocate(t, c, demand, opts)
		g := res.Groups[0]
		if n > racks && instances > racks {
			if len(g.Placements) != 0 {
				t.Fatalf("case %d: GROUP_BY:%d over %d racks placed %d of %d", i, n, racks, len(g.Placements), instances)
			}
			continue
		}
		if g.Unplaced != 0 {
			t.Fatalf("case %d: %s", i, g.Reason)
		}
		per := perValue(c, g, "rack")
		lo, hi := instances, 0
		for r := range racks {
			k := per[fmt.Sprintf("r%d", r)]
			if n == 0 || k > 0 {
				lo = min(lo, k)
			}
			hi = max(hi, k)
		}
		if n == 0 && instances >= racks && len(per) != racks {
			t.Fatalf("case %d: GROUP_BY over %d racks used %v", i, racks, per)
		}
		// With a count below the number of racks, Marathon's rule (a new
		// value, or one with the fewest instances once n values are used)
		// promises no evenness, so only the other cases are checked.
		if (n == 0 || n >= racks) && hi-lo > 1 {
			t.Fatalf("case %d: GROUP_BY:%s uneven: %v", i, count, per)
		}
	}
}
