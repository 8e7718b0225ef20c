package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// wantSettled checks app has exactly n live tasks, all running, healthy and
// of image (any image when ""), that Docker runs exactly their containers
// and that Consul lists exactly their ports: no lost and no duplicate
// instance.
func wantSettled(ctx context.Context, c *Cluster, app, service, image string, n int) ([]cluster.Task, error) {
	all, err := c.Tasks(ctx, app)
	if err != nil {
		return nil, err
	}
	running := Running(all)
	if len(running) != n || len(LiveTasks(all)) != n {
		return nil, fmt.Errorf("%d healthy of %d live, want %d: %s", len(running), len(LiveTasks(all)), n, Describe(all))
	}
	for _, tk := range running {
		if image != "" && tk.Spec.Image != image {
			return nil, fmt.Errorf("task %s runs %s, want %s", tk.TaskID, tk.Spec.Image, image)
		}
	}
	if err := wantContainers(ctx, c, app, running); err != nil {
		return nil, err
	}
	return running, wantInstances(ctx, c, service, running)
}

// TestDrillLeaderKilledDuringRollout: kill -9 the leading server in the
// middle of a rolling upgrade. Another replica takes over and finishes the
// rollout; no sample of the task list ever shows fewer healthy instances
// than minimumHealthCapacity 1 asks for, and at the end exactly the new
// instances run, in Docker and in Consul.
func TestDrillLeaderKilledDuringRollout(t *testing.T) {
	c := Start(t, Options{Servers: 3, Agents: 2})
	ctx := context.Background()
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": rollingApp(testenv.WebImage, 2)})
	c.Webhook(nil)
	c.WaitHealthy("/web", 2, 90*time.Second)

	v2 := "berth/web:v2-" + testenv.UniqueID(t)
	if err := c.Docker.ImageTag(ctx, testenv.WebImage, v2); err != nil {
		t.Fatalf("tag %s: %v", v2, err)
	}
	t.Cleanup(func() {
		_, _ = c.Docker.ImageRemove(context.Background(), v2, image.RemoveOptions{})
	})
	rec := startRecorder(t, c, "/web")
	c.Repo.Push(t, "web v2", map[string]string{"apps/web.yaml": rollingApp(v2, 2)})
	old := c.WaitLeader(30 * time.Second)
	c.Webhook(old)
	c.Wait("the rollout under way (tasks of both images live)", time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		images := map[string]int{}
		for _, tk := range LiveTasks(all) {
			images[tk.Spec.Image]++
		}
		if images[v2] == 0 || images[testenv.WebImage] == 0 {
			return fmt.Errorf("not mid-rollout: %s", Describe(all))
		}
		return nil
	})
	old.Proc.Kill()
	killed := time.Now()
	next := c.WaitLeader(time.Minute)
	if next == old {
		t.Fatalf("the killed server %s still leads", old.ID)
	}
	t.Logf("CONVERGE new leader %s: %s", next.ID, time.Since(killed).Round(100*time.Millisecond))
	c.Converge("rollout finished under the new leader", killed, 2*time.Minute, func(ctx context.Context) error {
		_, err := wantSettled(ctx, c, "/web", "web", v2, 2)
		return err
	})
	checkRollout(t, rec.stop(), 2, testenv.WebImage, v2)
}

