package allocator_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

// FuzzConstraint feeds arbitrary constraint triples (the part of the input
// the allocator parses: regular expressions and counts) and checks that
// allocation never panics and every placement it makes is valid.
func FuzzConstraint(f *testing.F) {
	for _, c := range [][3]string{
		{"hostname", "UNIQUE", ""}, {"rack", "CLUSTER", ""}, {"rack", "CLUSTER", "r1"}, {"rack", "GROUP_BY", ""},
		{"rack", "GROUP_BY", "3"}, {"rack", "LIKE", "r[12]"}, {"rack", "UNLIKE", "r1|r2"}, {"rack", "MAX_PER", "2"},
		{"rack", "IS", "r2"}, {"@hostname", "LIKE", "node-.*"}, {"rack", "LIKE", "("}, {"rack", "MAX_PER", "-1"},
		{"", "UNIQUE", ""}, {"zone", "GROUP_BY", "99999999999999999999"},
	} {
		f.Add(c[0], c[1], c[2], uint8(5), uint64(1))
	}
	f.Fuzz(func(t *testing.T, field, op, value string, instances uint8, seed uint64) {
		c := allocator.Cluster{Agents: agents(6, allocator.Resources{CPUs: 2, Mem: 512}, func(i int) map[string]string {
			if i == 5 {
				return nil
			}
			return map[string]string{"rack": fmt.Sprintf("r%d", i%3+1), "zone": fmt.Sprintf("z%d", i%2)}
		})}
		demand := []allocator.Group{{
			ID: "/f", Instances: int(instances % 16), Resources: allocator.Resources{CPUs: 0.5, Mem: 100},
			HostPorts: []int{0}, Constraints: []manifests.Constraint{{Field: field, Operator: op, Value: value}},
		}}
		opts := allocator.Options{Seed: seed, Strategy: allocator.Strategy(seed % 2)}
		res, err := allocator.Allocate(c, demand, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkResult(c, demand, opts, res); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzScenario lets the fuzzer pick random clusters and demands (through
// the generator's seed) to hunt for a panic or an invariant violation.
func FuzzScenario(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(237), uint64(1140))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		c, demand, opts := randomScenario(rand.New(rand.NewPCG(a, b)))
		res, err := allocator.Allocate(c, demand, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkResult(c, demand, opts, res); err != nil {
			t.Fatal(err)
		}
	})
}
