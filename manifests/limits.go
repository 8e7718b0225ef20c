package manifests

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Parsing budgets. They are spent per load (one commit, one directory, one
// imported file), not per document or per file: a hostile commit must not be
// able to multiply its cost by splitting itself into many documents or files.
// Legitimate repositories stay far below them (10,000 apps, one per file,
// use about 6 MiB and 800,000 nodes); docs/security.md lists them.
const (
	// MaxFileBytes bounds one manifest file. Larger files are refused
	// before they are read or parsed.
	MaxFileBytes = 4 << 20
	// MaxLoadBytes bounds the manifest bytes of one load.
	MaxLoadBytes = 64 << 20
	// MaxFiles bounds the manifest files of one load.
	MaxFiles = 50_000
	// MaxNodes bounds the YAML nodes decoded in one load, counting a node
	// each time an alias leads to it again (a "billion laughs" file).
	MaxNodes = 4 << 20
	// MaxAliases bounds the aliases followed in one load.
	MaxAliases = 1 << 20
	// MaxObjects bounds the manifest objects (apps, jobs, templates,
	// queues) of one load, however they were written: aliases and Marathon
	// groups can multiply objects beyond what the bytes show.
	MaxObjects = 25_000
	// MaxErrors bounds the errors kept from decoding one load: past it, the
	// problems are all more of the same and only cost memory.
	MaxErrors = 1000
)

// Bounds on values. Marathon and Chronos set none, but values past these are
// typing mistakes (instances: 1e9) or attacks on the allocator and on the
// arithmetic of durations; docs/manifests.md lists them.
const (
	MaxInstances = 10_000
	MaxCPUs      = 1024     // cores
	MaxMem       = 16 << 20 // MiB: 16 TiB
	MaxDisk      = 1 << 30  // MiB: 1 PiB
	// MaxSeconds bounds every duration given in seconds: one year, far
	// below where converting to time.Duration would overflow.
	MaxSeconds = 365 * 24 * 3600
	MaxRetries = 1000
	MaxWeight  = 1000
)

// budget is what is left of one load's allowance for decoding. Decoding is
// sequential, so it needs no lock.
type budget struct {
	nodes, aliases, objects int
	// spent is set once the budget ran out and that was reported.
	spent bool
	// dropped counts errors not kept past MaxErrors.
	dropped int
}

func newBudget() *budget {
	return &budget{nodes: MaxNodes, aliases: MaxAliases, objects: MaxObjects}
}

// object charges one manifest object to the load's budget, reporting at n
// when that is one too many; false means "stop here".
func (d *decoder) object(n *yaml.Node) bool {
	b := d.budget
	if b.spent {
		return false
	}
	b.objects--
	if b.objects >= 0 {
		return true
	}
	b.spent = true
	*d.errs = append(*d.errs, &Error{File: d.file, Line: n.Line, Col: n.Column,
		Message: fmt.Sprintf("too many manifest objects: more than %d in this load (decoding stopped here)", MaxObjects)})
	return false
}

func sizeError(name string, size int64, limit int64, what string) *Error {
	return &Error{File: name, Message: fmt.Sprintf("%s: %s is more than the limit of %s", what, byteSize(size), byteSize(limit))}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
