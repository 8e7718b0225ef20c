package rollout

import (
	"testing"

	"github.com/berthops/berth/cluster"
)

func TestAppStatus(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		tasks    []Task
		launches Launches
		sync     Sync
		health   Health
		message  string
	}{
		{"all healthy", spec("v1", 2), healthyN("a", "v1", 2, 0), Launches{}, Synced, Healthy, "2/2 healthy"},
		{"new app", spec("v1", 2), nil, Launches{}, OutOfSync, Progressing, "0/2 healthy"},
		{"starting", spec("v1", 2), []Task{healthyT("a", "v1", 0), runningT("b", "v1", 1)}, Launches{}, Synced, Progressing, "1/2 healthy"},
		{"rolling", spec("v2", 2), healthyN("a", "v1", 2, 0), Launches{}, OutOfSync, Progressing, "0/2 healthy, 2 old (2 healthy)"},
		{"scale down pending", spec("v1", 1), healthyN("a", "v1", 2, 0), Launches{}, OutOfSync, Progressing, "2/1 healthy"},
		{"crash looping", spec("v1", 2), []Task{healthyT("a", "v1", 0), endedT("b", "v1", cluster.TaskFailed, 0)},
			Launches{Version: "v1", Failures: 3, LastFailure: at(-1)}, Synced, Degraded, "1/2 healthy, launch delayed 2s after 4 failures"},
		{"failing health checks", spec("v1", 2), []Task{healthyT("a", "v1", 0), unhealthyT("b", "v1", 0)}, Launches{}, Synced, Degraded, "1/2 healthy, 1 failing health checks"},
		{"agent lost", spec("v1", 2), []Task{healthyT("a", "v1", 0), unreachableT("b", "v1", -10)}, Launches{}, Synced, Degraded, "1/2 healthy, 1 unreachable"},
		{"suspended", spec("v1", 0), nil, Launches{}, Synced, Suspended, "0/0 healthy"},
		{"stopping", spec("v1", 0), []Task{killingT("a", "v1")}, Launches{}, Synced, Progressing, "0/0 healthy, 1 stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppStatus(Input{Spec: tt.spec, Tasks: tt.tasks, Launches: tt.launches, Now: t0})
			if got.Sync != tt.sync || got.Health != tt.health || got.Message != tt.message {
				t.Errorf("AppStatus = %+v, want %s/%s %q", got, tt.sync, tt.health, tt.message)
			}
		})
	}
}

func TestSyncOf(t *testing.T) {
	if SyncOf("abc", "abc") != Synced || SyncOf("abc", "") != OutOfSync {
		t.Error("SyncOf compares versions")
	}
}
