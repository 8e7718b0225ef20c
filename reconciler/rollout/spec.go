package rollout

import (
	"math"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// KillSelection says which instances go first when an app has too many.
type KillSelection string

const (
	YoungestFirst KillSelection = "YOUNGEST_FIRST"
	OldestFirst   KillSelection = "OLDEST_FIRST"
)

// Spec is the part of an app's desired state a deployment decision depends
// on. Version identifies the task definition: tasks whose version differs are
// replaced by a rolling restart, while an Instances change alone only scales.
type Spec struct {
	Version   string
	Instances int
	// MinimumHealthCapacity and MaximumOverCapacity are Marathon's
	// upgradeStrategy, each a fraction of Instances between 0 and 1.
	MinimumHealthCapacity float64
	MaximumOverCapacity   float64
	KillSelection         KillSelection
	// ReplaceUnhealthy: the agent kills a task past maxConsecutiveFailures,
	// and Step counts that kill as a failed launch. It is false when every
	// health check has maxConsecutiveFailures 0, Marathon's "report but
	// never kill".
	ReplaceUnhealthy bool
	// Resident: each instance can only be replaced where its persistent
	// volumes are, after its old task stopped (see LimitsForResident).
	Resident bool
	// InactiveAfter is how long a task may stay UNREACHABLE before a
	// replacement starts; ExpungeAfter is when its record is dropped.
	InactiveAfter time.Duration
	ExpungeAfter  time.Duration
	Backoff       Backoff
}

// SpecFromApp derives a Spec from a normalised App manifest; version is the
// content hash of its task definition, as recorded in Assignment.Version.
func SpecFromApp(app manifests.App, version string) Spec {
	sel := KillSelection(app.KillSelection)
	if sel != OldestFirst {
		sel = YoungestFirst
	}
	replace := len(app.HealthChecks) == 0
	for _, hc := range app.HealthChecks {
		if hc.MaxConsecutiveFailures > 0 {
			replace = true
		}
	}
	return Spec{
		Version:               version,
		Instances:             app.Instances,
		MinimumHealthCapacity: app.UpgradeStrategy.MinimumHealthCapacity,
		MaximumOverCapacity:   app.UpgradeStrategy.MaximumOverCapacity,
		KillSelection:         sel,
		ReplaceUnhealthy:      replace,
		Resident:              app.Resident(),
		InactiveAfter:         seconds(app.UnreachableStrategy.InactiveAfterSeconds),
		ExpungeAfter:          seconds(app.UnreachableStrategy.ExpungeAfterSeconds),
		Backoff: Backoff{
			Initial: seconds(app.BackoffSeconds),
			Factor:  app.BackoffFactor,
			Max:     seconds(app.MaxLaunchDelaySeconds),
		},
	}
}

// Task is one task of the app as the cluster reports it.
type Task struct {
	ID      string
	Version string
	State   cluster.TaskState
	Health  cluster.Health
	// StartedAt orders instances for killSelection; zero means not started.
	StartedAt time.Time
	// Agent is empty while the task is not placed on an agent.
	Agent string
	// Group is the task's value of the attribute a GROUP_BY constraint
	// spreads over (empty without one); scale-down keeps the groups even.
	Group string
	// Killing is true once a kill was requested (Assignment.Kill): the task
	// still holds capacity until it reaches a terminal state.
	Killing bool
	// Since is when the task entered its current state: for UNREACHABLE,
	// when its agent was lost; for terminal states, when it ended.
	Since time.Time
	// Unready is true while the task has readiness checks that have not all
	// passed: as in Marathon, a new task counts towards the rollout's
	// capacity only once it is ready (and healthy).
	Unready bool
}

// TaskFromCluster converts a cluster task (by pointer: a cluster.Task is
// hundreds of bytes, and a pass converts every task). group is the task's agent's value
// of the app's GROUP_BY attribute, or "" when the app has none.
func TaskFromCluster(t *cluster.Task, group string) Task {
	state := t.Status.State
	if state == "" {
		// An assignment the agent has not reported on yet.
		state = cluster.TaskStaging
	}
	return Task{
		ID:        t.TaskID,
		Version:   t.Version,
		State:     state,
		Health:    t.Status.Health,
		StartedAt: t.Status.StartedAt,
		Agent:     t.AgentID,
		Group:     group,
		Killing:   t.Kill,
		Since:     t.Status.UpdatedAt,
		Unready:   !t.Ready(),
	}
}

// maxSeconds keeps a converted duration far from int64 overflow; a century
// is "forever" for every setting here.
const maxSeconds = 100 * 365 * 24 * 3600

// seconds converts a manifest's float seconds, treating negative and NaN as
// zero and clamping absurd values, so no input makes a duration wrap around.
func seconds(s float64) time.Duration {
	if !(s > 0) {
		return 0
	}
	if s > maxSeconds || math.IsInf(s, 1) {
		s = maxSeconds
	}
	return time.Duration(s * float64(time.Second))
}
