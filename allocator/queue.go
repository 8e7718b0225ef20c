package allocator

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/berthops/berth/manifests"
)

// rootQueue is the implicit root of the queue tree; unqueuedID is the
// implicit leaf that apps without a queue are charged to.
const (
	rootQueue  = "/"
	unqueuedID = ""
)

type queueNode struct {
	id       string
	parent   int // -1 for the root
	children []int
	capacity float64 // percent of parent, as declared
	maxCap   float64
	guarFrac float64 // of the whole cluster
	maxFrac  float64
	weight   float64
	guar     vec
	max      vec
	used     vec // this queue and everything below it

	groups  []int // demand indices waiting in this leaf, in demand order
	next    int
	blocked [2]bool // per phase: guarantee, then idle capacity
	reason  string  // why phase 2 stopped, for the groups left waiting
}

// queueTree is the hierarchy of capacity shares for one allocation.
type queueTree struct {
	nodes []queueNode
	byID  map[string]int
	total vec
}

func (t *queueTree) leaf(i int) bool { return len(t.nodes[i].children) == 0 }

func queueWhere(q *manifests.Queue) string {
	if q.Origin.File == "" {
		return "queue " + q.ID
	}
	return fmt.Sprintf("%s:%d: queue %s", q.Origin.File, q.Origin.Line, q.ID)
}

// newQueueTree validates the Queue manifests and computes each queue's
// absolute guarantee and maximum, as YARN's capacity scheduler does:
// capacity and maxCapacity are percentages of the parent's.
func newQueueTree(decl []manifests.Queue, total vec) (*queueTree, error) {
	t := &queueTree{byID: map[string]int{}, total: total}
	t.nodes = append(t.nodes, queueNode{id: rootQueue, parent: -1, capacity: 100, maxCap: 100,
		guarFrac: 1, maxFrac: 1, weight: 1})
	t.byID[rootQueue] = 0
	if len(decl) == 0 {
		t.finish()
		return t, nil
	}
	qs := slices.Clone(decl)
	// Parents sort before children, so each parent exists when needed.
	slices.SortFunc(qs, func(a, b manifests.Queue) int { return cmp.Compare(a.ID, b.ID) })
	for i := range qs {
		q := &qs[i]
		w := queueWhere(q)
		if !strings.HasPrefix(q.ID, "/") || q.ID == "/" || strings.HasSuffix(q.ID, "/") || path.Clean(q.ID) != q.ID {
			return nil, fmt.Errorf("%s: id: want a path such as /biz1/q11", w)
		}
		if _, dup := t.byID[q.ID]; dup {
			return nil, fmt.Errorf("%s: id: declared twice", w)
		}
		parent, ok := t.byID[path.Dir(q.ID)]
		if !ok {
			return nil, fmt.Errorf("%s: id: parent queue %s is not declared", w, path.Dir(q.ID))
		}
		maxCap := q.MaxCapacity
		if maxCap == 0 {
			maxCap = 100
		}
		weight := q.Weight
		if weight == 0 {
			weight = 1
		}
		switch {
		case math.IsNaN(q.Capacity) || q.Capacity < 0 || q.Capacity > 100:
			return nil, fmt.Errorf("%s: capacity: %v is not a percentage (want 0-100)", w, q.Capacity)
		case math.IsNaN(maxCap) || maxCap < q.Capacity || maxCap > 100:
			return nil, fmt.Errorf("%s: maxCapacity: %v must be from capacity (%v) to 100", w, maxCap, q.Capacity)
		case math.IsNaN(weight) || weight <= 0 || math.IsInf(weight, 0):
			return nil, fmt.Errorf("%s: weight: %v must be positive", w, q.Weight)
		}
		t.byID[q.ID] = len(t.nodes)
		t.nodes[parent].children = append(t.nodes[parent].children, len(t.nodes))
		t.nodes = append(t.nodes, queueNode{id: q.ID, parent: parent, capacity: q.Capacity, maxCap: maxCap, weight: weight})
	}
	for i := range t.nodes {
		sum := 0.0
		for _, c := range t.nodes[i].children {
			sum += t.nodes[c].capacity
		}
		if sum > 100+1e-9 {
			return nil, fmt.Errorf("queue %s: the capacities of its children add up to %v%%, more than 100%%", t.nodes[i].id, sum)
		}
		if i == 0 {
			// What the top-level queues leave unguaranteed goes to apps
			// that name no queue.
			t.byID[unqueuedID] = len(t.nodes)
			t.nodes[0].children = append(t.nodes[0].children, len(t.nodes))
			t.nodes = append(t.nodes, queueNode{id: unqueuedID, parent: 0, capacity: max(0, 100-sum), maxCap: 100, weight: 1})
		}
	}
	t.finish()
	return t, nil
}

// finish derives absolute shares; parents precede children in t.nodes.
func (t *queueTree) finish() {
	for i := range t.nodes {
		n := &t.nodes[i]
		if n.parent >= 0 {
			p := &t.nodes[n.parent]
			n.guarFrac = p.guarFrac * n.capacity / 100
			n.maxFrac = p.maxFrac * n.maxCap / 100
		}
		for r := range numRes {
			n.guar[r] = int64(math.Floor(float64(t.total[r]) * n.guarFrac))
			n.max[r] = int64(math.Floor(float64(t.total[r]) * n.maxFrac))
		}
	}
}

