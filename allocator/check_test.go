package allocator_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

func milli(f float64) int64 { return int64(math.Round(f * 1000)) }

// checkResult verifies, independently of the allocator's code, what every
// allocation must satisfy: counts add up, no resource or port is
// over-committed, every placement meets its group's constraints with
// Marathon's semantics, coupled groups are all or nothing, and no queue
// exceeds its maximum.
func checkResult(c allocator.Cluster, demand []allocator.Group, opts allocator.Options, res allocator.Result) error {
	if len(res.Groups) != len(demand) {
		return fmt.Errorf("%d group results for %d groups", len(res.Groups), len(demand))
	}
	type agentUse struct {
		a     allocator.Agent
		res   [3]int64
		ports map[int]bool
	}
	use := map[string]*agentUse{}
	for _, a := range c.Agents {
		use[a.ID] = &agentUse{a: a, ports: map[int]bool{}}
	}
	inRange := func(a allocator.Agent, p int) bool {
		rs := a.Ports
		if len(rs) == 0 {
			rs = []allocator.PortRange{{Begin: allocator.DefaultPortBegin, End: allocator.DefaultPortEnd}}
		}
		for _, r := range rs {
			if p >= r.Begin && p <= r.End {
				return true
			}
		}
		return false
	}
	for _, r := range c.Running {
		if u := use[r.AgentID]; u != nil {
			for _, p := range r.HostPorts {
				u.ports[p] = true
			}
		}
	}
	for gi, g := range res.Groups {
		d := demand[gi]
		want := max(0, d.Instances)
		if len(g.Placements)+g.Unplaced != want {
			return fmt.Errorf("%s: placed %d + unplaced %d != %d", d.ID, len(g.Placements), g.Unplaced, want)
		}
		if g.Unplaced > 0 && g.Reason == "" {
			return fmt.Errorf("%s: %d unplaced without a reason", d.ID, g.Unplaced)
		}
		for _, p := range g.Placements {
			u := use[p.AgentID]
			if u == nil {
				return fmt.Errorf("%s: placed on unknown agent %s", d.ID, p.AgentID)
			}
			u.res[0] += milli(d.Resources.CPUs)
			u.res[1] += milli(d.Resources.Mem)
			u.res[2] += milli(d.Resources.Disk)
			if len(p.HostPorts) != len(d.HostPorts) {
				return fmt.Errorf("%s: %d host ports for %d asked", d.ID, len(p.HostPorts), len(d.HostPorts))
			}
			for i, hp := range p.HostPorts {
				if d.HostPorts[i] != 0 && hp != d.HostPorts[i] {
					return fmt.Errorf("%s: host port %d given for fixed %d", d.ID, hp, d.HostPorts[i])
				}
				if !inRange(u.a, hp) {
					return fmt.Errorf("%s: host port %d outside the ranges of %s", d.ID, hp, p.AgentID)
				}
				if u.ports[hp] {
					return fmt.Errorf("%s: host port %d on %s given twice", d.ID, hp, p.AgentID)
				}
				u.ports[hp] = true
			}
		}
		if err := checkConstraints(c, d, g); err != nil {
			return err
		}
	}
	// Free before placement is total minus running; placements must fit it
	// (an agent already over-committed by running tasks gets nothing).
	running := map[string][3]int64{}
	for _, r := range c.Running {
		x := running[r.AgentID]
		x[0] += milli(r.Resources.CPUs)
		x[1] += milli(r.Resources.Mem)
		x[2] += milli(r.Resources.Disk)
		running[r.AgentID] = x
	}
	for id, u := range use {
		tot := [3]int64{milli(u.a.Total.CPUs), milli(u.a.Total.Mem), milli(u.a.Total.Disk)}
		for r := range 3 {
			if u.res[r] > 0 && running[id][r]+u.res[r] > tot[r] {
				return fmt.Errorf("agent %s over-committed in resource %d: running %d + placed %d > total %d", id, r, running[id][r], u.res[r], tot[r])
			}
		}
	}
	if len(c.Running) == 0 {
		for _, q := range res.Queues {
			if milli(q.Used.CPUs) > milli(q.Max.CPUs) || milli(q.Used.Mem) > milli(q.Max.Mem) || milli(q.Used.Disk) > milli(q.Max.Disk) {
				return fmt.Errorf("queue %s uses %+v over its max %+v", q.ID, q.Used, q.Max)
			}
		}
	}
	return nil
}

func agentValue(a allocator.Agent, field string) (string, bool) {
	if field == "hostname" || field == "@hostname" {
		return a.Hostname, true
	}
	v, ok := a.Attributes[field]
	return v, ok
}

func checkConstraints(c allocator.Cluster, d allocator.Group, g allocator.GroupResult) error {
	byID := map[string]allocator.Agent{}
	for _, a := range c.Agents {
		byID[a.ID] = a
	}
	coupled := false
	for _, k := range d.Constraints {
		switch k.Operator {
		case manifests.OpUnique, manifests.OpGroupBy, manifests.OpMaxPer:
			coupled = true
		}
		if k.Operator == manifests.OpLike || k.Operator == manifests.OpUnlike {
			if _, err := regexp.Compile("^(?:" + k.Value + ")$"); err != nil {
				return nil // the group is refused as a whole; nothing to check
			}
		}
		before := map[string]int{}
		for _, r := range c.Running {
			if r.Group != d.ID {
				continue
			}
			if a, ok := byID[r.AgentID]; ok {
				if v, ok := agentValue(a, k.Field); ok {
					before[v]++
				}
			}
		}
		added := map[string]int{}
		for _, p := range g.Placements {
			v, ok := agentValue(byID[p.AgentID], k.Field)
			if !ok {
				if k.Operator != manifests.OpUnlike {
					return fmt.Errorf("%s: %v placed on %s, which lacks %s", d.ID, k, p.AgentID, k.Field)
				}
				continue
			}
			added[v]++
			full := func(pattern string) bool { return regexp.MustCompile("^(?:" + pattern + ")$").MatchString(v) }
			ok = true
			switch k.Operator {
			case manifests.OpLike:
				ok = full(k.Value)
			case manifests.OpUnlike:
				ok = !full(k.Value)
			case manifests.OpIs:
				ok = v == k.Value
			case manifests.OpCluster:
				ok = k.Value == "" || v == k.Value
			}
			if !ok {
				return fmt.Errorf("%s: %v violated on %s (%s=%q)", d.ID, k, p.AgentID, k.Field, v)
			}
		}
		for v, n := range added {
			switch k.Operator {
			case manifests.OpUnique:
				if n > 1 || before[v] > 0 {
					return fmt.Errorf("%s: %v violated: %d new on %q, %d before", d.ID, k, n, v, before[v])
				}
			case manifests.OpMaxPer:
				limit, _ := strconv.Atoi(k.Value)
				if before[v]+n > max(limit, before[v]) {
					return fmt.Errorf("%s: %v violated: %d on %q", d.ID, k, before[v]+n, v)
				}
			case manifests.OpCluster:
				if k.Value != "" {
					break
				}
				if len(added) > 1 || (len(before) > 0 && before[v] == 0) {
					return fmt.Errorf("%s: %v violated: values %v after %v", d.ID, k, added, before)
				}
			}
		}
	}
	if coupled && len(g.Placements) != 0 && len(g.Placements) != d.Instances {
		return fmt.Errorf("%s: coupled group placed %d of %d", d.ID, len(g.Placements), d.Instances)
	}
	return nil
}
