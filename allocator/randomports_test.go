package allocator

import (
	"testing"
)

func TestRandomPortsSpreadOverTheRangeWithoutReuse(t *testing.T) {
	c := Cluster{Agents: []Agent{{ID: "a1", Hostname: "a1", Total: Resources{CPUs: 100, Mem: 100000},
		Ports: []PortRange{{Begin: 31000, End: 31009}, {Begin: 32000, End: 32009}}}}}
	demand := []Group{{ID: "/web", Instances: 10, Resources: Resources{CPUs: 0.1, Mem: 1}, HostPorts: []int{0, 0}}}
	firsts := map[int]bool{}
	for seed := uint64(1); seed <= 8; seed++ {
		res, err := Allocate(c, demand, Options{Seed: seed, RandomPorts: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, p := range res.Groups[0].Placements {
			for _, port := range p.HostPorts {
				if seen[port] {
					t.Fatalf("seed %d: port %d handed out twice", seed, port)
				}
				if !(port >= 31000 && port <= 31009 || port >= 32000 && port <= 32009) {
					t.Fatalf("seed %d: port %d outside the agent's ranges", seed, port)
				}
				seen[port] = true
			}
		}
		if len(seen) != 20 {
			t.Fatalf("seed %d: %d ports for 10 tasks x 2", seed, len(seen))
		}
		firsts[res.Groups[0].Placements[0].HostPorts[0]] = true
	}
	if len(firsts) < 2 {
		t.Errorf("eight seeds all started at the same port: not random")
	}
	// The default stays the lowest free port, for readable plans.
	res, _ := Allocate(c, demand, Options{Seed: 1})
	if got := res.Groups[0].Placements[0].HostPorts[0]; got != 31000 {
		t.Errorf("default first port %d, want 31000", got)
	}
}
