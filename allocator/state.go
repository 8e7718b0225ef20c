package allocator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// agentState is one agent during an allocation, at its position in the
// placement order.
type agentState struct {
	id       string
	hostname string
	class    int
	total    vec
	free     vec
	ports    portSet
}

// class is a set of agents with identical values of every attribute a
// constraint refers to (hostname aside).
// Static constraints are decided once per class instead of once per agent,
// and a class occupies the contiguous positions [lo, hi) of the fit tree so
// a group's eligible agents are a few ranges.
type class struct {
	key string
	// attrs are the first agent's attributes; only the constrained fields,
	// equal across the class, are ever read.
	attrs map[string]string
	lo    int
	hi    int
}

// state is the mutable working copy of the cluster for one allocation.
type state struct {
	agents  []agentState
	byID    map[string]int
	classes []class
	tree    *fitTree
	total   vec
	// spreadCursor is where the next Spread search starts: just after the
	// last placement, so consecutive tasks go round robin.
	spreadCursor int
	// portRng, when set, randomises where "any free port" starts looking.
	portRng *rand.Rand
}

// classKey is the identity of an agent's class: its values of the fields
// some constraint refers to. Attributes nobody constrains on (a serial
// number, say) must not split classes, or every agent would be its own.
func classKey(attrs map[string]string, fields map[string]bool) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if fields[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		// Quoted, so no attribute text can make two maps look alike.
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(attrs[k]))
		b.WriteByte(';')
	}
	return b.String()
}

// newState validates the agents and orders them: by class, and within a
// class by a seeded shuffle of their ids, so the order (and so every tie)
// depends on the seed and not on the order the caller listed agents in.
func newState(c Cluster, seed uint64, fields map[string]bool) (*state, error) {
	type entry struct {
		a   *Agent
		key string
		tot vec
		tie uint64
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	entries := make([]entry, 0, len(c.Agents))
	seen := make(map[string]bool, len(c.Agents))
	for i := range c.Agents {
		a := &c.Agents[i]
		if a.ID == "" {
			return nil, fmt.Errorf("agents[%d]: id is empty", i)
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("agents[%d]: id %q appears twice", i, a.ID)
		}
		seen[a.ID] = true
		tot, err := toVec(a.Total)
		if err != nil {
			return nil, fmt.Errorf("agent %s: total %w", a.ID, err)
		}
		entries = append(entries, entry{a: a, key: classKey(a.Attributes, fields), tot: tot})
	}
	slices.SortFunc(entries, func(x, y entry) int { return cmp.Compare(x.a.ID, y.a.ID) })
	for i := range entries {
		entries[i].tie = rng.Uint64()
	}
	slices.SortFunc(entries, func(x, y entry) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(x.tie, y.tie)
	})

	s := &state{
		agents: make([]agentState, len(entries)),
		byID:   make(map[string]int, len(entries)),
		tree:   newFitTree(len(entries)),
	}
	for pos, e := range entries {
		if len(s.classes) == 0 || s.classes[len(s.classes)-1].key != e.key {
			s.classes = append(s.classes, class{key: e.key, attrs: e.a.Attributes, lo: pos})
		}
		s.classes[len(s.classes)-1].hi = pos + 1
		s.agents[pos] = agentState{
			id:       e.a.ID,
			hostname: e.a.Hostname,
			class:    len(s.classes) - 1,
			total:    e.tot,
			free:     e.tot,
			ports:    newPortSet(e.a.Ports),
		}
		s.byID[e.a.ID] = pos
		s.total = s.total.add(e.tot)
	}
	for i := range c.Running {
		r := &c.Running[i]
		pos, ok := s.byID[r.AgentID]
		if !ok {
			continue // on an agent not offered: it holds nothing placeable
		}
		need, err := toVec(r.Resources)
		if err != nil {
			return nil, fmt.Errorf("running[%d] on %s: %w", i, r.AgentID, err)
		}
		a := &s.agents[pos]
		a.free = a.free.sub(need)
		for _, p := range r.HostPorts {
			a.ports.take(p)
		}
	}
	for pos := range s.agents {
		s.tree.set(pos, s.agents[pos].free, s.agents[pos].ports.free)
	}
	return s, nil
}

// value returns an agent's value of a constraint field.
func (s *state) value(pos int, field string, hostname bool) (string, bool) {
	a := &s.agents[pos]
	if hostname {
		return a.hostname, true
	}
	v, ok := s.classes[a.class].attrs[field]
	return v, ok
}

// freeShare is the fraction of the agent's scarcest resource still free.
func (a *agentState) freeShare() float64 {
	share := 1.0
	for r := range numRes {
		if a.total[r] > 0 {
			share = min(share, float64(a.free[r])/float64(a.total[r]))
		}
	}
	return share
}
