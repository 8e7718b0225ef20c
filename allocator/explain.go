package allocator

import (
	"fmt"
	"strings"

	"github.com/berthops/berth/manifests"
)

// diagnosis counts, over every agent, the first thing that rules it out for
// one more task of a group: the data behind a human reason, as Nomad's
// AllocMetric is behind `nomad plan`.
type diagnosis struct {
	agents    int
	staticRej []int // per rule
	dynRej    []int // per rule
	eligible  int   // agents that meet every constraint
	maxFree   vec   // over eligible agents
	maxPorts  int
	portRej   int // eligible agents where a fixed host port is taken or not offered
	port      int // the first such port
}

// diagnose runs after a search failed. It is a scan of the agents, by
// class for the attribute rules, which is fine on the failure path; an
// unconstrained group without fixed ports reads the fit tree's root
// instead, so a saturated cluster does not pay a scan per failing app.
func (s *state) diagnose(gr *groupRun) diagnosis {
	d := diagnosis{agents: len(s.agents), staticRej: make([]int, len(gr.rules)), dynRej: make([]int, len(gr.rules))}
	fixed := false
	for _, p := range gr.ports {
		fixed = fixed || p != 0
	}
	if len(gr.rules) == 0 && !fixed {
		d.eligible = len(s.agents)
		for r := range d.maxFree {
			d.maxFree[r] = s.tree.res[r][1]
		}
		d.maxPorts = int(s.tree.ports[1])
		return d
	}
	for r := range d.maxFree {
		d.maxFree[r] = -1
	}
	d.maxPorts = -1
classes:
	for ci := range s.classes {
		c := &s.classes[ci]
		for i := range gr.rules {
			r := &gr.rules[i]
			if r.hostname {
				continue
			}
			v, ok := c.attrs[r.field]
			if !r.matchStatic(v, ok) {
				d.staticRej[i] += c.hi - c.lo
				continue classes
			}
		}
		// Agents of a class that pass the hostname rules all fail the same
		// coupling rule on attributes, if any: find it once.
		classRej := -1
		for _, i := range gr.classRules {
			if r := &gr.rules[i]; !r.matchDynamic(c.attrs[r.field], gr.counts[i], gr.pins[i]) {
				classRej = i
				break
			}
		}
	agents:
		for pos := c.lo; pos < c.hi; pos++ {
			a := &s.agents[pos]
			for _, i := range gr.hostRules {
				if r := &gr.rules[i]; !r.dynamic && !r.matchStatic(a.hostname, true) {
					d.staticRej[i]++
					continue agents
				}
			}
			if classRej >= 0 {
				d.dynRej[classRej]++
				continue
			}
			for _, i := range gr.hostRules {
				if r := &gr.rules[i]; r.dynamic && !r.matchDynamic(a.hostname, gr.counts[i], gr.pins[i]) {
					d.dynRej[i]++
					continue agents
				}
			}
			d.eligible++
			for r := range d.maxFree {
				d.maxFree[r] = max(d.maxFree[r], a.free[r])
			}
			d.maxPorts = max(d.maxPorts, a.ports.free)
			for _, p := range gr.ports {
				if p != 0 && !a.ports.isFree(p) {
					if d.portRej == 0 {
						d.port = p
					}
					d.portRej++
					break
				}
			}
		}
	}
	return d
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// describe turns a diagnosis into one sentence.
func (s *state) describe(gr *groupRun, d diagnosis) string {
	if d.agents == 0 {
		return "there are no agents"
	}
	if d.eligible == 0 {
		best := -1
		for i, n := range d.dynRej {
			if n > 0 && (best < 0 || n > d.dynRej[best]) {
				best = i
			}
		}
		if best >= 0 {
			return s.describeDynamic(gr, best)
		}
		var parts []string
		for i, n := range d.staticRej {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%s rejects %d", gr.rules[i].String(), n))
			}
		}
		if len(parts) == 1 {
			for i, n := range d.staticRej {
				if n > 0 {
					return fmt.Sprintf("%s matches none of the %s", gr.rules[i].String(), plural(d.agents, "agent", "agents"))
				}
			}
		}
		return fmt.Sprintf("no agent meets every constraint (%s)", strings.Join(parts, ", "))
	}
	scope := "any agent"
	if d.eligible < d.agents {
		scope = fmt.Sprintf("any of the %s that meet the constraints", plural(d.eligible, "agent", "agents"))
		if d.eligible == 1 {
			scope = "the one agent that meets the constraints"
		}
	}
	for r := range numRes {
		if d.maxFree[r] < gr.need[r] {
			return fmt.Sprintf("%s: needs %s, at most %s free on %s", resName(r), fmtMilli(gr.need[r]), fmtMilli(max(0, d.maxFree[r])), scope)
		}
	}
	if d.maxPorts < gr.nPort {
		return fmt.Sprintf("ports: needs %d, at most %d free on %s", gr.nPort, max(0, d.maxPorts), scope)
	}
	if d.portRej == d.eligible {
		return fmt.Sprintf("host port %d: taken or not offered on %s", d.port, strings.Replace(scope, "any", "every", 1))
	}
	ports := ""
	if gr.nPort > 0 {
		ports = " and " + plural(gr.nPort, "port", "ports")
	}
	return fmt.Sprintf("no single agent has cpus %s, mem %s, disk %s%s free at once (%s meet the constraints)",
		fmtMilli(gr.need[rCPU]), fmtMilli(gr.need[rMem]), fmtMilli(gr.need[rDisk]), ports,
		plural(d.eligible, "agent", "agents"))
}

// describeDynamic explains a coupling constraint by the room it leaves
// among the agents the static constraints allow, before this group's step.
func (s *state) describeDynamic(gr *groupRun, ri int) string {
	r := &gr.rules[ri]
	counts := gr.counts[ri]
	vals := map[string]bool{}
agents:
	for pos := range s.agents {
		for i := range gr.rules {
			v, ok := s.value(pos, gr.rules[i].field, gr.rules[i].hostname)
			if !gr.rules[i].matchStatic(v, ok) {
				continue agents
			}
		}
		v, _ := s.value(pos, r.field, r.hostname)
		vals[v] = true
	}
	unit := func(n int) string {
		if r.hostname {
			return plural(n, "agent", "agents")
		}
		return plural(n, "value of "+r.field, "values of "+r.field)
	}
	switch r.op {
	case manifests.OpUnique:
		free := 0
		for v := range vals {
			if counts[v] == 0 {
				free++
			}
		}
		return fmt.Sprintf("%s leaves only %s", r.String(), unit(free))
	case manifests.OpMaxPer:
		room := 0
		for v := range vals {
			room += max(0, r.n-int(counts[v]))
		}
		return fmt.Sprintf("%s leaves room for only %d", r.String(), room)
	case manifests.OpGroupBy:
		if len(vals) < r.n {
			return fmt.Sprintf("%s needs %d values of %s, the agents offer only %d", r.String(), r.n, r.field, len(vals))
		}
		return fmt.Sprintf("%s: no agent with room left on the values of %s with the fewest instances", r.String(), r.field)
	case manifests.OpCluster:
		on := "the first instance's value"
		if p := gr.pins[ri]; p != nil && *p != missingKey {
			on = r.field + "=" + *p
		}
		return fmt.Sprintf("%s keeps every instance on %s, where no agent has room left", r.String(), on)
	}
	return r.String() + " rules out every agent"
}
