package allocator

// fitTree is a segment tree over agent positions holding, per node, the
// largest free amount of each resource and of free ports below it. A search
// for the first agent that fits skips every subtree whose maxima are too
// small, so a placement costs O(log agents) on a cluster whose front is
// already packed, instead of a scan: this is what keeps the cost per
// placement flat as the cluster grows.
//
// The maxima of different resources may come from different agents, so a
// subtree can look feasible and hold no agent that fits; the search then
// visits its leaves. Agents are ordered so that packing fills them one after
// the other, which keeps such fragments few.
type fitTree struct {
	size  int // leaves, a power of two
	res   [numRes][]int64
	ports []int32
}

func newFitTree(n int) *fitTree {
	size := 1
	for size < n {
		size *= 2
	}
	t := &fitTree{size: size, ports: make([]int32, 2*size)}
	for i := range t.res {
		t.res[i] = make([]int64, 2*size)
		for j := range t.res[i] {
			t.res[i][j] = -1 // empty leaves fit nothing, not even a zero task
		}
	}
	for j := range t.ports {
		t.ports[j] = -1
	}
	return t
}

// set records an agent's free amounts and updates the maxima above it.
func (t *fitTree) set(pos int, free vec, ports int) {
	i := pos + t.size
	for r := range t.res {
		t.res[r][i] = free[r]
	}
	t.ports[i] = int32(ports)
	for i /= 2; i >= 1; i /= 2 {
		l, rr := 2*i, 2*i+1
		changed := false
		for r := range t.res {
			m := max(t.res[r][l], t.res[r][rr])
			if t.res[r][i] != m {
				t.res[r][i] = m
				changed = true
			}
		}
		pm := max(t.ports[l], t.ports[rr])
		if t.ports[i] != pm {
			t.ports[i] = pm
			changed = true
		}
		if !changed {
			return
		}
	}
}

func (t *fitTree) nodeFits(i int, need vec, ports int32) bool {
	return t.res[rCPU][i] >= need[rCPU] && t.res[rMem][i] >= need[rMem] &&
		t.res[rDisk][i] >= need[rDisk] && t.ports[i] >= ports
}

// first returns the lowest position in [lo, hi) whose free amounts fit need
// and ports and that accept approves, or -1.
func (t *fitTree) first(lo, hi int, need vec, ports int, accept func(pos int) bool) int {
	if lo >= hi {
		return -1
	}
	return t.search(1, 0, t.size, lo, hi, need, int32(ports), accept)
}

func (t *fitTree) search(i, nlo, nhi, lo, hi int, need vec, ports int32, accept func(int) bool) int {
	if nhi <= lo || nlo >= hi || !t.nodeFits(i, need, ports) {
		return -1
	}
	if nhi-nlo == 1 {
		if accept == nil || accept(nlo) {
			return nlo
		}
		return -1
	}
	mid := (nlo + nhi) / 2
	if p := t.search(2*i, nlo, mid, lo, hi, need, ports, accept); p >= 0 {
		return p
	}
	return t.search(2*i+1, mid, nhi, lo, hi, need, ports, accept)
}
