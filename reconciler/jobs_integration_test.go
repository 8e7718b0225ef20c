package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/fetch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// The session timeout of the stores in these tests: short, so a leader cut
// off from ZooKeeper is replaced quickly.
const jobsSession = 2 * time.Second

// jobYAML is a Job running berth/job:dev (it prints its arguments, sleeps
// $SLEEP and exits with $EXIT_CODE) with extra manifest lines.
func jobYAML(name, extra string, env map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind: Job\nname: %s\ncommand: %s\nshell: false\ncpus: 0.1\nmem: 16\n", name, name)
	b.WriteString(extra)
	b.WriteString("container:\n  type: DOCKER\n  image: " + testenv.JobImage + "\n")
	if len(env) > 0 {
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("environmentVariables:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "  - name: %s\n    value: %q\n", k, env[k])
		}
	}
	return b.String()
}

// jobsCluster is one Berth cluster under its own chroot of a shared
// ZooKeeper: a real agent on Docker, reconcilers campaigning for leadership,
// and an observer session the test reads the state through.
type jobsCluster struct {
	t      *testing.T
	ctx    context.Context
	zk     *testenv.ZooKeeper
	chroot string
	agent  string
	obs    *cluster.State
	wg     sync.WaitGroup
}

func newJobsCluster(t *testing.T, ctx context.Context, zk *testenv.ZooKeeper) *jobsCluster {
	t.Helper()
	c := &jobsCluster{t: t, ctx: ctx, zk: zk, chroot: "/jobs-" + testenv.UniqueID(t)}
	c.obs = cluster.NewState(c.open(zk.Addrs()[0]))

	cli := testenv.Docker(t)
	testenv.Images(t)
	label := testenv.DockerTestLabel(t, cli)
	c.agent = "jobs-agent-" + testenv.UniqueID(t)
	fetcher, err := fetch.New(fetch.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Config{
		SandboxDir: t.TempDir(), Fetcher: fetcher,
		Node: agent.Node{ID: c.agent, Hostname: c.agent, Address: "127.0.0.2",
			Resources: cluster.Resources{CPUs: 4, Mem: 4096, Disk: 10000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}},
		Runtime: dockerrt.New(cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: label}}),
		Cluster: &agent.StateCluster{State: cluster.NewState(c.open(zk.Addrs()[0]))},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.goRun("agent", func() error { return ag.Run(ctx) })
	t.Cleanup(c.wg.Wait) // registered after the stores' Close, so it runs before them
	return c
}

func (c *jobsCluster) open(addr string) *zkstore.Store {
	c.t.Helper()
	octx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(octx, zkstore.Config{Servers: []string{addr}, Chroot: c.chroot}, zkstore.Options{SessionTimeout: jobsSession})
	if err != nil {
		c.t.Fatalf("open zkstore: %v", err)
	}
	c.t.Cleanup(func() { s.Close() })
	return s
}

func (c *jobsCluster) goRun(what string, f func() error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := f(); err != nil && c.ctx.Err() == nil {
			c.t.Errorf("%s: %v", what, err)
		}
	}()
}

// serve runs a berth server's control loop for id on store: campaign, then
// reconcile while leading, and campaign again when leadership is lost.
func (c *jobsCluster) serve(id string, store *zkstore.Store, repoURL string) {
	c.t.Helper()
	c.serveObserved(id, store, repoURL, nil)
}

// serveObserved is serve with an observer of the replica's loop. Like berth
// server, the replica keeps its standby cache filled while it follows.
func (c *jobsCluster) serveObserved(id string, store *zkstore.Store, repoURL string, obs reconciler.Observer) {
	c.t.Helper()
	src, err := reconciler.OpenGit(c.ctx, gitsource.Options{URL: repoURL, CacheDir: c.t.TempDir()})
	if err != nil {
		c.t.Fatal(err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 100 * time.Millisecond, Observer: obs}, src, cluster.NewState(store))
	c.goRun("standby "+id, func() error { r.Standby(c.ctx); return nil })
	c.goRun("reconciler "+id, func() error {
		for c.ctx.Err() == nil {
			lead, err := cluster.Campaign(c.ctx, store, cluster.DirLeader, id)
			if err != nil {
				time.Sleep(100 * time.Millisecond) // cut off from ZooKeeper: try again
				continue
			}
			err = r.Run(c.ctx, lead)
			if !errors.Is(err, cluster.ErrFenced) && !errors.Is(err, cluster.ErrClosed) && c.ctx.Err() == nil {
				return err
			}
		}
		return nil
	})
}

func (c *jobsCluster) runs(job string) []cluster.JobRun {
	c.t.Helper()
	runs, err := c.obs.JobRuns(c.ctx, job)
	if err != nil {
		c.t.Fatalf("read runs of %s: %v", job, err)
	}
	return runs
}

