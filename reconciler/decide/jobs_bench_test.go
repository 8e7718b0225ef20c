package decide_test

import (
	"syscall"
	"testing"
	"time"

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
			snap := decide.Input{Desired: set, Commit: "c1", Agents: benchAgents(), JobStates: states, JobRuns: runs, Now: benchNow}
			if mode != "unparsed" {
				snap.Schedules = decide.JobSchedules(set)
			}
			out := decide.Decide(snap, decide.Options{})
			if len(out.Changes) != 0 {
				b.Fatalf("an idle pass writes %d changes, want none", len(out.Changes))
			}
			if mode == "remembered" {
				snap.NextDue = out.NextDue
			}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				decide.Decide(snap, decide.Options{})
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
		decide.JobSchedules(set)
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