// TestDrillAgentKilledAndBack: kill -9 an agent, let its tasks be replaced
// on the other one (and registered in Consul), then start it again. The tasks it ran were replaced, so
// it kills their containers: no duplicate instance after convergence, in
// Docker or in Consul.
func TestDrillAgentKilledAndBack(t *testing.T) {
	c := Start(t, Options{Agents: 2, ZooKeepers: 1})
	app := webApp(testenv.WebImage, 2, `unreachableStrategy:
  inactiveAfterSeconds: 1
  expungeAfterSeconds: 2
`)
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": app})
	c.Webhook(nil)
	before := c.WaitHealthy("/web", 2, 90*time.Second)
	count := map[string]int{}
	for _, tk := range before {
		count[tk.AgentID]++
	}
	victim, survivor := c.Agents[0], c.Agents[1]
	if count[survivor.ID] > count[victim.ID] {
		victim, survivor = survivor, victim
	}
	victim.Proc.Kill()
	killed := time.Now()
	c.Converge("the killed agent's tasks replaced on the other", killed, time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		running := Running(all)
		for _, tk := range running {
			if tk.AgentID != survivor.ID {
				return fmt.Errorf("task %s still counted on %s: %s", tk.TaskID, tk.AgentID, Describe(all))
			}
		}
		if len(running) != 2 {
			return fmt.Errorf("%d healthy: %s", len(running), Describe(all))
		}
		// The killed agent's own registrations stay in the Consul agent it
		// shared until their TTL check fails (on a real node its Consul
		// agent dies with it); the moved tasks must be there and passing.
		return wantInstancesInclude(ctx, c, "web", running)
	})
	// Its containers kept running while it was down: they are the
	// duplicates it must kill when it comes back.
	stale, err := c.Containers(context.Background(), "/web")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d containers of /web before the agent returns", len(stale))
	if err := victim.Proc.Start(); err != nil {
		t.Fatalf("restart %s: %v", victim.ID, err)
	}
	back := time.Now()
	c.Converge("the returned agent killed its replaced tasks", back, time.Minute, func(ctx context.Context) error {
		running, err := wantSettled(ctx, c, "/web", "web", "", 2)
		if err != nil {
			return err
		}
		for _, tk := range running {
			for _, b := range before {
				if tk.TaskID == b.TaskID && tk.AgentID == victim.ID {
					return fmt.Errorf("replaced task %s runs again", tk.TaskID)
				}
			}
		}
		return nil
	})
}

// TestDrillZooKeeperQuorum: with one of three ZooKeeper servers down the
// cluster still applies commits; with two down (no quorum) nothing is
// written, so nothing starts, and the tasks keep running; once the servers
// are back the pending commit is applied.
func TestDrillZooKeeperQuorum(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": webApp(testenv.WebImage, 1)})
	c.Webhook(nil)
	c.WaitHealthy("/web", 1, 90*time.Second)

	// One server down, the ensemble's leader: a commit still applies.
	first := c.ZK.Leader()
	if first < 0 {
		t.Fatal("no ZooKeeper leader")
	}
	c.ZK.Servers[first].Kill()
	down := time.Now()
	c.Repo.Push(t, "web x2", map[string]string{"apps/web.yaml": webApp(testenv.WebImage, 2)})
	c.Converge("web scaled to 2 with 2 of 3 ZooKeeper servers", down, 2*time.Minute, func(ctx context.Context) error {
		leader, err := c.Leader(ctx)
		if err != nil {
			return err
		}
		if code, body, err := SendWebhook(ctx, leader.URL, c.WebhookSecret, c.Repo.Head()); err != nil || code >= 300 {
			return fmt.Errorf("webhook: %d %s %v", code, body, err)
		}
		_, err = wantSettled(ctx, c, "/web", "web", "", 2)
		return err
	})

	// A second server down: no quorum. A commit pushed now must not start
	// anything, and the running containers stay.
	second := (first + 1) % len(c.ZK.Servers)
	c.ZK.Servers[second].Kill()
	lost := time.Now()
	c.Repo.Push(t, "web x3", map[string]string{"apps/web.yaml": webApp(testenv.WebImage, 3)})
	for _, s := range c.Servers {
		// Refused or accepted, it must not lead to a write.
		_, _, _ = SendWebhook(ctx, s.URL, c.WebhookSecret, c.Repo.Head())
	}
	// Past the session timeout, so sessions have expired too.
	for time.Since(lost) < 8*time.Second {
		list, err := c.Containers(ctx, "/web")
		if err != nil {
			t.Fatalf("docker: %v", err)
		}
		running := 0
		for _, ct := range list {
			if ct.State == container.StateRunning {
				running++
			}
		}
		if running != 2 {
			t.Fatalf("without quorum %d containers of /web run, want the 2 from before", running)
		}
		time.Sleep(500 * time.Millisecond)
	}

	for _, i := range []int{first, second} {
		if err := c.ZK.Servers[i].Restart(); err != nil {
			t.Fatalf("restart ZooKeeper %d: %v", i+1, err)
		}
	}
	back := time.Now()
	c.Converge("web scaled to 3 once quorum is back", back, 2*time.Minute, func(ctx context.Context) error {
		leader, err := c.Leader(ctx)
		if err != nil {
			return err
		}
		st, err := c.Client(leader).SyncStatus(ctx)
		if err != nil {
			return err
		}
		if st.Head != c.Repo.Head() {
			if code, body, err := SendWebhook(ctx, leader.URL, c.WebhookSecret, c.Repo.Head()); err != nil || code >= 300 {
				return fmt.Errorf("webhook: %d %s %v", code, body, err)
			}
		}
		_, err = wantSettled(ctx, c, "/web", "web", "", 3)
		return err
	})
}

