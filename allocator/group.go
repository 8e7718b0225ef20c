package allocator

import (
	"fmt"
	"slices"

	"github.com/berthops/berth/manifests"
)

// groupRun is one Group while it is being placed.
type groupRun struct {
	g     *Group
	need  vec
	ports []int // the group's HostPorts: 0 = any
	nPort int
	rules []rule
	// counts[i] holds, for dynamic rule i, the group's tasks per value.
	counts []map[string]int32
	// pins[i] is, for CLUSTER rule i without a value, the value of the
	// group's first task.
	pins []*string
	// eligible are the classes that pass every static attribute rule, in
	// position order.
	eligible  []int
	spans     []span
	hostRules []int // rules on hostname, checked per agent
	// hostMemo caches the static hostname rules per agent, shared by the
	// groups with the same rules; nil when there are none.
	hostMemo   *hostMemo
	classRules []int // dynamic rules on attributes, checked per class
	// gang groups are placed all or nothing: their constraints couple the
	// instances, so half a placement could hold a spot a whole one needs.
	gang   bool
	cursor int
	accept func(pos int) bool

	queue  int
	result GroupResult
	done   bool
}

// caches hold what groups with the same constraints share.
type caches struct {
	eligible map[string][]int     // static attribute rules -> eligible classes
	spans    map[string][]span    // the same, with per-class or merged spans
	host     map[string]*hostMemo // static hostname rules -> per-agent verdicts
}

// hostMemo remembers, per agent position, whether its hostname passes a set
// of static hostname rules: regular expressions are the slowest check, and
// a search asks about the same agents again and again.
type hostMemo struct {
	known, ok []uint64
}

// newGroupRun checks a group and prepares it; an error is the group's reason
// and the group places nothing.
func (s *state) newGroupRun(g *Group, running []Running, cache *caches) (*groupRun, error) {
	gr := &groupRun{g: g, result: GroupResult{ID: g.ID}}
	if g.Instances < 0 || g.Instances > maxInstances {
		return gr, fmt.Errorf("instances: %d is not a number of new tasks the allocator places in one pass (want 0 to %d)", g.Instances, maxInstances)
	}
	need, err := toVec(g.Resources)
	if err != nil {
		return gr, err
	}
	gr.need = need
	seenPort := map[int]bool{}
	for i, p := range g.HostPorts {
		if p < 0 || p > 65535 {
			return gr, fmt.Errorf("hostPorts[%d]: %d is not a port (want 0 for any, or 1-65535)", i, p)
		}
		if p != 0 && seenPort[p] {
			return gr, fmt.Errorf("hostPorts[%d]: port %d is asked for twice", i, p)
		}
		seenPort[p] = true
	}
	gr.ports = g.HostPorts
	gr.nPort = len(g.HostPorts)
	rules, err := compileRules(g.Constraints)
	if err != nil {
		return gr, err
	}
	gr.rules = rules
	gr.counts = make([]map[string]int32, len(rules))
	gr.pins = make([]*string, len(rules))
	var staticKey, hostKey []byte
	for i := range rules {
		r := &rules[i]
		if r.dynamic {
			gr.counts[i] = map[string]int32{}
			switch r.op {
			case manifests.OpUnique, manifests.OpGroupBy, manifests.OpMaxPer:
				gr.gang = true
			}
		}
		if r.hostname {
			gr.hostRules = append(gr.hostRules, i)
			if !r.dynamic {
				hostKey = fmt.Appendf(hostKey, "%q %q;", r.op, r.value)
			}
		} else if r.dynamic {
			gr.classRules = append(gr.classRules, i)
		}
		if !r.hostname {
			staticKey = fmt.Appendf(staticKey, "%q %q %q %t;", r.field, r.op, r.value, r.dynamic)
		}
	}
	// Apps share constraint sets (often none at all), so the class filter
	// is computed once per distinct set.
	if el, ok := cache.eligible[string(staticKey)]; ok {
		gr.eligible = el
	} else {
		for ci := range s.classes {
			if s.classPassesStatic(gr, ci) {
				gr.eligible = append(gr.eligible, ci)
			}
		}
		cache.eligible[string(staticKey)] = gr.eligible
	}
	var classFields []string
	for _, i := range gr.classRules {
		classFields = append(classFields, gr.rules[i].field)
	}
	spanKey := fmt.Sprintf("%s fields=%q", staticKey, classFields)
	if sps, ok := cache.spans[spanKey]; ok {
		gr.spans = sps
	} else {
		gr.spans = s.spansFor(gr.eligible, classFields)
		cache.spans[spanKey] = gr.spans
	}
	if len(hostKey) > 0 {
		m, ok := cache.host[string(hostKey)]
		if !ok {
			words := (len(s.agents) + 63) / 64
			m = &hostMemo{known: make([]uint64, words), ok: make([]uint64, words)}
			cache.host[string(hostKey)] = m
		}
		gr.hostMemo = m
	}
	// Marathon learns the values of a GROUP_BY field from the offers it
	// sees; Berth sees every agent at once, so "the values seen" are those
	// of every agent the static constraints allow.
	for i := range gr.rules {
		if r := &gr.rules[i]; r.op == manifests.OpGroupBy && r.value == "" {
			r.n = s.distinctValues(gr, r)
		}
	}
	for i := range running {
		if running[i].Group != g.ID {
			continue
		}
		pos, known := s.byID[running[i].AgentID]
		for ri := range rules {
			if !rules[ri].dynamic {
				continue
			}
			key := missingKey
			if known {
				if v, ok := s.value(pos, rules[ri].field, rules[ri].hostname); ok {
					key = v
				}
			}
			gr.counts[ri][key]++
			if gr.pins[ri] == nil && rules[ri].op == manifests.OpCluster {
				gr.pins[ri] = &key
			}
		}
	}
	gr.accept = func(pos int) bool { return s.acceptAgent(gr, pos) }
	return gr, nil
}