func (c *jobsCluster) waitFor(what string, ok func() bool) {
	c.t.Helper()
	for !ok() {
		select {
		case <-c.ctx.Done():
			c.t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *jobsCluster) ended(job string, state cluster.JobRunState) int {
	n := 0
	for _, r := range c.runs(job) {
		if r.State == state {
			n++
		}
	}
	return n
}

// firstTick is a schedule start a few seconds ahead, on a whole second, so
// the first occurrence comes after the reconcilers loaded the commit.
func firstTick() time.Time {
	return time.Now().UTC().Truncate(time.Second).Add(3 * time.Second)
}

func iso(t time.Time) string { return t.Format("2006-01-02T15:04:05Z") }

func TestJobsOnRealCluster(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)

	t.Run("schedule, retries and parents", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		c := newJobsCluster(t, ctx, zk)
		defer cancel() // before the cleanups wait for the agent and the loop
		start := firstTick()
		repo := testenv.NewGitRepo(t, t.TempDir())
		once := "schedule: R1/" + iso(start) + "/PT1H\n"
		repo.Commit(t, "main", map[string]string{
			// concurrent: on a loaded machine a run can outlast its 2 s,
			// and the next would be skipped (as it should be without it).
			"jobs/tick.yaml":      jobYAML("tick", "schedule: R/"+iso(start)+"/PT2S\nconcurrent: true\n", nil),
			"jobs/flaky.yaml":     jobYAML("flaky", once+"retries: 2\n", map[string]string{"EXIT_CODE": "1"}),
			"jobs/extract.yaml":   jobYAML("extract", once, map[string]string{"SLEEP": "500ms"}),
			"jobs/transform.yaml": jobYAML("transform", "parents: [extract]\n", nil),
			"jobs/load.yaml":      jobYAML("load", "parents: [transform]\n", nil),
		}, "jobs")
		c.serve("s1", c.open(zk.Addrs()[0]), repo.FileURL())

		c.waitFor("3 successful runs of tick, flaky failed, load succeeded", func() bool {
			return c.ended("tick", cluster.JobRunSucceeded) >= 3 && c.ended("flaky", cluster.JobRunFailed) == 1 &&
				c.ended("load", cluster.JobRunSucceeded) == 1
		})

		t.Run("a job every 2 s runs and records history", func(t *testing.T) {
			var done []cluster.JobRun
			for _, r := range c.runs("tick") {
				if r.State.Ended() {
					done = append(done, r)
				}
			}
			for i, r := range done {
				want := start.Add(time.Duration(i) * 2 * time.Second)
				if !r.ScheduledAt.Equal(want) || r.State != cluster.JobRunSucceeded {
					t.Errorf("run %d: %s due %s, want SUCCEEDED due %s (%+v)", i, r.State, iso(r.ScheduledAt), iso(want), r)
					continue
				}
				checkRun(t, r, c.agent, cluster.TriggerSchedule, 1, 0, "job: exiting 0")
			}
			states, err := c.obs.JobStates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st := states["tick"]; st.SuccessCount < len(done) || st.ErrorCount != 0 || st.LastSuccess.IsZero() {
				t.Errorf("job state %+v, want %d successes", st, len(done))
			}
		})

		t.Run("a failing job is retried, then recorded FAILED", func(t *testing.T) {
			runs := c.runs("flaky")
			if len(runs) != 1 {
				t.Fatalf("runs of flaky: %+v, want one", runs)
			}
			// retries: 2 is three attempts in all, the last one recorded.
			checkRun(t, runs[0], c.agent, cluster.TriggerSchedule, 3, 1, "job: exiting 1")
			if !strings.HasSuffix(runs[0].TaskID, ".3") {
				t.Errorf("task id %s is not the third attempt's", runs[0].TaskID)
			}
			states, _ := c.obs.JobStates(ctx)
			if st := states["flaky"]; st.ErrorCount != 1 || st.SuccessCount != 0 {
				t.Errorf("job state %+v, want 1 error", st)
			}
		})

		t.Run("a parent/child chain runs in order", func(t *testing.T) {
			var prev cluster.JobRun
			for i, job := range []string{"extract", "transform", "load"} {
				runs := c.runs(job)
				if len(runs) != 1 {
					t.Fatalf("runs of %s: %+v, want one", job, runs)
				}
				r := runs[0]
				trigger := cluster.TriggerParents
				if i == 0 {
					trigger = cluster.TriggerSchedule
				}
				checkRun(t, r, c.agent, trigger, 1, 0, "job: task "+r.TaskID)
				if i > 0 && r.StartedAt.Before(prev.FinishedAt) {
					t.Errorf("%s started at %s, before its parent %s ended at %s", job, r.StartedAt, prev.Job, prev.FinishedAt)
				}
				prev = r
			}
		})
	})

	t.Run("leader failover mid-schedule neither skips nor repeats a run", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		c := newJobsCluster(t, ctx, zk)
		defer cancel()
		start := firstTick()
		repo := testenv.NewGitRepo(t, t.TempDir())
		// epsilon makes every occurrence missed during the failover run
		// (Chronos 2) rather than collapse into one catch-up run, so each one
		// can be accounted for; concurrent lets a catch-up run overlap.
		repo.Commit(t, "main", map[string]string{
			"jobs/tick.yaml": jobYAML("tick", "schedule: R/"+iso(start)+"/PT2S\nepsilon: PT1M\nconcurrent: true\n", nil),
		}, "tick")
		proxies := map[string]*testenv.ZKProxy{"s1": zk.Proxy(t, 0), "s2": zk.Proxy(t, 0)}
		for _, id := range []string{"s1", "s2"} {
			c.serve(id, c.open(proxies[id].Addr()), repo.FileURL())
		}
		leader := func() string {
			id, _ := c.obs.Leader(ctx)
			return id
		}
		c.waitFor("2 successful runs", func() bool { return c.ended("tick", cluster.JobRunSucceeded) >= 2 })
		first := leader()
		if proxies[first] == nil {
			t.Fatalf("leader %q is neither s1 nor s2", first)
		}
		// Cut the leader off mid-schedule: its session expires after the
		// timeout and the other server takes over; the old one, fenced,
		// cannot record anything more.
		proxies[first].Block()
		cutAt := time.Now()
		c.waitFor("the other server to lead", func() bool { l := leader(); return l != "" && l != first })
		t.Logf("%s cut off; %s leads after %v", first, leader(), time.Since(cutAt).Round(10*time.Millisecond))
		c.waitFor("runs due after the failover to succeed", func() bool {
			n := 0
			for _, r := range c.runs("tick") {
				if r.State == cluster.JobRunSucceeded && r.ScheduledAt.After(cutAt.Add(2*time.Second)) {
					n++
				}
			}
			return n >= 2
		})
		proxies[first].Unblock() // it comes back as a follower

		var done []cluster.JobRun
		for _, r := range c.runs("tick") {
			if r.State.Ended() {
				done = append(done, r)
			}
		}
		tasks := map[string]bool{}
		for i, r := range done {
			want := start.Add(time.Duration(i) * 2 * time.Second)
			if !r.ScheduledAt.Equal(want) {
				t.Fatalf("run %d is due %s, want %s: an occurrence was skipped or repeated; runs %+v", i, iso(r.ScheduledAt), iso(want), done)
			}
			if r.State != cluster.JobRunSucceeded || r.Attempt != 1 {
				t.Errorf("run due %s: %s attempt %d (%s), want SUCCEEDED first attempt", iso(r.ScheduledAt), r.State, r.Attempt, r.Message)
			}
			if tasks[r.TaskID] {
				t.Errorf("task %s ran twice", r.TaskID)
			}
			tasks[r.TaskID] = true
			// The container's own output names the task it ran as.
			if !strings.Contains(r.OutputTail, "job: task "+r.TaskID+" ") {
				t.Errorf("run due %s: output %q is not from task %s", iso(r.ScheduledAt), r.OutputTail, r.TaskID)
			}
		}
		t.Logf("%d runs, every 2 s from %s, each exactly once", len(done), iso(start))
	})
}

func checkRun(t *testing.T, r cluster.JobRun, agentID, trigger string, attempt, exit int, output string) {
	t.Helper()
	switch {
	case r.Trigger != trigger:
		t.Errorf("%s run %s: trigger %q, want %q", r.Job, r.RunID, r.Trigger, trigger)
	case r.Attempt != attempt:
		t.Errorf("%s run %s: attempt %d, want %d", r.Job, r.RunID, r.Attempt, attempt)
	case r.ExitCode == nil || *r.ExitCode != exit:
		t.Errorf("%s run %s: exit code %v, want %d", r.Job, r.RunID, r.ExitCode, exit)
	case r.AgentID != agentID:
		t.Errorf("%s run %s: agent %q, want %q", r.Job, r.RunID, r.AgentID, agentID)
	case !strings.Contains(r.OutputTail, output):
		t.Errorf("%s run %s: output %q, want it to hold %q", r.Job, r.RunID, r.OutputTail, output)
	case r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) || r.StartedAt.Before(r.ScheduledAt):
		t.Errorf("%s run %s: due %s, started %s, finished %s: out of order", r.Job, r.RunID, r.ScheduledAt, r.StartedAt, r.FinishedAt)
	}
}
