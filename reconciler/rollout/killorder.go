package rollout

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"

	"github.com/berthops/berth/cluster"
)

// killRank orders tasks by how little is lost by killing them: tasks that
// serve nothing yet go before tasks that serve.
func killRank(t *Task) int {
	switch {
	case t.State == cluster.TaskUnreachable:
		return 0 // on a lost agent
	case t.State != cluster.TaskRunning && t.Agent == "":
		return 0 // not placed yet
	case t.State != cluster.TaskRunning:
		return 1 // staging or starting
	case t.Health == cluster.HealthUnhealthy:
		return 2
	case t.Health != cluster.HealthHealthy:
		return 3 // running, health not known yet
	}
	return 4
}

// compareKill orders two tasks for a scale-down: by killRank, then by
// killSelection on the start time (a task not started yet is the youngest),
// then by id so the order is total.
func compareKill(sel KillSelection) func(a, b *Task) int {
	return func(a, b *Task) int {
		if c := cmp.Compare(killRank(a), killRank(b)); c != 0 {
			return c
		}
		if c := compareAge(a, b); c != 0 {
			if sel == OldestFirst {
				return c
			}
			return -c
		}
		return strings.Compare(a.ID, b.ID)
	}
}

// compareAge is negative when a started before b; unstarted tasks are the
// youngest.
func compareAge(a, b *Task) int {
	switch az, bz := a.StartedAt.IsZero(), b.StartedAt.IsZero(); {
	case az && bz:
		return 0
	case az:
		return 1
	case bz:
		return -1
	}
	return a.StartedAt.Compare(b.StartedAt)
}

// sortedForUpgrade orders old tasks the way Marathon replaces them: those not
// healthy first, then the oldest. killSelection is for scale-down only.
func sortedForUpgrade(ts []*Task) []*Task {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b *Task) int {
		if c := cmp.Compare(killRank(a), killRank(b)); c != 0 {
			return c
		}
		if c := compareAge(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// sortedForKill orders tasks for a scale-down without regard to groups.
func sortedForKill(ts []*Task, sel KillSelection) []*Task {
	out := slices.Clone(ts)
	slices.SortFunc(out, compareKill(sel))
	return out
}

// pickVictims chooses k tasks to kill for a scale-down. Tasks that are not
// placed or are on a lost agent go first; then the victim always comes from
// the group holding the most instances, so a GROUP_BY spread stays even,
// and within it by killRank and killSelection. Without groups (all Group
// values equal) this is plain killSelection order.
func pickVictims(ts []*Task, k int, sel KillSelection) []*Task {
	if k <= 0 {
		return nil
	}
	order := compareKill(sel)
	sorted := sortedForKill(ts, sel)
	victims := make([]*Task, 0, min(k, len(sorted)))
	byGroup := map[string][]*Task{}
	for _, t := range sorted {
		if killRank(t) == 0 && len(victims) < k {
			victims = append(victims, t)
			continue
		}
		byGroup[t.Group] = append(byGroup[t.Group], t)
	}
	h := &groupHeap{order: order}
	for _, q := range byGroup {
		h.queues = append(h.queues, q)
	}
	heap.Init(h)
	for len(victims) < k && h.Len() > 0 {
		q := h.queues[0]
		victims = append(victims, q[0])
		if len(q) == 1 {
			heap.Pop(h)
			continue
		}
		h.queues[0] = q[1:]
		heap.Fix(h, 0)
	}
	return victims
}

// groupHeap keeps the group to take the next victim from on top: the one
// with the most instances, ties broken by which has the better victim.
// Queues are never empty and each is sorted by order.
type groupHeap struct {
	queues [][]*Task
	order  func(a, b *Task) int
}

func (h *groupHeap) Len() int { return len(h.queues) }

func (h *groupHeap) Less(i, j int) bool {
	a, b := h.queues[i], h.queues[j]
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return h.order(a[0], b[0]) < 0
}

func (h *groupHeap) Swap(i, j int) { h.queues[i], h.queues[j] = h.queues[j], h.queues[i] }

func (h *groupHeap) Push(x any) { h.queues = append(h.queues, x.([]*Task)) }

func (h *groupHeap) Pop() any {
	last := h.queues[len(h.queues)-1]
	h.queues = h.queues[:len(h.queues)-1]
	return last
}
