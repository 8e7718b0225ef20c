package cluster

// MaxRequestBytes is ZooKeeper's default limit on one request
// (jute.maxbuffer, 1 MiB less one byte).
const MaxRequestBytes = 1<<20 - 1

// batchBudget leaves headroom under MaxRequestBytes for the request and
// per-op headers that opSize only estimates.
const batchBudget = MaxRequestBytes - 64<<10

// opSize estimates the encoded size of op in a ZooKeeper multi request:
// header, path, data, version and, for creates, the ACL list.
func opSize(op Op) int {
	return 64 + len(op.Path) + len(op.Data)
}

// SplitBatches cuts ops into transactions that each fit under limit bytes
// (batchBudget if limit <= 0), prefixing each with fence when fence is set.
// Order is kept; each batch is atomic, the whole is not. A single op larger
// than the limit gets a batch of its own, which the store will refuse.
func SplitBatches(ops []Op, fence *Op, limit int) [][]Op {
	if limit <= 0 {
		limit = batchBudget
	}
	var batches [][]Op
	var cur []Op
	size := 0
	start := func() {
		cur = nil
		size = 0
		if fence != nil {
			cur = append(cur, *fence)
			size = opSize(*fence)
		}
	}
	start()
	base := len(cur)
	for _, op := range ops {
		n := opSize(op)
		if len(cur) > base && size+n > limit {
			batches = append(batches, cur)
			start()
		}
		cur = append(cur, op)
		size += n
	}
	if len(cur) > base {
		batches = append(batches, cur)
	}
	return batches
}
