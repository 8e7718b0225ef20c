// Package taskindex is the leader's index of the tasks by owner (app or
// job) and by agent, with each task's state, health and reserved resources
// as of the latest reconcile pass. The API uses it to read one app's tasks
// without walking all of them, to count (totals, an app's running and
// staged tasks, an agent's use) without reading any, and to page.
//
// It is fed what a pass read and started (Update), so it is at most one
// pass (--resync) old; readers that need a task's current state read that
// task from the store. It holds a small entry per task, not the task.
//
// It depends on cluster and reconciler/decide only.
package taskindex

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

// Entry is what the index keeps of one task.
type Entry struct {
	cluster.TaskRef
	Owner     string
	State     cluster.TaskState
	Health    cluster.Health
	Kill      bool
	Resources cluster.Resources
}

// Filter selects entries; empty fields select everything.
type Filter struct {
	Owner, Agent string
	States       map[cluster.TaskState]bool
	Health       cluster.Health
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	return (f.Owner == "" || e.Owner == f.Owner) && (f.Agent == "" || e.AgentID == f.Agent) &&
		(f.States == nil || f.States[e.State]) && (f.Health == "" || e.Health == f.Health)
}

// Counts are an owner's live tasks: Running reported RUNNING, Staged
// assigned and not yet running (STAGING, STARTING).
type Counts struct{ Running, Staged int }

// Usage is what an agent's live tasks reserve.
type Usage struct {
	Used  cluster.Resources
	Tasks int
}

// Index is safe for concurrent use. The zero value is an index not built
// yet: every read says so.
type Index struct {
	mu      sync.RWMutex
	built   time.Time
	entries []Entry          // sorted by agent, then task
	owners  map[string][]int // owner -> positions in entries, in entries' order
	// parts are the entries of each task part the last update was given,
	// by the part's first task: the leader's cache shares a part until a
	// task of its agent changes, so most parts are the same from one pass
	// to the next and their entries are not made again.
	parts map[*cluster.Task]partEntries
}

type partEntries struct {
	n       int
	entries []Entry
}

// Update replaces the index with the tasks a pass read plus the tasks its
// changes start (STAGING until the next pass reads their status); tasks it
// forgets drop out.
func (x *Index) Update(tasks []cluster.Task, changes []decide.Change, now time.Time) {
	x.update([][]cluster.Task{tasks}, changes, now, false)
}

// UpdateParts is Update over tasks in parts, as a pass reads them from the
// leader's cache (decide.Input.TaskParts). The parts must never change once
// given: a part given again (the same first task, as long) is taken to be
// the same, and its entries are not made again.
func (x *Index) UpdateParts(parts [][]cluster.Task, changes []decide.Change, now time.Time) {
	x.update(parts, changes, now, true)
}

func (x *Index) update(parts [][]cluster.Task, changes []decide.Change, now time.Time, shared bool) {
	byRef := func(a, b Entry) int { return CompareRefs(a.TaskRef, b.TaskRef) }
	forgotten := map[cluster.TaskRef]bool{}
	var started []Entry
	for _, c := range changes {
		switch c := c.(type) {
		case decide.ForgetTask:
			forgotten[cluster.TaskRef{AgentID: c.AgentID, TaskID: c.TaskID}] = true
		case decide.StartTask:
			a := c.Assignment
			started = append(started, Entry{TaskRef: cluster.TaskRef{AgentID: a.AgentID, TaskID: a.TaskID}, Owner: a.OwnerID,
				State: cluster.TaskStaging, Resources: a.Spec.Resources})
		}
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	x.mu.RLock()
	seen := x.parts
	x.mu.RUnlock()
	var kept map[*cluster.Task]partEntries
	if shared {
		kept = make(map[*cluster.Task]partEntries, len(parts))
	}
	read := make([]Entry, 0, n)
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		var pe partEntries
		if shared {
			var ok bool
			if pe, ok = seen[&p[0]]; !ok || pe.n != len(p) {
				pe = partEntries{n: len(p), entries: entriesOf(p)}
			}
			kept[&p[0]] = pe
		} else {
			pe.entries = entriesOf(p)
		}
		for _, e := range pe.entries {
			if !forgotten[e.TaskRef] {
				read = append(read, e)
			}
		}
	}
	// The cache's parts come in agent order, each in task order: then only
	// the tasks this pass started are sorted, and merged in.
	if !slices.IsSortedFunc(read, byRef) {
		slices.SortFunc(read, byRef)
	}
	slices.SortFunc(started, byRef)
	entries := read
	if len(started) > 0 {
		entries = make([]Entry, 0, len(read)+len(started))
		i, j := 0, 0
		for i < len(read) || j < len(started) {
			if j == len(started) || (i < len(read) && byRef(read[i], started[j]) <= 0) {
				entries = append(entries, read[i])
				i++
			} else {
				entries = append(entries, started[j])
				j++
			}
		}
	}
	entries = slices.CompactFunc(entries, func(a, b Entry) bool { return a.TaskRef == b.TaskRef })
	owners := map[string][]int{}
	for i, e := range entries {
		owners[e.Owner] = append(owners[e.Owner], i)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries, x.owners, x.built, x.parts = entries, owners, now, kept
}

// entriesOf is the entries of a part's tasks, in the part's order.
func entriesOf(p []cluster.Task) []Entry {
	out := make([]Entry, 0, len(p))
	for i := range p {
		t := &p[i]
		st := t.Status.State
		if st == "" {
			st = cluster.TaskStaging
		}
		out = append(out, Entry{TaskRef: cluster.TaskRef{AgentID: t.AgentID, TaskID: t.TaskID}, Owner: t.OwnerID, State: st,
			Health: t.Status.Health, Kill: t.Kill, Resources: t.Spec.Resources})
	}
	return out
}

// Reset empties the index: it is not built until the next Update.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries, x.owners, x.built, x.parts = nil, nil, time.Time{}, nil
}

