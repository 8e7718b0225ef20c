package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/reconciler/reconcilertest"
)

func TestLoopFollowsTheBranch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	repo, st, r, done := reconcilertest.StartLoop(ctx, t, metrics.New(reg))

	reconcilertest.WaitFor(t, ctx, "2 running tasks", func() bool { return reconcilertest.CountRunning(ctx, st) == 2 })
	reconcilertest.WaitFor(t, ctx, "status converged", func() bool { s := r.Status(); return s.Converged && len(s.Apps) == 1 && s.Apps[0].Health == "Healthy" })
	if n := gauge(t, reg, "berth_leader", ""); n != 1 {
		t.Errorf("berth_leader = %v while leading", n)
	}
	if n := gauge(t, reg, "berth_tasks", "RUNNING"); n != 2 {
		t.Errorf("berth_tasks{state=RUNNING} = %v, want 2", n)
	}
	if n, err := testutil.GatherAndCount(reg, "berth_sync_duration_seconds"); err != nil || n != 1 {
		t.Errorf("berth_sync_duration_seconds: %d series, %v", n, err)
	}

	// An invalid commit is rejected whole; the cluster stays as it is.
	bad := repo.Commit(t, "main", map[string]string{"apps/web.yaml": reconcilertest.Web(5) + "bogus: 1\n"}, "broken")
	gen := r.Sync()
	reconcilertest.WaitFor(t, ctx, "the sync request fetched", func() bool { return r.Status().Fetched >= gen })
	reconcilertest.WaitFor(t, ctx, "rejection", func() bool { s := r.Status(); return s.Rejected != nil && s.Rejected.Commit == bad })
	if got := r.Status().Rejected.Errors; len(got) == 0 || !containsStr(got[0], "apps/web.yaml:") {
		t.Errorf("rejection errors %q do not name the file and line", got)
	}
	// Two more passes after the rejection, rather than a sleep: the loop
	// keeps deciding on the last good commit and changes nothing.
	for range 2 {
		last := r.Status().LastSync
		reconcilertest.WaitFor(t, ctx, "another pass", func() bool { return r.Status().LastSync.After(last) })
	}
	if s := r.Status(); s.Decided == bad || s.Desired == bad {
		t.Fatalf("the rejected commit was decided on: %+v", s)
	}
	if n := reconcilertest.CountRunning(ctx, st); n != 2 {
		t.Fatalf("an invalid commit changed the cluster: %d running", n)
	}

	repo.Commit(t, "main", map[string]string{"apps/web.yaml": reconcilertest.Web(3)}, "web x3")
	r.Sync()
	reconcilertest.WaitFor(t, ctx, "3 running tasks", func() bool { return reconcilertest.CountRunning(ctx, st) == 3 })

	repo.Commit(t, "main", map[string]string{"README.md": "nothing"}, "remove web")
	r.Sync()
	reconcilertest.WaitFor(t, ctx, "pruned", func() bool {
		tasks, _ := st.Tasks(ctx)
		if len(tasks) > 0 {
			t.Logf("tasks: %+v status %+v", tasks[0].Assignment.Kill, tasks[0].Status)
		}
		return len(tasks) == 0
	})
	reconcilertest.WaitFor(t, ctx, "applied commit recorded", func() bool {
		c, _ := st.AppliedCommit(ctx)
		return c.Commit == r.Status().Desired && c.Commit != ""
	})

	cancel()
	<-done
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

// gauge reads a gauge from reg: the series whose one label has value label
// ("" for a gauge without labels).
func gauge(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge %s{%s}", name, label)
	return 0
}
