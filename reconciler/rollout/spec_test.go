package rollout

import (
	"math"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/google/go-cmp/cmp"
)

func TestSpecFromApp(t *testing.T) {
	app := manifests.App{
		ID: "/web", Instances: 4,
		UpgradeStrategy:       manifests.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.25},
		UnreachableStrategy:   manifests.UnreachableStrategy{InactiveAfterSeconds: 300, ExpungeAfterSeconds: 600},
		BackoffSeconds:        1,
		BackoffFactor:         1.15,
		MaxLaunchDelaySeconds: 300,
		KillSelection:         "OLDEST_FIRST",
		HealthChecks:          []manifests.HealthCheck{{Protocol: "HTTP", MaxConsecutiveFailures: 3}},
	}
	want := Spec{
		Version: "abc", Instances: 4, MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.25,
		KillSelection: OldestFirst, ReplaceUnhealthy: true,
		InactiveAfter: 5 * time.Minute, ExpungeAfter: 10 * time.Minute,
		Backoff: Backoff{Initial: time.Second, Factor: 1.15, Max: 5 * time.Minute},
	}
	if diff := cmp.Diff(want, SpecFromApp(app, "abc")); diff != "" {
		t.Errorf("SpecFromApp mismatch (-want +got):\n%s", diff)
	}

	// maxConsecutiveFailures 0 everywhere: report, never kill.
	app.HealthChecks = []manifests.HealthCheck{{Protocol: "HTTP"}, {Protocol: "TCP"}}
	app.KillSelection = ""
	app.BackoffSeconds = math.Inf(1)
	app.MaxLaunchDelaySeconds = -5
	got := SpecFromApp(app, "abc")
	if got.ReplaceUnhealthy || got.KillSelection != YoungestFirst {
		t.Errorf("ReplaceUnhealthy %v, KillSelection %q; want false, YOUNGEST_FIRST", got.ReplaceUnhealthy, got.KillSelection)
	}
	if got.Backoff.Initial != maxSeconds*time.Second || got.Backoff.Max != 0 {
		t.Errorf("out-of-range seconds not clamped: %+v", got.Backoff)
	}
}

func TestTaskFromCluster(t *testing.T) {
	ct := cluster.Task{
		Assignment: cluster.Assignment{TaskID: "web.1", Version: "abc", AgentID: "agent-1", Kill: true},
		Status: cluster.TaskStatus{State: cluster.TaskRunning, Health: cluster.HealthHealthy,
			StartedAt: at(1), UpdatedAt: at(2)},
	}
	want := Task{ID: "web.1", Version: "abc", State: cluster.TaskRunning, Health: cluster.HealthHealthy,
		StartedAt: at(1), Agent: "agent-1", Group: "rack-1", Killing: true, Since: at(2)}
	if diff := cmp.Diff(want, TaskFromCluster(&ct, "rack-1")); diff != "" {
		t.Errorf("TaskFromCluster mismatch (-want +got):\n%s", diff)
	}
	// An assignment with no status yet is staging.
	if got := TaskFromCluster(&cluster.Task{Assignment: ct.Assignment}, ""); got.State != cluster.TaskStaging {
		t.Errorf("state without status = %q, want STAGING", got.State)
	}
}
