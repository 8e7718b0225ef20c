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
	"github.com/berthops/berth/schedule"
)

// benchNow is when the benchmarks' passes run: no job is due then.
var benchNow = time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)

// benchJobs is n jobs with a Chronos-sized mix of schedules: ISO intervals
// of minutes to months in several zones, cron expressions, dependent jobs
// and a few disabled ones.
func benchJobs(n int) []manifests.Job {
	isos := []string{"R/2026-01-01T00:00:00Z/PT1H", "R/2026-01-01T02:30:00Z/P1D", "R/2026-01-05T06:00:00Z/P1W",
		"R/2026-01-31T03:00:00Z/P1M", "R/2026-01-01T00:00:00Z/PT15M", "R/2026-01-01T00:00:00.250Z/PT10M"}
	crons := []string{"*/5 * * * *", "@daily", "0 9 * * MON-FRI", "30 2 1 * *", "0 */6 * * *"}
	zones := []string{"", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"}
	jobs := make([]manifests.Job, n)
	for i := range jobs {
		j := manifests.Job{Name: fmt.Sprintf("job-%05d", i), Command: "/job", CPUs: 0.1, Mem: 16, Retries: i % 3,
			ScheduleTimeZone: zones[i%len(zones)], Container: &manifests.JobContainer{Type: "DOCKER", Image: "berth/job:dev"}}
		switch {
		case i%10 == 9 && i > 0:
			j.Parents = []string{jobs[i-1].Name}
		case i%2 == 0:
			j.Schedule = isos[i%len(isos)]
		default:
			j.Cron = crons[i%len(crons)]
		}
		if i%50 == 0 {
			j.Epsilon = "PT10M"
		}
		j.Disabled = i%97 == 0
		jobs[i] = j
	}
	return jobs
}

// benchHistory is what the scheduler has recorded for jobs after running a
// while: each job's last occurrence before benchNow handled and runs
// of it succeeded.
func benchHistory(jobs []manifests.Job, runsPerJob int) (map[string]cluster.JobState, map[string][]cluster.JobRun) {
	states := map[string]cluster.JobState{}
	runs := map[string][]cluster.JobRun{}
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, j := range jobs {
		st := cluster.JobState{Job: j.Name, Anchor: anchor, ParentsSeen: benchNow.Add(-time.Second)}
		if s := firstNonEmpty(j.Schedule, j.Cron); s != "" {
			sc, err := schedule.Parse(j.Schedule, j.Cron, j.ScheduleTimeZone)
			if err != nil {
				panic(fmt.Sprintf("bench job %s: %v", j.Name, err)) // a bug in benchJobs
			}
			// The most recent occurrence at or before now is handled.
			st.LastHandled = sc.Due(benchNow.Add(-40*24*time.Hour), benchNow, 0).Handled
		}
		code := 0
		for k := range runsPerJob {
			at := benchNow.Add(-time.Duration(runsPerJob-k) * time.Hour) // oldest first, as the store lists them
			runs[j.Name] = append(runs[j.Name], cluster.JobRun{Job: j.Name, RunID: newRunID(at, cluster.TriggerSchedule), State: cluster.JobRunSucceeded,
				Attempt: 1, ScheduledAt: at, StartedAt: at, FinishedAt: at.Add(time.Second), ExitCode: &code, Trigger: cluster.TriggerSchedule,
				AgentID: "a1", OutputTail: "job: exiting 0\n"})
			st.SuccessCount++
			st.LastSuccess = at.Add(time.Second)
		}
		// Parents' last successes are older than what the child saw.
		st.ParentsSeen = benchNow
		states[j.Name] = st
	}
	return states, runs
}

func benchAgents() []cluster.Agent {
	agents := make([]cluster.Agent, 20)
	for i := range agents {
		agents[i] = cluster.Agent{ID: fmt.Sprintf("a%d", i), Hostname: fmt.Sprintf("a%d", i), Reachable: true,
			Resources: cluster.Resources{CPUs: 16, Mem: 65536, Disk: 100000}}
	}
	return agents
}

// BenchmarkJobPass10k is the job part of a reconcile pass for 10,000 jobs
// with mixed schedules, none due: computing every job's next run. The
// target is under 50 ms. "remembered" is the loop's steady state (schedules
// parsed once per commit, next runs remembered from the last pass);
// "parsed" computes every job's next run (the first pass after a commit);
// "unparsed" also parses every schedule, as every pass once did.
func BenchmarkJobPass10k(b *testing.B) {
	jobs := benchJobs(10000)
	set := &manifests.Set{Jobs: jobs}
	states, runs := benchHistory(jobs, 5)
	for _, mode := range []string{"remembered", "parsed", "unparsed"} {
		b.Run(mode, func(b *testing.B) {
			snap := Snapshot{Desired: set, Commit: "c1", Agents: benchAgents(), JobStates: states, JobRuns: runs, Now: benchNow}
			if mode != "unparsed" {
				snap.Schedules = JobSchedules(set)
			}
			out, err := Pass(snap, PassOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if out.Batch.Len() != 0 {
				b.Fatalf("an idle pass writes %d operations, want none", out.Batch.Len())
			}
			if mode == "remembered" {
				snap.NextDue = out.NextDue
			}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := Pass(snap, PassOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time is what other builds' load on the machine does not inflate.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkJobSchedules10k parses 10,000 jobs' schedules, once per commit.
func BenchmarkJobSchedules10k(b *testing.B) {
	set := &manifests.Set{Jobs: benchJobs(10000)}
	b.ReportAllocs()
	for b.Loop() {
		JobSchedules(set)
	}
}

// staticSource is a Source whose branch never moves.
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
	r.desired, r.schedules, r.status.Head, r.status.Desired = set, JobSchedules(set), "c1", "c1"
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
		if _, err := r.snapshot(ctx, r.desired, "c1", nil); err != nil {
			b.Fatal(err)
		}
	}
}
