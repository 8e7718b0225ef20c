package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/cluster"
)

// nightlyJob has a schedule far in the future, so only manual runs happen.
const nightlyJob = `kind: Job
name: nightly
command: /job
schedule: R/2099-01-01T02:00:00Z/P1D
cpus: 0.1
mem: 16
container:
  type: DOCKER
  image: berth/job:dev
`

func TestJobsAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := clienttest.Start(t, clienttest.Options{Files: map[string]string{"jobs/nightly.yaml": nightlyJob}})
	c, err := client.New(env.URL, clienttest.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	env.WaitFor(t, "the job in the status", func() bool { return len(env.Reconciler.Status().Jobs) == 1 })
	jobs, err := c.Jobs(ctx)
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	if len(jobs) != 1 || jobs[0].Name != "nightly" || jobs[0].Schedule != "R/2099-01-01T02:00:00Z/P1D" || !jobs[0].Next.Equal(time.Date(2099, 1, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("jobs = %+v, want nightly next at 2099-01-01T02:00Z", jobs)
	}
	runs, err := c.JobRuns(ctx, "nightly")
	if err != nil || len(runs) != 0 {
		t.Fatalf("runs before any = %+v, %v; want none", runs, err)
	}

	anon, err := client.New(env.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.RunJob(ctx, "nightly"); !client.Unauthorized(err) {
		t.Errorf("run without a token: %v, want 401", err)
	}
	if err := c.RunJob(ctx, "nope"); !client.NotFound(err) {
		t.Errorf("run of an undeclared job: %v, want 404", err)
	}
	if err := c.RunJob(ctx, "nightly"); err != nil {
		t.Fatalf("run: %v", err)
	}
	env.WaitFor(t, "the manual run to be recorded running", func() bool {
		runs, err = c.JobRuns(ctx, "nightly")
		return err == nil && len(runs) == 1 && runs[0].State == cluster.JobRunRunning
	})
	r := runs[0]
	if r.Trigger != cluster.TriggerManual || r.Attempt != 1 || r.AgentID != "a1" || r.TaskID == "" {
		t.Errorf("run = %+v, want a manual first attempt on a1 with a task", r)
	}
}
