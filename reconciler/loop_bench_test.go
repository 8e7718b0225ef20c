package reconciler

import (
	"context"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

var (
	benchNow     = decidebench.Now
	benchJobs    = decidebench.Jobs
	benchHistory = decidebench.History
	benchAgents  = decidebench.Agents
)

type staticSource struct{}

func (staticSource) Fetch(context.Context) error        { return nil }
func (staticSource) Resolve(string) (string, error)     { return "c1", nil }
func (staticSource) Tree(string, string) (fs.FS, error) { return nil, fs.ErrNotExist }

// idleLoop is a reconciler leading an in-memory cluster of 10,000 jobs, each
// with runsPerJob runs recorded, none due before the benchmark ends.
func idleLoop(tb testing.TB, runsPerJob int) (*Reconciler, cluster.Leadership) {
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	jobs := benchJobs(10000)
	// The clock is real here: schedules start far in the future, so none is due.
	for i := range jobs {
		if jobs[i].Schedule != "" {
			jobs[i].Schedule = "R/2099-01-01T00:00:00Z/PT1H"
		} else if jobs[i].Cron != "" {
			jobs[i].Cron = "0 0 1 1 *"
		}
	}
	states, runs := benchHistory(jobs, runsPerJob)
	for _, a := range benchAgents() {
		if _, err := st.RegisterAgent(ctx, a); err != nil {
			tb.Fatal(err)
		}
	}
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	var batch cluster.Batch
	for _, j := range jobs {
		s := states[j.Name]
		s.Anchor, s.LastHandled, s.ParentsSeen = time.Now(), time.Time{}, time.Now()
		batch.PutJobState(s)
		for _, r := range runs[j.Name] {
			batch.PutJobRun(r)
		}
	}
	if _, err := st.Commit(ctx, lead, &batch); err != nil {
		tb.Fatal(err)
	}
	r := New(Config{Branch: "main", Poll: time.Hour}, staticSource{}, st)
	set := &manifests.Set{Jobs: jobs}
	r.desired, r.schedules, r.status.Head, r.status.Desired = set, decide.JobSchedules(set), "c1", "c1"
	return r, lead
}

// BenchmarkJobLoopIdle10k runs the reconcile loop (1 s resync, the
// default) for 10,000 jobs none of which is due, and reports the CPU it
// uses as a share of one core (cpu-%) and the passes it ran.
func BenchmarkJobLoopIdle10k(b *testing.B) {
	for _, runsPerJob := range []int{0, 5} {
		b.Run(fmt.Sprintf("runs=%d", runsPerJob), func(b *testing.B) {
			r, lead := idleLoop(b, runsPerJob)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx, lead) }()
			time.Sleep(2 * time.Second) // the first passes record nothing new; then idle
			before, wall := cpuTime(), time.Now()
			for b.Loop() {
				time.Sleep(time.Second)
			}
			used, elapsed := cpuTime()-before, time.Since(wall)
			cancel()
			<-done
			b.ReportMetric(100*used.Seconds()/elapsed.Seconds(), "cpu-%")
		})
	}
}

// cpuTime is the user and system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJobSnapshot10k is what the loop reads from the store before
// each pass, with 10,000 jobs of 5 recorded runs each.
func BenchmarkJobSnapshot10k(b *testing.B) {
	r, _ := idleLoop(b, 5)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.input(ctx, r.desired, "c1"); err != nil {
			b.Fatal(err)
		}
	}
}
