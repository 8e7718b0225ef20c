package allocator

import (
	"fmt"
	"math/rand/v2"
)

// Allocate places the demand on the cluster. It never over-commits a
// resource or a port, places a task entirely or not at all, and places the
// instances of a group whose constraints couple them (UNIQUE, GROUP_BY,
// MAX_PER) all or none.
//
// Queues are served in two phases: first every queue with demand gets up to
// its guaranteed share (furthest below it first), then idle capacity goes to
// the queues with unmet demand in DRF order, each up to its maxCapacity.
// Within a queue, groups are placed in the order given.
//
// The error reports input that makes the whole allocation meaningless (a
// duplicate agent id, an invalid queue tree); a problem with one group only
// becomes that group's Reason.
func Allocate(c Cluster, demand []Group, opts Options) (Result, error) {
	fields := map[string]bool{}
	for i := range demand {
		for _, k := range demand[i].Constraints {
			if !isHostnameField(k.Field) {
				fields[k.Field] = true
			}
		}
	}
	s, err := newState(c, opts.Seed, fields)
	if err == nil && opts.RandomPorts {
		s.portRng = rand.New(rand.NewPCG(opts.Seed, 0x5bd1e995))
	}
	if err != nil {
		return Result{}, fmt.Errorf("allocate: %w", err)
	}
	qt, err := newQueueTree(opts.Queues, s.total)
	if err != nil {
		return Result{}, fmt.Errorf("allocate: %w", err)
	}
	runningByGroup := map[string][]Running{}
	for i := range c.Running {
		r := &c.Running[i]
		v, err := toVec(r.Resources)
		if err != nil {
			return Result{}, fmt.Errorf("allocate: running[%d]: %w", i, err)
		}
		// Tasks of an unknown or non-leaf queue count as unqueued (the root
		// itself when no queues are declared).
		q, ok := qt.byID[r.Queue]
		if !ok || !qt.leaf(q) {
			q, ok = qt.byID[unqueuedID]
			if !ok {
				q = 0
			}
		}
		qt.charge(q, v)
		if r.Group != "" {
			runningByGroup[r.Group] = append(runningByGroup[r.Group], *r)
		}
	}

	a := &allocation{s: s, qt: qt, strategy: opts.Strategy, groups: make([]*groupRun, len(demand))}
	cache := &caches{eligible: map[string][]int{}, spans: map[string][]span{}, host: map[string]*hostMemo{}}
	for i := range demand {
		g := &demand[i]
		gr, err := s.newGroupRun(g, runningByGroup[g.ID], cache)
		a.groups[i] = gr
		if err == nil {
			gr.queue, err = qt.leafFor(g.Queue)
		}
		switch {
		case err != nil:
			gr.fail(max(0, g.Instances), max(0, g.Instances), err.Error())
		case g.Instances == 0:
			gr.done = true
		default:
			gr.result.Placements = make([]Placement, 0, g.Instances)
			qt.nodes[gr.queue].groups = append(qt.nodes[gr.queue].groups, i)
		}
	}
	for phase := range 2 {
		for {
			qi := qt.pick(phase)
			if qi < 0 {
				break
			}
			a.serve(qi, phase)
		}
	}
	res := Result{Groups: make([]GroupResult, len(demand)), Queues: qt.usage()}
	for i, gr := range a.groups {
		if !gr.done {
			left := gr.g.Instances - len(gr.result.Placements)
			gr.fail(left, left, qt.nodes[gr.queue].reason)
		}
		res.Groups[i] = gr.result
	}
	return res, nil
}

// allocation is the working state of one Allocate call.
type allocation struct {
	s        *state
	qt       *queueTree
	strategy Strategy
	groups   []*groupRun
	portSlab []int
}

// fail marks the last left tasks of a group unplaced; short of them are
// the ones the reason explains (fewer than left when a gang is undone).
func (gr *groupRun) fail(left, short int, reason string) {
	gr.done = true
	gr.result.Unplaced = left
	if left > 0 {
		gr.result.Reason = fmt.Sprintf("%d of %d instances of %s: %s", short, gr.g.Instances, gr.g.ID, reason)
		if gr.g.Origin.File != "" {
			gr.result.Reason = fmt.Sprintf("%s:%d: %s", gr.g.Origin.File, gr.g.Origin.Line, gr.result.Reason)
		}
	}
}

// serve places the next step of the queue's current group: one task, or a
// gang group's remaining tasks at once.
func (a *allocation) serve(qi, phase int) {
	q := &a.qt.nodes[qi]
	gr := a.groups[q.groups[q.next]]
	left := gr.g.Instances - len(gr.result.Placements)
	chunk := 1
	if gr.gang {
		chunk = left
	}
	cost := gr.need.scale(int64(chunk))
	if why := a.qt.admit(qi, cost, phase); why != "" {
		q.blocked[phase] = true
		if phase == 1 {
			q.reason = why
		}
		return
	}
	if a.place(gr, chunk) {
		a.qt.charge(qi, cost)
	}
	if gr.done {
		q.next++
	}
}

// place puts chunk tasks of the group on agents, or none of them if the
// group is a gang and not all fit.
func (a *allocation) place(gr *groupRun, chunk int) bool {
	s := a.s
	before := len(gr.result.Placements)
	for k := 0; k < chunk; k++ {
		var pos int
		if a.strategy == Spread {
			pos = s.findSpread(gr)
		} else {
			pos = s.find(gr, gr.cursor)
		}
		if pos < 0 {
			d := s.diagnose(gr)
			if gr.gang {
				for _, p := range gr.result.Placements[before:] {
					s.undo(gr, p)
				}
				gr.result.Placements = gr.result.Placements[:before]
			}
			reason := s.describe(gr, d)
			if gr.gang && k > 0 {
				reason += fmt.Sprintf(" (its constraints couple the instances, so none of the %d was placed)", chunk)
			}
			left := gr.g.Instances - len(gr.result.Placements)
			short := left
			if gr.gang {
				short = chunk - k
			}
			gr.fail(left, short, reason)
			return false
		}
		gr.result.Placements = append(gr.result.Placements, s.commit(gr, pos, &a.portSlab))
		gr.cursor = pos
		s.spreadCursor = pos + 1
		if s.spreadCursor >= len(s.agents) {
			s.spreadCursor = 0
		}
	}
	if len(gr.result.Placements) == gr.g.Instances {
		gr.done = true
	}
	return true
}

// findSpread looks at the next two agents that fit, round robin from the
// last placement, and takes the emptier: round robin alone spreads evenly
// on an empty cluster, the second look steers away from agents that
// running tasks already load (the "power of two choices", at twice the cost
// of one search).
func (s *state) findSpread(gr *groupRun) int {
	p1 := s.find(gr, s.spreadCursor)
	if p1 < 0 {
		return -1
	}
	next := p1 + 1
	if next >= len(s.agents) {
		next = 0
	}
	p2 := s.find(gr, next)
	if p2 < 0 || p2 == p1 || s.agents[p1].freeShare() >= s.agents[p2].freeShare() {
		return p1
	}
	return p2
}