func (s *state) classPassesStatic(gr *groupRun, ci int) bool {
	attrs := s.classes[ci].attrs
	for i := range gr.rules {
		r := &gr.rules[i]
		if r.hostname {
			continue
		}
		v, ok := attrs[r.field]
		if !r.matchStatic(v, ok) {
			return false
		}
	}
	return true
}

// classAllows applies the group's dynamic attribute rules to a class.
func (s *state) classAllows(gr *groupRun, ci int) bool {
	attrs := s.classes[ci].attrs
	for _, i := range gr.classRules {
		r := &gr.rules[i]
		if !r.matchDynamic(attrs[r.field], gr.counts[i], gr.pins[i]) {
			return false
		}
	}
	return true
}

// acceptAgent applies what the fit tree cannot: hostname rules and fixed
// host ports.
func (s *state) acceptAgent(gr *groupRun, pos int) bool {
	a := &s.agents[pos]
	if m := gr.hostMemo; m != nil {
		w, b := pos/64, uint64(1)<<(pos%64)
		if m.known[w]&b == 0 {
			m.known[w] |= b
			if s.passesStaticHost(gr, pos) {
				m.ok[w] |= b
			}
		}
		if m.ok[w]&b == 0 {
			return false
		}
	}
	for _, i := range gr.hostRules {
		r := &gr.rules[i]
		if r.dynamic && !r.matchDynamic(a.hostname, gr.counts[i], gr.pins[i]) {
			return false
		}
	}
	for _, p := range gr.ports {
		if p != 0 && !a.ports.isFree(p) {
			return false
		}
	}
	return true
}

// span is a run of positions searched in one go: adjacent eligible classes
// that agree on every field the group checks per class (all of them when
// it checks none), so that an app searches the cluster with a few tree
// queries however many classes there are.
type span struct {
	lo, hi int
	class  int // a class of the span, whose values the per-class rules read; -1 if none apply
}

func (s *state) spansFor(eligible []int, fields []string) []span {
	var out []span
	for _, ci := range eligible {
		c := &s.classes[ci]
		if k := len(out) - 1; k >= 0 && out[k].hi == c.lo && s.sameValues(out[k].class, ci, fields) {
			out[k].hi = c.hi
			continue
		}
		sp := span{lo: c.lo, hi: c.hi, class: -1}
		if len(fields) > 0 {
			sp.class = ci
		}
		out = append(out, sp)
	}
	return out
}

