package allocator

import (
	"fmt"
	"strings"
)

// Verdict is the allocator's answer to "does this fit?", for `berth diff`.
type Verdict struct {
	Fits bool `json:"fits"`
	// Needed is what the new tasks need in total; Free what the agents have
	// free before them.
	Needed Resources `json:"needed"`
	Free   Resources `json:"free"`
	// Placed and Unplaced count new tasks; Reasons says why, one line per
	// group that does not fit.
	Placed   int      `json:"placed"`
	Unplaced int      `json:"unplaced"`
	Reasons  []string `json:"reasons,omitempty"`
}

// Fit runs a dry allocation of the demand (the tasks the desired state adds)
// on the observed cluster and summarises it. It is Allocate with the
// placements thrown away, so the verdict never disagrees with what applying
// the plan would do.
func Fit(c Cluster, demand []Group, opts Options) (Verdict, error) {
	res, err := Allocate(c, demand, opts)
	if err != nil {
		return Verdict{}, fmt.Errorf("fit: %w", err)
	}
	var v Verdict
	var free vec
	for i := range demand {
		if n := float64(demand[i].Instances); n > 0 {
			v.Needed.CPUs += demand[i].Resources.CPUs * n
			v.Needed.Mem += demand[i].Resources.Mem * n
			v.Needed.Disk += demand[i].Resources.Disk * n
		}
	}
	// Total minus running, floored at zero per agent: an over-committed
	// agent has nothing free, not less than nothing.
	used := map[string]vec{}
	for i := range c.Running {
		if r, err := toVec(c.Running[i].Resources); err == nil {
			used[c.Running[i].AgentID] = used[c.Running[i].AgentID].add(r)
		}
	}
	for i := range c.Agents {
		t, err := toVec(c.Agents[i].Total)
		if err != nil {
			continue
		}
		f := t.sub(used[c.Agents[i].ID])
		for r := range f {
			free[r] += max(0, f[r])
		}
	}
	v.Free = free.resources()
	v.Placed, v.Unplaced = res.Placed(), res.Unplaced()
	for _, g := range res.Groups {
		if g.Reason != "" {
			v.Reasons = append(v.Reasons, g.Reason)
		}
	}
	v.Fits = v.Unplaced == 0
	return v, nil
}

// String is the verdict as `berth diff` prints it.
func (v Verdict) String() string {
	var b strings.Builder
	total := v.Placed + v.Unplaced
	if v.Fits {
		fmt.Fprintf(&b, "fits: %d new tasks", total)
	} else {
		fmt.Fprintf(&b, "does not fit: %d of %d new tasks cannot be placed", v.Unplaced, total)
	}
	fmt.Fprintf(&b, " (need cpus %g, mem %g, disk %g; free cpus %g, mem %g, disk %g)\n",
		v.Needed.CPUs, v.Needed.Mem, v.Needed.Disk, v.Free.CPUs, v.Free.Mem, v.Free.Disk)
	for _, r := range v.Reasons {
		b.WriteString("  " + r + "\n")
	}
	return b.String()
}
