package rollout

import (
	"slices"
	"strings"
	"time"

	"github.com/berthops/berth/cluster"
)

// Input is everything one decision for one app depends on.
type Input struct {
	Spec  Spec
	Tasks []Task
	// Launches is the launch-failure history the previous Decision returned.
	Launches Launches
	Now      time.Time
}

// Reason says why a task is killed; it is shown to operators and recorded
// with the kill.
type Reason string

const (
	// ReasonUpgrade: the task runs another version and a rolling restart
	// replaces it.
	ReasonUpgrade Reason = "upgrade"
	// ReasonScaleDown: the app has more instances than it declares.
	ReasonScaleDown Reason = "scale-down"
	// ReasonUnhealthy: the task fails its health checks and is replaced.
	// Step no longer gives it (the agent kills such a task); it stays so
	// that recorded kills keep their meaning.
	ReasonUnhealthy Reason = "unhealthy"
	// ReasonUnreachable: the task's agent has been lost longer than
	// inactiveAfterSeconds; it is replaced now, and stopped if the agent
	// ever returns.
	ReasonUnreachable Reason = "unreachable"
)

// Kill asks for one task to be stopped.
type Kill struct {
	TaskID string
	Reason Reason
}

// Counts describes the tasks of an app as Step found them.
type Counts struct {
	// Current and Old count instances of the desired and of other versions
	// that are not being killed, including unreachable ones still waiting
	// for their agent.
	Current        int
	CurrentHealthy int
	Old            int
	OldHealthy     int
	// Killing counts tasks whose kill was requested earlier and that have
	// not ended yet.
	Killing int
	// Unreachable counts tasks on lost agents not replaced yet.
	Unreachable int
	// Unhealthy counts running tasks failing their health checks; their
	// agent kills them after maxConsecutiveFailures.
	Unhealthy int
	// CurrentUnready counts running, healthy tasks of the desired version
	// whose readiness checks have not passed yet; they are not in
	// CurrentHealthy, so the rollout waits for them.
	CurrentUnready int
}

// Decision is what the reconcile loop should do now for one app.
type Decision struct {
	// Kill lists tasks to stop, in the order they were chosen.
	Kill []Kill
	// Start is how many new instances of Spec.Version to place and launch.
	Start int
	// Forget lists task records to delete: ended tasks (whose failures are
	// already counted in Launches) and unreachable tasks past
	// expungeAfterSeconds. An agent stops a task whose record is gone.
	Forget []string
	// Failed lists the forgotten tasks counted as failed launches, so the
	// loop can keep the last one's message and output for operators, as
	// Marathon's lastTaskFailure does, before it deletes the records.
	Failed []string
	// Launches is the updated failure history; store it with the rest of the
	// decision, so that failures are counted exactly once.
	Launches Launches
	// DelayedUntil is set when launches are held back by the backoff.
	DelayedUntil time.Time
	// RequeueAt is when the decision can change with no change in the
	// tasks (a backoff or an unreachable timeout ends); zero means only a
	// task change can change it.
	RequeueAt time.Time
	// Rolling is true while tasks of another version exist; Limits then
	// bound the restart.
	Rolling bool
	Limits  Limits
	// Instances is the declared instance count the decision aimed at.
	Instances int
	Counts    Counts
	// Held is set by Hold: the deployment waits for its dependencies.
	Held bool
	// Done is true when the app is exactly as declared: Instances healthy
	// tasks of the desired version and nothing else, except tasks on lost
	// agents that were replaced and wait to be stopped or expunged.
	Done bool
}

