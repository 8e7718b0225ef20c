package reconciler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

// scaleLoop is a reconciler leading an in-memory cluster of tasks/100 apps
// of 100 running, healthy instances on tasks/30 agents (150,000 tasks on
// 5,000 agents at the top size), converged, its cache filled.
func scaleLoop(b *testing.B, tasks int) (*Reconciler, cluster.Leadership, *manifests.Set, func()) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	apps := decidebench.Apps(tasks / 100)
	for i := range apps {
		apps[i].Instances = 100
	}
	agents := decidebench.BigAgents(tasks / 30)
	for i := range agents {
		agents[i].Resources = cluster.Resources{CPUs: 32, Mem: 65536, Disk: 1 << 20}
	}
	set := &manifests.Set{Apps: apps}
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// One decision on the empty cluster places every task; its changes,
	// with every task reported running and healthy, are the converged
	// state (deciding until converged would replay 150,000 tasks through
	// Input.Apply one at a time).
	now := time.Now()
	out := decide.Decide(decide.Input{Desired: set, Commit: "c0", Agents: agents, Now: now}, decide.Options{Prune: true})
	var statuses []cluster.TaskStatus
	for _, c := range out.Changes {
		if s, ok := c.(decide.StartTask); ok {
			statuses = append(statuses, cluster.TaskStatus{TaskID: s.Assignment.TaskID, AgentID: s.Assignment.AgentID, State: cluster.TaskRunning,
				Health: cluster.HealthHealthy, StartedAt: now, UpdatedAt: now})
		}
	}
	if len(statuses) != tasks {
		b.Fatalf("placed %d tasks, want %d", len(statuses), tasks)
	}
	for _, a := range agents {
		if _, err := st.RegisterAgent(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	if err := CommitChanges(ctx, st, lead, out.Changes, "main"); err != nil {
		b.Fatal(err)
	}
	if err := st.PutStatuses(ctx, statuses...); err != nil {
		b.Fatal(err)
	}
	r := New(Config{Branch: "main", Poll: time.Hour, Pass: decide.Options{Prune: true}}, staticSource{}, st)
	r.desired, r.status.Head, r.status.Desired = set, "c1", "c1"
	r.jobs = &jobRecords{}
	stop := r.startMirror(ctx)
	// Passes until nothing changes (the deployments' end, the applied
	// commit): the next pass is idle.
	for range 5 {
		if _, err := r.pass(ctx, lead); err != nil {
			b.Fatal(err)
		}
		if r.last != nil {
			return r, lead, set, stop
		}
	}
	b.Fatal("the benchmark cluster did not converge")
	return nil, nil, nil, nil
}

var scaleSizes = []int{15000, 150000}

// BenchmarkPassIdle is a reconcile pass with nothing changed, on the
// cache: cpu-ms/op is the process's CPU per pass.
func BenchmarkPassIdle(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			r, lead, _, stop := scaleLoop(b, n)
			defer stop()
			ctx := context.Background()
			before := cpuTime()
			for b.Loop() {
				if _, err := r.pass(ctx, lead); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkPassOneAppScaled is a pass after a commit that scales one app
// from 100 to 110 instances: deciding over the cache, placing the 10 new
// tasks and committing their assignments. Each op scales another app.
func BenchmarkPassOneAppScaled(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			r, lead, set, stop := scaleLoop(b, n)
			defer stop()
			ctx := context.Background()
			var cpu time.Duration
			i := 0
			for b.Loop() {
				b.StopTimer()
				next := *set
				next.Apps = append([]manifests.App(nil), set.Apps...)
				next.Apps[i%len(next.Apps)].Instances = 110
				set, i = &next, i+1
				r.desired, r.status.Head, r.status.Desired = set, fmt.Sprintf("c%d", i+1), fmt.Sprintf("c%d", i+1)
				b.StartTimer()
				before := cpuTime()
				if _, err := r.pass(ctx, lead); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - before
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkPassDirectReads is the pass as it was before the cache: every
// pass reads the whole cluster state from the store (here in memory, so
// without ZooKeeper's round trips) and decides over all of it.
func BenchmarkPassDirectReads(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			r, lead, _, stop := scaleLoop(b, n)
			stop()
			r.last = nil
			ctx := context.Background()
			before := cpuTime()
			for b.Loop() {
				if _, err := r.pass(ctx, lead); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
