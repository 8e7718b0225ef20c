package reconciler

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
)

// A run of a disabled job is refused, not accepted and then dropped by the
// pass; the error names the manifest. Only accepted runs are queued.
func TestAPIRunJob(t *testing.T) {
	r := New(Config{}, nil, cluster.NewState(memstore.New().Client()))
	r.desired = &manifests.Set{Jobs: []manifests.Job{
		{Name: "nightly", Schedule: "R/2026-01-01T00:00:00Z/P1D"},
		{Name: "old", Schedule: "R/2026-01-01T00:00:00Z/P1D", Disabled: true, Origin: manifests.Origin{File: "jobs/old.yaml", Line: 1}},
	}}
	tests := []struct {
		job      string
		msg      string
		disabled bool
	}{
		{"nightly", "", false},
		{"old", "jobs/old.yaml:1: job old has disabled: true", true},
		{"nope", `no job "nope"`, false},
	}
	for _, tt := range tests {
		err := r.RunJob(tt.job)
		if (err == nil) != (tt.msg == "") || (err != nil && !strings.Contains(err.Error(), tt.msg)) || errors.Is(err, ErrJobDisabled) != tt.disabled {
			t.Errorf("RunJob(%s) = %v, want %q (disabled %v)", tt.job, err, tt.msg, tt.disabled)
		}
	}
	if !cmp.Equal(r.manual, []string{"nightly"}) {
		t.Errorf("manual runs queued: %v, want only nightly", r.manual)
	}
}
