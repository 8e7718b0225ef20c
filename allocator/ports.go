package allocator

import (
	"cmp"
	"math/bits"
	"slices"
)

// portSet tracks which host ports of an agent's ranges are taken, one bit a
// port, so both "is 8080 free" and "give me any free port" are cheap.
type portSet struct {
	ranges []PortRange
	// offs[i] is the bit index of ranges[i].Begin.
	offs []int
	used []uint64
	free int
	// hint is a word index below which every bit is set, so repeated "any
	// port" requests on a filling agent do not rescan the full words.
	hint int
}

// maxPortsPerAgent bounds the bitset: 65536 ports fit every real range.
const maxPortsPerAgent = 1 << 16

func newPortSet(ranges []PortRange) portSet {
	if len(ranges) == 0 {
		ranges = []PortRange{{Begin: DefaultPortBegin, End: DefaultPortEnd}}
	}
	var ps portSet
	n := 0
	for _, r := range mergeRanges(ranges) {
		if n+r.End-r.Begin+1 > maxPortsPerAgent {
			break
		}
		ps.ranges = append(ps.ranges, r)
		ps.offs = append(ps.offs, n)
		n += r.End - r.Begin + 1
	}
	ps.used = make([]uint64, (n+63)/64)
	ps.free = n
	// Bits past the end are marked used so that "any free" never returns them.
	if rem := n % 64; rem != 0 {
		ps.used[len(ps.used)-1] = ^uint64(0) << rem
	}
	return ps
}

// mergeRanges drops invalid ranges and merges overlapping or adjacent ones,
// so that no port is counted twice.
func mergeRanges(in []PortRange) []PortRange {
	valid := make([]PortRange, 0, len(in))
	for _, r := range in {
		if r.Begin >= 1 && r.End <= 65535 && r.Begin <= r.End {
			valid = append(valid, r)
		}
	}
	slices.SortFunc(valid, func(a, b PortRange) int { return cmp.Compare(a.Begin, b.Begin) })
	out := valid[:0]
	for _, r := range valid {
		if k := len(out) - 1; k >= 0 && r.Begin <= out[k].End+1 {
			out[k].End = max(out[k].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// bit returns the bit index of port, or -1 if the agent does not offer it.
func (ps *portSet) bit(port int) int {
	for i, r := range ps.ranges {
		if port >= r.Begin && port <= r.End {
			return ps.offs[i] + port - r.Begin
		}
	}
	return -1
}

func (ps *portSet) port(bit int) int {
	for i := len(ps.ranges) - 1; i >= 0; i-- {
		if bit >= ps.offs[i] {
			return ps.ranges[i].Begin + bit - ps.offs[i]
		}
	}
	return -1
}

func (ps *portSet) isFree(port int) bool {
	b := ps.bit(port)
	return b >= 0 && ps.used[b/64]&(1<<(b%64)) == 0
}

// take marks port used; ports outside the ranges (a running task bound to
// port 80 by hand) are ignored, they hold nothing the allocator hands out.
func (ps *portSet) take(port int) {
	b := ps.bit(port)
	if b < 0 || ps.used[b/64]&(1<<(b%64)) != 0 {
		return
	}
	ps.used[b/64] |= 1 << (b % 64)
	ps.free--
}

func (ps *portSet) release(port int) {
	b := ps.bit(port)
	if b < 0 || ps.used[b/64]&(1<<(b%64)) == 0 {
		return
	}
	ps.used[b/64] &^= 1 << (b % 64)
	ps.free++
	if b/64 < ps.hint {
		ps.hint = b / 64
	}
}

// takeAny takes the lowest free port; lowest, not random, so that plans are
// reproducible and easy to read.
func (ps *portSet) takeAny() int {
	for w := ps.hint; w < len(ps.used); w++ {
		if ps.used[w] == ^uint64(0) {
			ps.hint = w + 1
			continue
		}
		b := w*64 + bits.TrailingZeros64(^ps.used[w])
		ps.used[w] |= 1 << (b % 64)
		ps.free--
		return ps.port(b)
	}
	return -1
}

// size is how many ports the ranges hold.
func (ps *portSet) size() int {
	if len(ps.ranges) == 0 {
		return 0
	}
	last := len(ps.ranges) - 1
	return ps.offs[last] + ps.ranges[last].End - ps.ranges[last].Begin + 1
}

// takeAnyFrom takes the first free port at or after bit start, wrapping
// around; -1 when none is free.
func (ps *portSet) takeAnyFrom(start int) int {
	n := ps.size()
	if n == 0 || ps.free == 0 {
		return -1
	}
	for i := 0; i < n; i++ {
		b := (start + i) % n
		if ps.used[b/64]&(1<<(b%64)) == 0 {
			ps.used[b/64] |= 1 << (b % 64)
			ps.free--
			return ps.port(b)
		}
	}
	return -1
}