// CompareRefs orders tasks as the API lists them: by agent, then task id.
func CompareRefs(a, b cluster.TaskRef) int {
	if c := cmp.Compare(a.AgentID, b.AgentID); c != 0 {
		return c
	}
	return cmp.Compare(a.TaskID, b.TaskID)
}

// Built is when the index was last updated; zero if never.
func (x *Index) Built() time.Time {
	if x == nil {
		return time.Time{}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.built
}

// Ready reports whether the index was built (a pass ran on this replica).
func (x *Index) Ready() bool { return !x.Built().IsZero() }

// Select returns up to limit entries f selects that come after the ref
// after (the zero ref: from the start), in order. An owner filter visits
// only that owner's entries; otherwise the walk starts at after.
func (x *Index) Select(f Filter, after cluster.TaskRef, limit int) []Entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var page []Entry
	if f.Owner != "" {
		is := x.owners[f.Owner]
		from, _ := slices.BinarySearchFunc(is, after, func(i int, r cluster.TaskRef) int { return CompareRefs(x.entries[i].TaskRef, r) })
		for _, i := range is[from:] {
			if e := x.entries[i]; e.TaskRef != after && f.Match(e) {
				if page = append(page, e); len(page) == limit {
					break
				}
			}
		}
		return page
	}
	from, _ := slices.BinarySearchFunc(x.entries, after, func(e Entry, r cluster.TaskRef) int { return CompareRefs(e.TaskRef, r) })
	for _, e := range x.entries[from:] {
		if e.TaskRef != after && f.Match(e) {
			if page = append(page, e); len(page) == limit {
				break
			}
		}
	}
	return page
}

// Skip returns the ref of the nth entry (from 1) of owner ("": of all
// entries) after the ref after, without copying any: how an ?offset= page
// starts. ok is false when there are fewer than n.
func (x *Index) Skip(owner string, after cluster.TaskRef, n int) (ref cluster.TaskRef, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if n <= 0 {
		return after, true
	}
	at := func(i int) cluster.TaskRef { return x.entries[i].TaskRef }
	count := len(x.entries)
	if owner != "" {
		is := x.owners[owner]
		at, count = func(i int) cluster.TaskRef { return x.entries[is[i]].TaskRef }, len(is)
	}
	from, found := sort.Find(count, func(i int) int { return CompareRefs(after, at(i)) })
	if found {
		from++ // after itself was on the previous page
	}
	if from+n-1 >= count {
		return cluster.TaskRef{}, false
	}
	return at(from + n - 1), true
}

// Count is how many entries f selects.
func (x *Index) Count(f Filter) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	if f.Owner != "" {
		for _, i := range x.owners[f.Owner] {
			if f.Match(x.entries[i]) {
				n++
			}
		}
		return n
	}
	if f.Agent == "" && f.States == nil && f.Health == "" {
		return len(x.entries)
	}
	for _, e := range x.entries {
		if f.Match(e) {
			n++
		}
	}
	return n
}

// OwnerCounts counts each owner's live (not killed) tasks.
func (x *Index) OwnerCounts() map[string]Counts {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[string]Counts, len(x.owners))
	for owner, is := range x.owners {
		var c Counts
		for _, i := range is {
			e := x.entries[i]
			if e.Kill {
				continue
			}
			switch e.State {
			case cluster.TaskRunning:
				c.Running++
			case cluster.TaskStaging, cluster.TaskStarting:
				c.Staged++
			}
		}
		out[owner] = c
	}
	return out
}

// AgentUsage adds up what each agent's live tasks (not killed, not ended)
// reserve.
func (x *Index) AgentUsage() map[string]Usage {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := map[string]Usage{}
	for _, e := range x.entries {
		if e.Kill || e.State.Terminal() {
			continue
		}
		u := out[e.AgentID]
		u.Used = cluster.Resources{CPUs: u.Used.CPUs + e.Resources.CPUs, Mem: u.Used.Mem + e.Resources.Mem, Disk: u.Used.Disk + e.Resources.Disk}
		u.Tasks++
		out[e.AgentID] = u
	}
	return out
}

// Find returns the entry of a task by id, which tells where the store keeps
// it (its agent). The index is kept by agent, so this walks the entries: a
// few milliseconds at 150,000, with no read of the store.
func (x *Index) Find(taskID string) (Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, e := range x.entries {
		if e.TaskID == taskID {
			return e, true
		}
	}
	return Entry{}, false
}

// OwnersOn lists the owners (apps, jobs) of the tasks on one agent, each
// once, in no particular order: a walk of that agent's entries only.
func (x *Index) OwnersOn(agentID string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	from, _ := slices.BinarySearchFunc(x.entries, agentID, func(e Entry, id string) int { return cmp.Compare(e.AgentID, id) })
	var out []string
	seen := map[string]bool{}
	for _, e := range x.entries[from:] {
		if e.AgentID != agentID {
			break
		}
		if !seen[e.Owner] {
			seen[e.Owner] = true
			out = append(out, e.Owner)
		}
	}
	return out
}
