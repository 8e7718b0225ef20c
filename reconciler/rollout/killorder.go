package rollout

import (
	"cmp"
	"slices"
	"strings"

	"github.com/berthops/berth/cluster"
)

// killRank orders tasks by how little is lost by killing them: tasks that
// serve nothing yet go before tasks that serve.
func killRank(t *Task) int {
	switch {
	case t.Agent == "" || t.State == cluster.TaskUnreachable:
		return 0 // unplaced, or on a lost agent
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
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for len(victims) < k {
		best := ""
		found := false
		for _, g := range groups {
			q := byGroup[g]
			if len(q) == 0 {
				continue
			}
			if !found {
				best, found = g, true
				continue
			}
			bq := byGroup[best]
			if len(q) > len(bq) || (len(q) == len(bq) && order(q[0], bq[0]) < 0) {
				best = g
			}
		}
		if !found {
			break
		}
		victims = append(victims, byGroup[best][0])
		byGroup[best] = byGroup[best][1:]
	}
	return victims
}