// TestDrillConsulStopped: with Consul down the tasks keep running
// untouched; when it comes back (empty, as a restarted dev agent is) the
// agents register them again.
func TestDrillConsulStopped(t *testing.T) {
	c := Start(t, Options{ZooKeepers: 1})
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": webApp(testenv.WebImage, 2)})
	c.Webhook(nil)
	before := c.WaitHealthy("/web", 2, 90*time.Second)
	c.Wait("web registered in Consul", 30*time.Second, func(ctx context.Context) error {
		return wantInstances(ctx, c, "web", before)
	})
	c.Consul.Stop()
	stopped := time.Now()
	for time.Since(stopped) < 6*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		all, err := c.Tasks(ctx, "/web")
		if err == nil {
			err = wantContainers(ctx, c, "/web", before)
		}
		cancel()
		if err != nil {
			t.Fatalf("with Consul down: %v", err)
		}
		if running := Running(all); !sameTasks(running, before) {
			t.Fatalf("with Consul down the tasks changed: %s, before %s", Describe(all), Describe(before))
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.Consul.Restart()
	back := time.Now()
	c.Converge("registrations back in Consul", back, time.Minute, func(ctx context.Context) error {
		running, err := wantSettled(ctx, c, "/web", "web", "", 2)
		if err != nil {
			return err
		}
		if !sameTasks(running, before) {
			return fmt.Errorf("tasks replaced: %s, before %s", Describe(running), Describe(before))
		}
		return nil
	})
}

// TestDrillLeaderKilledDuringJobRun: kill -9 the leader while a scheduled
// run is in progress. The new leader follows that run to its end instead of
// launching it again, and goes on with the schedule: every occurrence is
// run at most once, each run by one container.
func TestDrillLeaderKilledDuringJobRun(t *testing.T) {
	c := Start(t, Options{Servers: 2, ZooKeepers: 1})
	job := fmt.Sprintf(`kind: Job
name: tick
schedule: R//PT8S
command: tick
shell: false
cpus: 0.05
mem: 16
container:
  type: DOCKER
  image: %s
environmentVariables:
  - name: SLEEP
    value: 4s
`, testenv.JobImage)
	c.Repo.Push(t, "add tick", map[string]string{"jobs/tick.yaml": job})
	c.Webhook(nil)
	var inFlight cluster.JobRun
	c.Wait("a run of tick in progress", time.Minute, func(ctx context.Context) error {
		runs, err := c.Client(nil).JobRuns(ctx, "tick")
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.State == cluster.JobRunRunning {
				inFlight = r
				return nil
			}
		}
		return fmt.Errorf("runs %s", describeRuns(runs))
	})
	old := c.WaitLeader(10 * time.Second)
	old.Proc.Kill()
	killed := time.Now()
	c.WaitLeader(time.Minute)
	c.Converge("the in-flight run ended and a later occurrence ran", killed, time.Minute, func(ctx context.Context) error {
		runs, err := c.Client(nil).JobRuns(ctx, "tick")
		if err != nil {
			return err
		}
		ended, later := false, false
		for _, r := range runs {
			if r.RunID == inFlight.RunID && r.State == cluster.JobRunSucceeded {
				ended = true
			}
			if r.ScheduledAt.After(inFlight.ScheduledAt) && r.State == cluster.JobRunSucceeded {
				later = true
			}
		}
		if !ended || !later {
			return fmt.Errorf("in-flight %s ended %v, later run %v: %s", inFlight.RunID, ended, later, describeRuns(runs))
		}
		return nil
	})
	runs, err := c.Client(nil).JobRuns(context.Background(), "tick")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Time]string{}
	for _, r := range runs {
		if prev, dup := seen[r.ScheduledAt]; dup {
			t.Fatalf("occurrence %s run twice (%s and %s): %s", r.ScheduledAt, prev, r.RunID, describeRuns(runs))
		}
		seen[r.ScheduledAt] = r.RunID
	}
	// The in-flight run kept its first attempt and its task: the new leader
	// followed it rather than launching it again.
	for _, r := range runs {
		if r.RunID == inFlight.RunID && (r.Attempt != 1 || r.TaskID != inFlight.TaskID) {
			t.Fatalf("run %s ended as attempt %d task %s, started as attempt 1 task %s", r.RunID, r.Attempt, r.TaskID, inFlight.TaskID)
		}
	}
	t.Logf("%d runs: %s", len(runs), describeRuns(runs))
}