// leafFor resolves the queue an app names.
func (t *queueTree) leafFor(id string) (int, error) {
	if len(t.nodes) == 1 {
		if id != "" {
			return 0, fmt.Errorf("queue: %s is not declared (no Queue manifests exist)", id)
		}
		return 0, nil
	}
	i, ok := t.byID[id]
	if !ok {
		return 0, fmt.Errorf("queue: %s is not declared", id)
	}
	if !t.leaf(i) {
		return 0, fmt.Errorf("queue: %s has child queues; apps go in leaf queues", id)
	}
	return i, nil
}

// charge adds (or, negative, removes) usage to a queue and its ancestors.
func (t *queueTree) charge(i int, v vec) {
	for ; i >= 0; i = t.nodes[i].parent {
		t.nodes[i].used = t.nodes[i].used.add(v)
	}
}

// share is a queue's dominant share of the cluster: DRF's measure.
func (t *queueTree) share(i int) float64 {
	s := 0.0
	for r := range numRes {
		if t.total[r] > 0 {
			s = max(s, float64(t.nodes[i].used[r])/float64(t.total[r]))
		}
	}
	return s
}

func (t *queueTree) waiting(i int, phase int) bool {
	n := &t.nodes[i]
	if len(n.children) == 0 {
		return !n.blocked[phase] && n.next < len(n.groups)
	}
	for _, c := range n.children {
		if t.waiting(c, phase) {
			return true
		}
	}
	return false
}

// pick chooses the leaf queue served next, or -1.
//
// Phase 0 serves guarantees: among leaves below their guarantee, the one
// furthest below it (used/guaranteed, dominant resource) goes first.
// Phase 1 hands out idle capacity the way the Mesos hierarchical allocator
// orders roles: at each level, the child with the lowest dominant share
// divided by weight. Ties go to the lower id, so results are stable.
func (t *queueTree) pick(phase int) int {
	if phase == 0 {
		best, bestKey := -1, 0.0
		for i := range t.nodes {
			n := &t.nodes[i]
			if len(n.children) > 0 || n.blocked[0] || n.next >= len(n.groups) {
				continue
			}
			if n.guarFrac <= 0 {
				n.blocked[0] = true
				continue
			}
			key := t.share(i) / n.guarFrac
			if best < 0 || key < bestKey {
				best, bestKey = i, key
			}
		}
		return best
	}
	i := 0
	for len(t.nodes[i].children) > 0 {
		best, bestKey := -1, 0.0
		for _, c := range t.nodes[i].children {
			if !t.waiting(c, 1) {
				continue
			}
			key := t.share(c) / t.nodes[c].weight
			if best < 0 || key < bestKey || (key == bestKey && t.nodes[c].id < t.nodes[best].id) {
				best, bestKey = c, key
			}
		}
		if best < 0 {
			return -1
		}
		i = best
	}
	if !t.waiting(i, 1) {
		return -1
	}
	return i
}

// admit reports why cost cannot be charged to leaf i in this phase, or "".
func (t *queueTree) admit(i int, cost vec, phase int) string {
	if phase == 0 {
		n := &t.nodes[i]
		if !n.guar.sub(n.used).fits(cost) {
			return "over guarantee"
		}
		return ""
	}
	// The root's maximum is the whole cluster: whether a task fits there is
	// for the agents to say, with a better reason than a queue could give.
	for j := i; j > 0; j = t.nodes[j].parent {
		n := &t.nodes[j]
		if n.max.sub(n.used).fits(cost) {
			continue
		}
		for r := range numRes {
			if n.used[r]+cost[r] > n.max[r] {
				return fmt.Sprintf("queue %s is at its maxCapacity (%s: %s of %s in use, needs %s more)",
					queueName(n.id), resName(r), fmtMilli(n.used[r]), fmtMilli(n.max[r]), fmtMilli(cost[r]))
			}
		}
	}
	return ""
}

func queueName(id string) string {
	if id == unqueuedID {
		return "(none)"
	}
	return id
}

func (t *queueTree) usage() []QueueUsage {
	if len(t.nodes) == 1 {
		return nil
	}
	out := make([]QueueUsage, 0, len(t.nodes)-1)
	for i := 1; i < len(t.nodes); i++ {
		n := &t.nodes[i]
		out = append(out, QueueUsage{ID: n.id, Used: n.used.resources(), Guaranteed: n.guar.resources(), Max: n.max.resources()})
	}
	slices.SortFunc(out, func(a, b QueueUsage) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// QueueShare is one declared queue's absolute share of a cluster's
// resources: its guarantee and its maximum, as the allocator enforces them.
type QueueShare struct {
	ID         string
	Guaranteed Resources
	Max        Resources
}

// QueueShares computes every declared queue's guarantee and maximum of
// total with the same tree the allocator places with, so what operators are
// shown is exactly what placement enforces. The result is in id order.
func QueueShares(decl []manifests.Queue, total Resources) ([]QueueShare, error) {
	tv, err := toVec(total)
	if err != nil {
		return nil, fmt.Errorf("queue shares: total: %w", err)
	}
	t, err := newQueueTree(decl, tv)
	if err != nil {
		return nil, err
	}
	out := make([]QueueShare, 0, len(decl))
	for _, n := range t.nodes {
		if n.id == rootQueue || n.id == unqueuedID {
			continue
		}
		out = append(out, QueueShare{ID: n.id, Guaranteed: n.guar.resources(), Max: n.max.resources()})
	}
	slices.SortFunc(out, func(a, b QueueShare) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
