package rollout

import (
	"fmt"
	"time"

	"github.com/berthops/berth/cluster"
)

// t0 is the fixed "now" of the table tests; times are given in seconds
// relative to it.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// healthyT is a running, healthy task started sec seconds after t0.
func healthyT(id, version string, sec int) Task {
	return Task{ID: id, Version: version, State: cluster.TaskRunning, Health: cluster.HealthHealthy,
		StartedAt: at(sec), Agent: "agent-1", Since: at(sec)}
}

// runningT is a running task whose health is not known yet.
func runningT(id, version string, sec int) Task {
	t := healthyT(id, version, sec)
	t.Health = cluster.HealthUnknown
	return t
}

func unhealthyT(id, version string, sec int) Task {
	t := healthyT(id, version, sec)
	t.Health = cluster.HealthUnhealthy
	return t
}

// unhealthyEndedT is a task its agent killed for failing its health checks.
func unhealthyEndedT(id, version string, sec int) Task {
	t := endedT(id, version, cluster.TaskKilled, sec)
	t.Health = cluster.HealthUnhealthy
	return t
}

func stagingT(id, version string) Task {
	return Task{ID: id, Version: version, State: cluster.TaskStaging, Agent: "agent-1"}
}

func unplacedT(id, version string) Task {
	return Task{ID: id, Version: version, State: cluster.TaskStaging}
}

func killingT(id, version string) Task {
	t := healthyT(id, version, -100)
	t.Killing = true
	return t
}

func endedT(id, version string, state cluster.TaskState, sec int) Task {
	return Task{ID: id, Version: version, State: state, Agent: "agent-1", Since: at(sec)}
}

func unreachableT(id, version string, since int) Task {
	return Task{ID: id, Version: version, State: cluster.TaskUnreachable, StartedAt: at(-1000),
		Agent: "agent-2", Since: at(since)}
}

func inGroup(t Task, group string) Task {
	t.Group = group
	t.Agent = "agent-" + group
	return t
}

func killed(t Task) Task {
	t.Killing = true
	return t
}

// healthyN makes n healthy tasks of version, ids prefix-0.., started at
// successive seconds from start.
func healthyN(prefix, version string, n, start int) []Task {
	ts := make([]Task, n)
	for i := range ts {
		ts[i] = healthyT(fmt.Sprintf("%s-%02d", prefix, i), version, start+i)
	}
	return ts
}

func join(groups ...[]Task) []Task {
	var out []Task
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func kills(r Reason, ids ...string) []Kill {
	out := make([]Kill, len(ids))
	for i, id := range ids {
		out[i] = Kill{TaskID: id, Reason: r}
	}
	return out
}

// spec is the default spec of the tests: Marathon's defaults.
func spec(version string, n int) Spec {
	return Spec{
		Version: version, Instances: n,
		MinimumHealthCapacity: 1, MaximumOverCapacity: 1,
		KillSelection:    YoungestFirst,
		ReplaceUnhealthy: true,
		InactiveAfter:    5 * time.Minute, ExpungeAfter: 10 * time.Minute,
		Backoff: Backoff{Initial: time.Second, Factor: 1.15, Max: 300 * time.Second},
	}
}

func strategy(s Spec, mhc, moc float64) Spec {
	s.MinimumHealthCapacity, s.MaximumOverCapacity = mhc, moc
	return s
}