// Step decides the next actions for one app. It is a pure function of its
// input: tasks are considered in task-id order whatever order they come in,
// and the same input always yields the same Decision.
//
// Rolling restarts follow Marathon's level-triggered algorithm: of the old
// tasks (any version but Spec.Version), max(0, healthy - MinHealthy) are
// killed, those not healthy first, then the oldest; new tasks start while
// fewer than Limits.MaxCapacity tasks exist, tasks being killed included.
// Because the state is re-read on every call, each new task that becomes
// healthy allows one more old task to be killed, and a version change in the
// middle of a rollout simply treats the tasks of every earlier version as
// old.
func Step(in Input) Decision {
	s := in.Spec
	n := max(s.Instances, 0)
	d := Decision{
		Launches:  in.Launches.For(s.Version),
		Limits:    s.limits(n),
		Instances: n,
	}
	var (
		cur, old   []*Task // live instances, not being killed
		occupying  int     // tasks holding capacity: live or being killed
		killingOld int     // old tasks being killed, still holding capacity
	)
	for _, t := range byID(in.Tasks) {
		isCurrent := t.Version == s.Version
		switch {
		case t.State.Terminal():
			d.Forget = append(d.Forget, t.ID)
			if isCurrent && !t.Killing && (t.State == cluster.TaskFailed || t.State == cluster.TaskFinished || killedUnhealthy(s, t)) {
				d.Launches = d.Launches.Failed(s.Version, orNow(t.Since, in.Now))
				d.Failed = append(d.Failed, t.ID)
			}
			continue
		case t.State == cluster.TaskUnreachable:
			since := orNow(t.Since, in.Now)
			inactive := since.Add(s.InactiveAfter)
			expunge := since.Add(max(s.ExpungeAfter, s.InactiveAfter))
			if !in.Now.Before(expunge) {
				d.Forget = append(d.Forget, t.ID)
				continue
			}
			d.requeue(expunge)
			if t.Killing {
				// Already given up on: a kill cannot reach a lost agent, so
				// the task holds no capacity; it stops if the agent returns.
				continue
			}
			if !in.Now.Before(inactive) {
				d.kill(t, ReasonUnreachable)
				continue
			}
			d.requeue(inactive)
			d.Counts.Unreachable++
		case t.Killing || t.State == cluster.TaskKilling:
			d.Counts.Killing++
			occupying++
			if !isCurrent {
				killingOld++
			}
			continue
		case t.State == cluster.TaskRunning && t.Health == cluster.HealthUnhealthy:
			// Failing its checks, but not killed here: as in Marathon, the
			// health checker (the agent) kills a task only after
			// maxConsecutiveFailures failures in a row, and an agent
			// reports the task unhealthy from the first one. Killing it on
			// that report took healthy capacity away on every slow answer
			// (the soak's capacity dips). It counts as not healthy, and a
			// rollout kills old tasks that are not healthy first.
			d.Counts.Unhealthy++
		}
		occupying++
		if isCurrent {
			cur = append(cur, t)
			d.Counts.Current++
			if healthy(t) {
				if t.Unready {
					d.Counts.CurrentUnready++
				} else {
					d.Counts.CurrentHealthy++
				}
			}
		} else {
			old = append(old, t)
			d.Counts.Old++
			if healthy(t) {
				d.Counts.OldHealthy++
			}
		}
	}

	if n == 0 {
		for _, t := range sortedForKill(append(old, cur...), s.KillSelection) {
			d.kill(t, ReasonScaleDown)
		}
		d.Done = occupying == 0 && len(d.Kill) == 0
		return d
	}

	curHealthy := d.Counts.CurrentHealthy
	want := n - len(cur)
	if want < 0 {
		for _, t := range pickVictims(cur, -want, s.KillSelection) {
			d.kill(t, ReasonScaleDown)
			if healthy(t) && !t.Unready {
				curHealthy--
			}
		}
	}
	healthyNow := curHealthy + d.Counts.OldHealthy

	d.Rolling = len(old) > 0 || killingOld > 0
	if d.Rolling {
		budget := min(max(0, healthyNow-d.Limits.MinHealthy), len(old))
		// Instances left over from an earlier deployment beyond the count
		// go at once; newly started ones that are not healthy yet are not
		// counted, so that they are not killed before they had a chance.
		if extra := curHealthy + len(old) - n; extra > budget {
			budget = min(extra, len(old))
		}
		if brokenCapacity {
			budget = len(old)
		}
		for _, t := range sortedForUpgrade(old)[:budget] {
			d.kill(t, ReasonUpgrade)
		}
		// Killed tasks hold their capacity until they end, as in Marathon:
		// otherwise a slow kill would let the app exceed MaxCapacity.
		want = min(want, d.Limits.MaxCapacity-occupying)
	}

	if want > 0 {
		if ok, next := s.Backoff.Allowed(d.Launches, s.Version, in.Now); ok {
			d.Start = want
		} else {
			d.DelayedUntil = next
			d.requeue(next)
		}
	}
	d.Done = !d.Rolling && len(d.Kill) == 0 && d.Start == 0 && want <= 0 &&
		d.Counts.Killing == 0 && d.Counts.Unreachable == 0 &&
		d.Counts.Current == n && d.Counts.CurrentHealthy == n
	return d
}

func (d *Decision) kill(t *Task, r Reason) {
	d.Kill = append(d.Kill, Kill{TaskID: t.ID, Reason: r})
}

// requeue keeps the earliest future time at which the decision changes.
func (d *Decision) requeue(at time.Time) {
	if d.RequeueAt.IsZero() || at.Before(d.RequeueAt) {
		d.RequeueAt = at
	}
}

// killedUnhealthy reports a task its agent killed for failing its health
// checks maxConsecutiveFailures times in a row: a crash loop like any
// other, so it counts as a failed launch and the version backs off.
func killedUnhealthy(s Spec, t *Task) bool {
	return s.ReplaceUnhealthy && t.State == cluster.TaskKilled && t.Health == cluster.HealthUnhealthy
}

func healthy(t *Task) bool {
	return t.State == cluster.TaskRunning && t.Health == cluster.HealthHealthy
}

// orNow stands in for a missing timestamp with now, the choice that delays
// timeouts rather than firing them early.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// byID returns pointers to the tasks in id order, dropping repeated ids, so
// that the decision does not depend on the order the store listed them in.
func byID(tasks []Task) []*Task {
	ps := make([]*Task, len(tasks))
	for i := range tasks {
		ps[i] = &tasks[i]
	}
	slices.SortStableFunc(ps, func(a, b *Task) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(ps, func(a, b *Task) bool { return a.ID == b.ID })
}
