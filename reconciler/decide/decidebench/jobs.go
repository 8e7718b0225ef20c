// Package decidebench holds the decision engine's benchmark and test
// fixtures (thousands of jobs with a realistic mix of schedules, their
// recorded history, agents), shared by decide's and the reconcile loop's
// benchmarks. Only tests and benchmarks import it.
package decidebench

import (
	"fmt"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/schedule"
)

// Now is when the benchmarks' decisions are made: no job is due then.
var Now = time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)

// Jobs is n jobs with a Chronos-sized mix of schedules: ISO intervals
// of minutes to months in several zones, cron expressions, dependent jobs
// and a few disabled ones.
func Jobs(n int) []manifests.Job {
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

// History is what the scheduler has recorded for jobs after running a
// while: each job's last occurrence before Now handled and runs
// of it succeeded.
func History(jobs []manifests.Job, runsPerJob int) (map[string]cluster.JobState, map[string][]cluster.JobRun) {
	states := map[string]cluster.JobState{}
	runs := map[string][]cluster.JobRun{}
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, j := range jobs {
		st := cluster.JobState{Job: j.Name, Anchor: anchor, ParentsSeen: Now.Add(-time.Second)}
		if s := j.Schedule + j.Cron; s != "" {
			sc, err := schedule.Parse(j.Schedule, j.Cron, j.ScheduleTimeZone)
			if err != nil {
				panic(fmt.Sprintf("bench job %s: %v", j.Name, err)) // a bug in Jobs
			}
			// The most recent occurrence at or before now is handled.
			st.LastHandled = sc.Due(Now.Add(-40*24*time.Hour), Now, 0).Handled
		}
		code := 0
		for k := range runsPerJob {
			at := Now.Add(-time.Duration(runsPerJob-k) * time.Hour) // oldest first, as the store lists them
			runs[j.Name] = append(runs[j.Name], cluster.JobRun{Job: j.Name, RunID: decide.RunID(at, cluster.TriggerSchedule), State: cluster.JobRunSucceeded,
				Attempt: 1, ScheduledAt: at, StartedAt: at, FinishedAt: at.Add(time.Second), ExitCode: &code, Trigger: cluster.TriggerSchedule,
				AgentID: "a1", OutputTail: "job: exiting 0\n"})
			st.SuccessCount++
			st.LastSuccess = at.Add(time.Second)
		}
		// Parents' last successes are older than what the child saw.
		st.ParentsSeen = Now
		states[j.Name] = st
	}
	return states, runs
}

// Agents are 20 large reachable agents.
func Agents() []cluster.Agent {
	agents := make([]cluster.Agent, 20)
	for i := range agents {
		agents[i] = cluster.Agent{ID: fmt.Sprintf("a%d", i), Hostname: fmt.Sprintf("a%d", i), Reachable: true,
			Resources: cluster.Resources{CPUs: 16, Mem: 65536, Disk: 100000}}
	}
	return agents
}
