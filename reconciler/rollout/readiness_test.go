package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/google/go-cmp/cmp"
)

func unreadyT(id, version string, sec int) Task {
	t := healthyT(id, version, sec)
	t.Unready = true
	return t
}

// TestReadinessHoldsRollout: as in Marathon, a new task counts towards the
// rollout's capacity only once it is healthy and ready, so no old task is
// killed for it before then and the deployment is not done.
func TestReadinessHoldsRollout(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		tasks []Task
		want  outcome
	}{
		{name: "healthy but not ready new tasks kill no old task", spec: spec("v2", 2),
			tasks: join(healthyN("old", "v1", 2, 0), []Task{unreadyT("new-0", "v2", 10), unreadyT("new-1", "v2", 11)}),
			want:  outcome{Rolling: true}},
		{name: "each ready new task frees one old", spec: spec("v2", 2),
			tasks: join(healthyN("old", "v1", 2, 0), []Task{healthyT("new-0", "v2", 10), unreadyT("new-1", "v2", 11)}),
			want:  outcome{Kill: kills(ReasonUpgrade, "old-00"), Rolling: true}},
		{name: "all ready: the rest of the old go", spec: spec("v2", 2),
			tasks: join(healthyN("old", "v1", 2, 0), healthyN("new", "v2", 2, 10)),
			want:  outcome{Kill: kills(ReasonUpgrade, "old-00", "old-01"), Rolling: true}},
		{name: "one at a time waits for readiness before the next", spec: strategy(spec("v2", 2), 1, 0),
			tasks: join(healthyN("old", "v1", 2, 0), []Task{unreadyT("new-0", "v2", 10)}),
			want:  outcome{Rolling: true}},
		{name: "a not-ready task keeps the deployment from being done", spec: spec("v1", 2),
			tasks: []Task{healthyT("a", "v1", 0), unreadyT("b", "v1", 1)},
			want:  outcome{}},
		{name: "ready tasks are done", spec: spec("v1", 2),
			tasks: healthyN("a", "v1", 2, 0),
			want:  outcome{Done: true}},
		{name: "an unready old task counts by its health only", spec: spec("v2", 1),
			tasks: []Task{unreadyT("old", "v1", 0), healthyT("new", "v2", 10)},
			want:  outcome{Kill: kills(ReasonUpgrade, "old"), Rolling: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcomeOf(Step(Input{Spec: tt.spec, Tasks: tt.tasks, Now: t0}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadinessStatus(t *testing.T) {
	in := Input{Spec: spec("v2", 2), Now: t0,
		Tasks: join(healthyN("old", "v1", 2, 0), []Task{unreadyT("new-0", "v2", 10), unreadyT("new-1", "v2", 11)})}
	st := AppStatus(in)
	if st.Health != Progressing || !strings.Contains(st.Message, "0/2 healthy") || !strings.Contains(st.Message, "2 not ready") {
		t.Errorf("status = %+v", st)
	}
}

// TestTaskFromClusterReadiness: a task is unready while its spec declares a
// readiness check that has not passed.
func TestTaskFromClusterReadiness(t *testing.T) {
	rc := []cluster.ReadinessCheckSpec{{Name: "ready", Protocol: "HTTP", Path: "/", Interval: time.Second, Timeout: time.Second, StatusCodes: []int{200}}}
	ct := cluster.Task{Assignment: cluster.Assignment{TaskID: "t", Version: "v", Spec: cluster.TaskSpec{ReadinessChecks: rc}},
		Status: cluster.TaskStatus{State: cluster.TaskRunning, Health: cluster.HealthHealthy}}
	if !TaskFromCluster(&ct, "").Unready {
		t.Error("no result yet: want unready")
	}
	ct.Status.Readiness = []cluster.ReadinessResult{{Name: "ready", Ready: false}}
	if !TaskFromCluster(&ct, "").Unready {
		t.Error("failing: want unready")
	}
	ct.Status.Readiness = []cluster.ReadinessResult{{Name: "ready", Ready: true}}
	if TaskFromCluster(&ct, "").Unready {
		t.Error("passed: want ready")
	}
	ct.Spec.ReadinessChecks = nil
	ct.Status.Readiness = nil
	if TaskFromCluster(&ct, "").Unready {
		t.Error("no readiness checks: want ready")
	}
}