func (s *state) sameValues(a, b int, fields []string) bool {
	if a < 0 {
		return true
	}
	for _, f := range fields {
		va, oka := s.classes[a].attrs[f]
		vb, okb := s.classes[b].attrs[f]
		if va != vb || oka != okb {
			return false
		}
	}
	return true
}

// find returns the first agent from start (wrapping around) where one task
// of the group fits, or -1.
func (s *state) find(gr *groupRun, start int) int {
	sps := gr.spans
	n := len(sps)
	if n == 0 {
		return -1
	}
	k0, _ := slices.BinarySearchFunc(sps, start, func(sp span, start int) int {
		if sp.hi <= start {
			return -1
		}
		return 1
	})
	if k0 == n {
		k0, start = 0, 0
	}
	for step := 0; step <= n; step++ {
		sp := &sps[(k0+step)%n]
		lo, hi := sp.lo, sp.hi
		if step == 0 {
			lo = max(lo, start)
		}
		if step == n {
			hi = min(hi, start)
		}
		if lo >= hi || (sp.class >= 0 && !s.classAllows(gr, sp.class)) {
			continue
		}
		if p := s.tree.first(lo, hi, gr.need, gr.nPort, gr.accept); p >= 0 {
			return p
		}
	}
	return -1
}

// commit places one task of the group on the agent at pos.
func (s *state) commit(gr *groupRun, pos int, portSlab *[]int) Placement {
	a := &s.agents[pos]
	a.free = a.free.sub(gr.need)
	var hp []int
	if gr.nPort > 0 {
		if cap(*portSlab)-len(*portSlab) < gr.nPort {
			*portSlab = make([]int, 0, max(4096, gr.nPort))
		}
		start := len(*portSlab)
		for _, p := range gr.ports {
			if p != 0 {
				a.ports.take(p)
			}
		}
		for _, p := range gr.ports {
			if p == 0 && s.portRng != nil {
				p = a.ports.takeAnyFrom(s.portRng.IntN(max(a.ports.size(), 1)))
			} else if p == 0 {
				p = a.ports.takeAny()
			}
			*portSlab = append(*portSlab, p)
		}
		hp = (*portSlab)[start:len(*portSlab):len(*portSlab)]
	}
	s.tree.set(pos, a.free, a.ports.free)
	for i := range gr.rules {
		if gr.rules[i].dynamic {
			v, _ := s.value(pos, gr.rules[i].field, gr.rules[i].hostname)
			gr.counts[i][v]++
			if gr.pins[i] == nil && gr.rules[i].op == manifests.OpCluster {
				gr.pins[i] = &v
			}
		}
	}
	return Placement{AgentID: a.id, HostPorts: hp}
}

// undo takes back a committed placement (a gang that did not fit whole).
func (s *state) undo(gr *groupRun, p Placement) {
	pos := s.byID[p.AgentID]
	a := &s.agents[pos]
	a.free = a.free.add(gr.need)
	for _, port := range p.HostPorts {
		a.ports.release(port)
	}
	s.tree.set(pos, a.free, a.ports.free)
	for i := range gr.rules {
		if gr.rules[i].dynamic {
			v, _ := s.value(pos, gr.rules[i].field, gr.rules[i].hostname)
			if gr.counts[i][v]--; gr.counts[i][v] <= 0 {
				delete(gr.counts[i], v)
			}
			if len(gr.counts[i]) == 0 {
				gr.pins[i] = nil
			}
		}
	}
}

// distinctValues counts the values of a rule's field among the agents the
// group's static constraints allow.
func (s *state) distinctValues(gr *groupRun, r *rule) int {
	seen := map[string]bool{}
	for _, ci := range gr.eligible {
		c := &s.classes[ci]
		if !r.hostname {
			seen[c.attrs[r.field]] = true
			continue
		}
		for pos := c.lo; pos < c.hi; pos++ {
			if s.passesStaticHost(gr, pos) {
				seen[s.agents[pos].hostname] = true
			}
		}
	}
	return len(seen)
}

func (s *state) passesStaticHost(gr *groupRun, pos int) bool {
	for _, i := range gr.hostRules {
		if r := &gr.rules[i]; !r.dynamic && !r.matchStatic(s.agents[pos].hostname, true) {
			return false
		}
	}
	return true
}
