package allocator_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// agents returns n agents node-1..node-n with the given resources and
// attributes from attr(i).
func agents(n int, total allocator.Resources, attr func(i int) map[string]string) []allocator.Agent {
	out := make([]allocator.Agent, n)
	for i := range out {
		out[i] = allocator.Agent{ID: fmt.Sprintf("a%d", i+1), Hostname: fmt.Sprintf("node-%d", i+1), Total: total}
		if attr != nil {
			out[i].Attributes = attr(i)
		}
	}
	return out
}

func cons(field, op, value string) []manifests.Constraint {
	return []manifests.Constraint{{Field: field, Operator: op, Value: value}}
}

func rackOf(racks int) func(int) map[string]string {
	return func(i int) map[string]string { return map[string]string{"rack": fmt.Sprintf("r%d", i%racks+1)} }
}

var small = allocator.Resources{CPUs: 4, Mem: 1024, Disk: 1000}

func mustAllocate(t *testing.T, c allocator.Cluster, demand []allocator.Group, opts allocator.Options) allocator.Result {
	t.Helper()
	res, err := allocator.Allocate(c, demand, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkResult(c, demand, opts, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// perValue counts a group's placements per value of an agent field.
func perValue(c allocator.Cluster, g allocator.GroupResult, field string) map[string]int {
	byID := map[string]allocator.Agent{}
	for _, a := range c.Agents {
		byID[a.ID] = a
	}
	out := map[string]int{}
	for _, p := range g.Placements {
		a := byID[p.AgentID]
		v := a.Attributes[field]
		if field == "hostname" {
			v = a.Hostname
		}
		out[v]++
	}
	return out
}

func TestOperators(t *testing.T) {
	one := allocator.Resources{CPUs: 1, Mem: 64}
	tests := []struct {
		name   string
		agents []allocator.Agent
		group  allocator.Group
		field  string
		want   map[string]int // placements per value of field
	}{
		{"UNIQUE hostname", agents(4, small, nil), allocator.Group{ID: "/u", Instances: 4, Resources: one, Constraints: cons("hostname", "UNIQUE", "")},
			"hostname", map[string]int{"node-1": 1, "node-2": 1, "node-3": 1, "node-4": 1}},
		{"UNIQUE attribute", agents(6, small, rackOf(3)), allocator.Group{ID: "/u", Instances: 3, Resources: one, Constraints: cons("rack", "UNIQUE", "")},
			"rack", map[string]int{"r1": 1, "r2": 1, "r3": 1}},
		{"CLUSTER with value", agents(6, small, rackOf(3)), allocator.Group{ID: "/c", Instances: 5, Resources: one, Constraints: cons("rack", "CLUSTER", "r2")},
			"rack", map[string]int{"r2": 5}},
		{"CLUSTER without value follows the first", agents(6, small, rackOf(3)), allocator.Group{ID: "/c", Instances: 6, Resources: one, Constraints: cons("rack", "CLUSTER", "")},
			"rack", map[string]int{"r1": 6}},
		{"GROUP_BY without count spreads over values", agents(6, small, rackOf(3)), allocator.Group{ID: "/g", Instances: 6, Resources: one, Constraints: cons("rack", "GROUP_BY", "")},
			"rack", map[string]int{"r1": 2, "r2": 2, "r3": 2}},
		{"GROUP_BY with count", agents(6, small, rackOf(3)), allocator.Group{ID: "/g", Instances: 7, Resources: one, Constraints: cons("rack", "GROUP_BY", "3")},
			"rack", map[string]int{"r1": 3, "r2": 2, "r3": 2}},
		{"MAX_PER", agents(4, small, rackOf(2)), allocator.Group{ID: "/m", Instances: 4, Resources: one, Constraints: cons("rack", "MAX_PER", "2")},
			"rack", map[string]int{"r1": 2, "r2": 2}},
		{"LIKE", agents(6, small, rackOf(3)), allocator.Group{ID: "/l", Instances: 12, Resources: one, Constraints: cons("rack", "LIKE", "r[13]")},
			"rack", map[string]int{"r1": 8, "r3": 4}},
		{"UNLIKE", agents(6, small, rackOf(3)), allocator.Group{ID: "/l", Instances: 8, Resources: one, Constraints: cons("rack", "UNLIKE", "r[13]")},
			"rack", map[string]int{"r2": 8}},
		{"UNLIKE places on agents without the attribute", append(agents(1, small, rackOf(1)), allocator.Agent{ID: "bare", Hostname: "bare", Total: small}),
			allocator.Group{ID: "/l", Instances: 4, Resources: one, Constraints: cons("rack", "UNLIKE", "r1")},
			"rack", map[string]int{"": 4}},
		{"LIKE never places on agents without the attribute", append(agents(1, small, rackOf(1)), allocator.Agent{ID: "bare", Hostname: "bare", Total: small}),
			allocator.Group{ID: "/l", Instances: 4, Resources: one, Constraints: cons("rack", "LIKE", ".*")},
			"rack", map[string]int{"r1": 4}},
		{"IS", agents(6, small, rackOf(3)), allocator.Group{ID: "/i", Instances: 2, Resources: one, Constraints: cons("rack", "IS", "r3")},
			"rack", map[string]int{"r3": 2}},
		{"LIKE on hostname", agents(4, small, nil), allocator.Group{ID: "/h", Instances: 8, Resources: one, Constraints: cons("hostname", "LIKE", "node-[24]")},
			"hostname", map[string]int{"node-2": 4, "node-4": 4}},
		{"MAX_PER on hostname", agents(3, small, nil), allocator.Group{ID: "/h", Instances: 3, Resources: one, Constraints: cons("@hostname", "MAX_PER", "1")},
			"hostname", map[string]int{"node-1": 1, "node-2": 1, "node-3": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := allocator.Cluster{Agents: tt.agents}
			res := mustAllocate(t, c, []allocator.Group{tt.group}, allocator.Options{Seed: 7})
			g := res.Groups[0]
			if g.Unplaced != 0 {
				t.Fatalf("unplaced %d: %s", g.Unplaced, g.Reason)
			}
			got := perValue(c, g, tt.field)
			if tt.name == "CLUSTER without value follows the first" && len(got) == 1 {
				return // which rack comes first depends on the seed; one rack is the point
			}
			if tt.name == "GROUP_BY with count" {
				// one value gets the odd instance; which one is a tie
				n3 := 0
				for _, v := range got {
					if v == 3 {
						n3++
					}
				}
				if n3 == 1 && len(got) == 3 {
					return
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("placements per %s (-want +got):\n%s", tt.field, diff)
			}
		})
	}
}

func TestRunningTasksCount(t *testing.T) {
	c := allocator.Cluster{
		Agents: agents(3, small, nil),
		Running: []allocator.Running{
			{AgentID: "a1", Group: "/u", Resources: allocator.Resources{CPUs: 1}},
			{AgentID: "a2", Group: "/other", Resources: allocator.Resources{CPUs: 4}},
		},
	}
	res := mustAllocate(t, c, []allocator.Group{{ID: "/u", Instances: 1, Resources: allocator.Resources{CPUs: 1}, Constraints: cons("hostname", "UNIQUE", "")}}, allocator.Options{})
	if got := res.Groups[0].Placements; len(got) != 1 || got[0].AgentID != "a3" {
		t.Errorf("placements = %v, want the one agent neither full nor already running /u (a3)", got)
	}
}

func TestHostPorts(t *testing.T) {
	ag := agents(2, small, nil)
	ag[0].Ports = []allocator.PortRange{{Begin: 8000, End: 8001}}
	ag[1].Ports = []allocator.PortRange{{Begin: 9000, End: 9000}}
	c := allocator.Cluster{Agents: ag, Running: []allocator.Running{{AgentID: "a1", HostPorts: []int{8000}}}}
	res := mustAllocate(t, c, []allocator.Group{
		{ID: "/fixed", Instances: 2, HostPorts: []int{8001}},
		{ID: "/any", Instances: 2, HostPorts: []int{0}},
	}, allocator.Options{})
	if g := res.Groups[0]; len(g.Placements) != 1 || g.Placements[0].AgentID != "a1" || g.Placements[0].HostPorts[0] != 8001 {
		t.Errorf("fixed: %+v", g)
	}
	if g := res.Groups[1]; len(g.Placements) != 1 || g.Placements[0].AgentID != "a2" || g.Placements[0].HostPorts[0] != 9000 {
		t.Errorf("any: %+v", g)
	}
}

func TestStrategies(t *testing.T) {
	c := allocator.Cluster{Agents: agents(4, small, nil)}
	demand := []allocator.Group{{ID: "/w", Instances: 4, Resources: allocator.Resources{CPUs: 1, Mem: 100}}}
	pack := mustAllocate(t, c, demand, allocator.Options{Strategy: allocator.BinPack, Seed: 3})
	if n := len(perValue(c, pack.Groups[0], "hostname")); n != 1 {
		t.Errorf("bin-pack used %d agents for 4 tasks that fit on one", n)
	}
	spread := mustAllocate(t, c, demand, allocator.Options{Strategy: allocator.Spread, Seed: 3})
	if n := len(perValue(c, spread.Groups[0], "hostname")); n != 4 {
		t.Errorf("spread used %d agents for 4 tasks on 4 agents", n)
	}
	again := mustAllocate(t, c, demand, allocator.Options{Strategy: allocator.BinPack, Seed: 3})
	if diff := cmp.Diff(pack, again); diff != "" {
		t.Errorf("same seed, different result:\n%s", diff)
	}
	// Listing the agents in another order must not change the result.
	rev := allocator.Cluster{Agents: []allocator.Agent{c.Agents[3], c.Agents[2], c.Agents[1], c.Agents[0]}}
	if diff := cmp.Diff(pack, mustAllocate(t, rev, demand, allocator.Options{Strategy: allocator.BinPack, Seed: 3})); diff != "" {
		t.Errorf("agent order changed the result:\n%s", diff)
	}
}

func TestQueues(t *testing.T) {
	c := allocator.Cluster{Agents: agents(10, allocator.Resources{CPUs: 10, Mem: 10000}, nil)} // 100 cpus
	task := allocator.Resources{CPUs: 1, Mem: 10}
	queues := []manifests.Queue{
		{ID: "/a", Capacity: 30, MaxCapacity: 100},
		{ID: "/b", Capacity: 70, MaxCapacity: 100},
		{ID: "/c", Capacity: 0, MaxCapacity: 20},
	}
	placed := func(res allocator.Result) map[string]int {
		out := map[string]int{}
		for _, g := range res.Groups {
			out[g.ID] += len(g.Placements)
		}
		return out
	}
	t.Run("guarantees under contention", func(t *testing.T) {
		// /a asks first and for everything; /b still gets its 70.
		demand := []allocator.Group{
			{ID: "/a", Instances: 100, Resources: task, Queue: "/a"},
			{ID: "/b", Instances: 100, Resources: task, Queue: "/b"},
		}
		got := placed(mustAllocate(t, c, demand, allocator.Options{Queues: queues}))
		if diff := cmp.Diff(map[string]int{"/a": 30, "/b": 70}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("idle capacity up to maxCapacity", func(t *testing.T) {
		demand := []allocator.Group{
			{ID: "/a", Instances: 100, Resources: task, Queue: "/a"},
			{ID: "/c", Instances: 100, Resources: task, Queue: "/c"},
		}
		res := mustAllocate(t, c, demand, allocator.Options{Queues: queues})
		got := placed(res)
		if got["/c"] != 20 || got["/a"] != 80 {
			t.Errorf("placed %v, want /c capped at 20 and /a taking the other 80", got)
		}
		if r := res.Groups[1].Reason; !strings.Contains(r, "queue /c is at its maxCapacity") {
			t.Errorf("reason %q does not name the queue limit", r)
		}
	})
	t.Run("DRF shares idle capacity by weight", func(t *testing.T) {
		qs := []manifests.Queue{{ID: "/x", Capacity: 10, Weight: 1}, {ID: "/y", Capacity: 10, Weight: 3}}
		demand := []allocator.Group{
			{ID: "/x", Instances: 100, Resources: task, Queue: "/x"},
			{ID: "/y", Instances: 100, Resources: task, Queue: "/y"},
		}
		got := placed(mustAllocate(t, c, demand, allocator.Options{Queues: qs}))
		if got["/x"] != 25 || got["/y"] != 75 {
			t.Errorf("placed %v, want 25/75 for weights 1/3", got)
		}
	})
	t.Run("running tasks count against the share", func(t *testing.T) {
		c := c
		c.Running = []allocator.Running{{AgentID: "a1", Queue: "/c", Resources: allocator.Resources{CPUs: 10}}}
		demand := []allocator.Group{{ID: "/c", Instances: 100, Resources: task, Queue: "/c"}}
		if got := placed(mustAllocate(t, c, demand, allocator.Options{Queues: queues})); got["/c"] != 10 {
			t.Errorf("placed %v, want 10 more on top of 10 running (max 20)", got)
		}
	})
}

func TestInputErrors(t *testing.T) {
	c := allocator.Cluster{Agents: []allocator.Agent{{ID: "a"}, {ID: "a"}}}
	if _, err := allocator.Allocate(c, nil, allocator.Options{}); err == nil || !strings.Contains(err.Error(), `id "a" appears twice`) {
		t.Errorf("duplicate agent: err = %v", err)
	}
	for _, tt := range []struct {
		qs   []manifests.Queue
		want string
	}{
		{[]manifests.Queue{{ID: "/a/b", Capacity: 10}}, "parent queue /a is not declared"},
		{[]manifests.Queue{{ID: "/a", Capacity: 60}, {ID: "/b", Capacity: 50}}, "add up to 110%"},
		{[]manifests.Queue{{ID: "/a", Capacity: 60, MaxCapacity: 50, Origin: manifests.Origin{File: "queues.yaml", Line: 4}}}, "queues.yaml:4: queue /a: maxCapacity"},
		{[]manifests.Queue{{ID: "a"}}, "want a path"},
	} {
		if _, err := allocator.Allocate(allocator.Cluster{}, nil, allocator.Options{Queues: tt.qs}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("queues %v: err = %v, want %q", tt.qs, err, tt.want)
		}
	}
}

// TestExplanations checks the reasons given for tasks that do not fit
// against testdata/explanations.golden (go test -run Explanations -update).
func TestExplanations(t *testing.T) {
	origin := manifests.Origin{File: "apps/web.yaml", Line: 3}
	mem256 := allocator.Resources{CPUs: 4, Mem: 256}
	scenarios := []struct {
		name   string
		c      allocator.Cluster
		demand []allocator.Group
		queues []manifests.Queue
	}{
		{"unique leaves too few agents", allocator.Cluster{Agents: agents(2, small, nil)},
			[]allocator.Group{{ID: "/tomcat", Instances: 5, Resources: allocator.Resources{CPUs: 1}, Constraints: cons("hostname", "UNIQUE", "")}}, nil},
		{"memory", allocator.Cluster{Agents: agents(3, mem256, nil)},
			[]allocator.Group{{ID: "/db", Instances: 2, Resources: allocator.Resources{CPUs: 1, Mem: 512}}}, nil},
		{"memory runs out part way", allocator.Cluster{Agents: agents(2, allocator.Resources{CPUs: 4, Mem: 1024}, nil)},
			[]allocator.Group{{ID: "/cache", Instances: 5, Resources: allocator.Resources{CPUs: 0.5, Mem: 512}}}, nil},
		{"memory among constrained agents", allocator.Cluster{Agents: agents(4, mem256, rackOf(2))},
			[]allocator.Group{{ID: "/db", Instances: 1, Resources: allocator.Resources{Mem: 300}, Constraints: cons("rack", "IS", "r2")}}, nil},
		{"like matches nothing", allocator.Cluster{Agents: agents(4, small, rackOf(2))},
			[]allocator.Group{{ID: "/x", Instances: 1, Constraints: cons("rack", "LIKE", "r9"), Origin: origin}}, nil},
		{"two static constraints", allocator.Cluster{Agents: agents(4, small, rackOf(2))},
			[]allocator.Group{{ID: "/x", Instances: 1, Constraints: []manifests.Constraint{{Field: "rack", Operator: "IS", Value: "r1"}, {Field: "rack", Operator: "IS", Value: "r2"}}}}, nil},
		{"max per", allocator.Cluster{Agents: agents(4, small, rackOf(2))},
			[]allocator.Group{{ID: "/m", Instances: 6, Constraints: cons("rack", "MAX_PER", "2")}}, nil},
		{"group by needs more values", allocator.Cluster{Agents: agents(4, small, rackOf(2))},
			[]allocator.Group{{ID: "/g", Instances: 4, Constraints: cons("rack", "GROUP_BY", "3")}}, nil},
		{"unique rack", allocator.Cluster{Agents: agents(6, small, rackOf(3))},
			[]allocator.Group{{ID: "/r", Instances: 4, Constraints: cons("rack", "UNIQUE", "")}}, nil},
		{"cluster without value", allocator.Cluster{Agents: agents(2, allocator.Resources{CPUs: 1}, rackOf(2))},
			[]allocator.Group{{ID: "/c", Instances: 3, Resources: allocator.Resources{CPUs: 0.5}, Constraints: cons("rack", "CLUSTER", "")}}, nil},
		{"fixed host port", allocator.Cluster{Agents: agents(2, small, nil), Running: []allocator.Running{{AgentID: "a1", HostPorts: []int{31005}}}},
			[]allocator.Group{{ID: "/p", Instances: 2, HostPorts: []int{31005}}}, nil},
		{"port outside the range", allocator.Cluster{Agents: agents(2, small, nil)},
			[]allocator.Group{{ID: "/p", Instances: 1, HostPorts: []int{80}}}, nil},
		{"fragmented", allocator.Cluster{Agents: []allocator.Agent{
			{ID: "cpu", Hostname: "cpu", Total: allocator.Resources{CPUs: 8, Mem: 100}},
			{ID: "mem", Hostname: "mem", Total: allocator.Resources{CPUs: 1, Mem: 8000}}}},
			[]allocator.Group{{ID: "/f", Instances: 1, Resources: allocator.Resources{CPUs: 2, Mem: 1000}}}, nil},
		{"no agents", allocator.Cluster{}, []allocator.Group{{ID: "/a", Instances: 1}}, nil},
		{"bad regex", allocator.Cluster{Agents: agents(1, small, nil)},
			[]allocator.Group{{ID: "/x", Instances: 1, Constraints: cons("rack", "LIKE", "("), Origin: origin}}, nil},
		{"unknown queue", allocator.Cluster{Agents: agents(1, small, nil)},
			[]allocator.Group{{ID: "/x", Instances: 1, Queue: "/nope", Origin: origin}}, []manifests.Queue{{ID: "/a", Capacity: 50}}},
		{"too many instances", allocator.Cluster{Agents: agents(1, small, nil)},
			[]allocator.Group{{ID: "/x", Instances: 1 << 30}}, nil},
		{"negative resources", allocator.Cluster{Agents: agents(1, small, nil)},
			[]allocator.Group{{ID: "/x", Instances: 1, Resources: allocator.Resources{Mem: -1}, Origin: origin}}, nil},
		{"queue max", allocator.Cluster{Agents: agents(1, allocator.Resources{CPUs: 10, Mem: 1000}, nil)},
			[]allocator.Group{{ID: "/x", Instances: 5, Resources: allocator.Resources{CPUs: 1}, Queue: "/a"}}, []manifests.Queue{{ID: "/a", Capacity: 20, MaxCapacity: 30}}},
	}
	var b strings.Builder
	for _, sc := range scenarios {
		res, err := allocator.Allocate(sc.c, sc.demand, allocator.Options{Queues: sc.queues, Seed: 1})
		fmt.Fprintf(&b, "== %s\n", sc.name)
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			continue
		}
		if err := checkResult(sc.c, sc.demand, allocator.Options{Queues: sc.queues}, res); err != nil {
			t.Errorf("%s: %v", sc.name, err)
		}
		for _, g := range res.Groups {
			fmt.Fprintf(&b, "%s placed %d unplaced %d\n", g.ID, len(g.Placements), g.Unplaced)
			if g.Reason != "" {
				fmt.Fprintf(&b, "  %s\n", g.Reason)
			}
		}
		v, err := allocator.Fit(sc.c, sc.demand, allocator.Options{Queues: sc.queues, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "diff: %s", v)
	}
	golden(t, "explanations.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if the change is intended:\n%s", path, diff)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []allocator.Strategy{allocator.BinPack, allocator.Spread} {
		if got, err := allocator.ParseStrategy(s.String()); err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := allocator.ParseStrategy("random"); err == nil {
		t.Error("ParseStrategy accepted random")
	}
}
