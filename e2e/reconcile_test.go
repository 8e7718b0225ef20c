package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// fileLine is how a rejection names where the error is.
var fileLine = regexp.MustCompile(`apps/web\.yaml:\d+`)

// rollingApp is webApp with Marathon's strictest rolling upgrade: never
// fewer healthy instances than asked for, at most twice as many running.
func rollingApp(image string, n int) string {
	return webApp(image, n, `upgradeStrategy:
  minimumHealthCapacity: 1
  maximumOverCapacity: 1
killSelection: YOUNGEST_FIRST
`)
}

// TestWalkthroughReconcileLifecycle is issue 7's acceptance on two servers,
// two agents and a three-server ZooKeeper ensemble, every change pushed to
// the Git server over HTTP and announced by a signed webhook: an app runs
// and is registered in Consul; a new image rolls out without ever dropping
// below the healthy instances asked for; a broken commit is rejected with
// file:line errors and changes nothing; a scale-down stops the youngest
// tasks; removing the app prunes it.
func TestWalkthroughReconcileLifecycle(t *testing.T) {
	c := Start(t, Options{Servers: 2, Agents: 2})
	ctx := context.Background()

	// Push an app. A webhook with a wrong signature is refused and starts
	// nothing (polling is once a minute); the signed one starts the sync.
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": rollingApp(testenv.WebImage, 2)})
	leader := c.WaitLeader(30 * time.Second)
	code, body, err := SendWebhook(ctx, leader.URL, "not-the-secret", c.Repo.Head())
	if err != nil || code != http.StatusUnauthorized {
		t.Fatalf("webhook with a wrong signature: %d %s %v, want 401", code, body, err)
	}
	if st, err := c.SyncStatus(ctx); err != nil || st.Head == c.Repo.Head() {
		t.Fatalf("after a refused webhook the server saw the head %s (%v)", st.Head, err)
	}
	c.Webhook(nil)
	// The app runs, answers and is in Consul.
	v1 := c.WaitHealthy("/web", 2, 90*time.Second)
	for _, tk := range v1 {
		if err := answers(ctx, c, tk); err != nil {
			t.Fatal(err)
		}
	}
	c.Wait("web registered in Consul", 30*time.Second, func(ctx context.Context) error {
		return wantInstances(ctx, c, "web", v1)
	})
	c.Wait("status synced and healthy on the pushed commit", 30*time.Second, func(ctx context.Context) error {
		return wantSynced(ctx, c, c.Repo.Head(), "/web")
	})

	// A new image version rolls out; the history of /v1/tasks polled all
	// along must never show fewer than 2 healthy tasks.
	v2 := "berth/web:v2-" + testenv.UniqueID(t)
	if err := c.Docker.ImageTag(ctx, testenv.WebImage, v2); err != nil {
		t.Fatalf("tag %s: %v", v2, err)
	}
	t.Cleanup(func() {
		_, _ = c.Docker.ImageRemove(context.Background(), v2, image.RemoveOptions{})
	})
	rec := startRecorder(t, c, "/web")
	c.Repo.Push(t, "web v2", map[string]string{"apps/web.yaml": rollingApp(v2, 2)})
	c.Webhook(nil)
	var rolled []cluster.Task
	c.Wait("2 healthy tasks of the new image and none of the old", 2*time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		rolled = Running(all)
		live := 0
		for _, tk := range all {
			if !tk.Status.State.Terminal() {
				live++
			}
		}
		if live != 2 || len(rolled) != 2 || rolled[0].Spec.Image != v2 || rolled[1].Spec.Image != v2 {
			return fmt.Errorf("not rolled out: %s", Describe(all))
		}
		return nil
	})
	history := rec.stop()
	checkRollout(t, history, 2, testenv.WebImage, v2)
	c.Wait("Consul lists the new tasks only", 30*time.Second, func(ctx context.Context) error {
		return wantInstances(ctx, c, "web", rolled)
	})

	// A broken commit is rejected as a whole: the status names it with the
	// file and line, and the tasks stay as they are.
	good := c.Repo.Head()
	broken := c.Repo.Push(t, "broken web", map[string]string{"apps/web.yaml": strings.Replace(rollingApp(v2, 2), "instances: 2", "instances: two", 1)})
	c.Webhook(nil)
	var rejectedAt time.Time
	c.Wait("the broken commit rejected", 30*time.Second, func(ctx context.Context) error {
		st, err := c.SyncStatus(ctx)
		if err != nil {
			return err
		}
		if st.Rejected == nil || st.Rejected.Commit != broken {
			return fmt.Errorf("head %s desired %s rejected %+v", st.Head, st.Desired, st.Rejected)
		}
		if st.Desired != good {
			return fmt.Errorf("desired %s, want the last good commit %s", st.Desired, good)
		}
		if !slices.ContainsFunc(st.Rejected.Errors, fileLine.MatchString) {
			return fmt.Errorf("rejection errors name no apps/web.yaml:LINE: %q", st.Rejected.Errors)
		}
		if st.Rejected.Since.IsZero() {
			return fmt.Errorf("the rejection says since when it holds: %+v", st.Rejected)
		}
		rejectedAt = st.LastSync
		return nil
	})
	// Two more passes over the rejected head must not touch a task.
	c.Wait("two more sync passes", 30*time.Second, func(ctx context.Context) error {
		st, err := c.SyncStatus(ctx)
		if err != nil {
			return err
		}
		if !st.LastSync.After(rejectedAt.Add(2 * time.Second)) {
			return fmt.Errorf("last sync %s", st.LastSync)
		}
		return nil
	})
	after := c.WaitHealthy("/web", 2, 10*time.Second)
	if !sameTasks(after, rolled) {
		t.Fatalf("the broken commit changed the tasks: %s, before %s", Describe(after), Describe(rolled))
	}

	// Scale up to 3, then down to 2: the youngest task is the one stopped.
	c.Repo.Push(t, "web x3", map[string]string{"apps/web.yaml": rollingApp(v2, 3)})
	c.Webhook(nil)
	three := c.WaitHealthy("/web", 3, time.Minute)
	youngest := three[0]
	for _, tk := range three {
		if tk.Status.StartedAt.After(youngest.Status.StartedAt) {
			youngest = tk
		}
	}
	c.Repo.Push(t, "web x2", map[string]string{"apps/web.yaml": rollingApp(v2, 2)})
	c.Webhook(nil)
	two := c.WaitHealthy("/web", 2, time.Minute)
	for _, tk := range two {
		if tk.TaskID == youngest.TaskID {
			t.Fatalf("scale-down kept the youngest task %s: %s", youngest.TaskID, Describe(two))
		}
	}
	c.Wait("the youngest task's container removed", 30*time.Second, func(ctx context.Context) error {
		return wantContainers(ctx, c, "/web", two)
	})

	// Remove the app: its tasks stop, its containers go and Consul forgets it.
	c.Repo.Push(t, "remove web", nil, "apps/web.yaml")
	c.Webhook(nil)
	c.Wait("web pruned", time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		for _, tk := range all {
			if !tk.Status.State.Terminal() {
				return fmt.Errorf("tasks left: %s", Describe(all))
			}
		}
		if err := wantContainers(ctx, c, "/web", nil); err != nil {
			return err
		}
		return wantInstances(ctx, c, "web", nil)
	})
}

// answers checks that tk's first published port on its agent's address
// answers with the task's id, as the web image does.
func answers(ctx context.Context, c *Cluster, tk cluster.Task) error {
	addrs := c.TaskAddrs([]cluster.Task{tk})
	if len(addrs) == 0 {
		return fmt.Errorf("task %s publishes no port", tk.TaskID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addrs[0]+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("task %s: %w", tk.TaskID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if !strings.Contains(string(body), tk.TaskID) {
		return fmt.Errorf("task %s at %s answered %q", tk.TaskID, addrs[0], body)
	}
	return nil
}

// wantSynced checks that the reconciler applied commit and reports app
// Synced and Healthy.
func wantSynced(ctx context.Context, c *Cluster, commit, app string) error {
	st, err := c.SyncStatus(ctx)
	if err != nil {
		return err
	}
	if st.Desired != commit || !st.Converged {
		return fmt.Errorf("desired %s converged %v, want %s converged", st.Desired, st.Converged, commit)
	}
	for _, a := range st.Apps {
		if a.ID == app {
			if a.Sync != "Synced" || a.Health != "Healthy" {
				return fmt.Errorf("%s is %s/%s: %s", app, a.Sync, a.Health, a.Message)
			}
			return nil
		}
	}
	return fmt.Errorf("no %s in status %+v", app, st.Apps)
}

// wantContainers checks that the running containers of app are exactly
// those of tasks.
func wantContainers(ctx context.Context, c *Cluster, app string, tasks []cluster.Task) error {
	list, err := c.Containers(ctx, app)
	if err != nil {
		return err
	}
	var have, want []string
	for _, ct := range list {
		if ct.State == container.StateRunning {
			have = append(have, ct.ID)
		}
	}
	for _, tk := range tasks {
		want = append(want, tk.Status.ContainerID)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("running containers of %s %v, want %v", app, have, want)
	}
	return nil
}

func sameTasks(a, b []cluster.Task) bool {
	ids := func(ts []cluster.Task) []string {
		var out []string
		for _, tk := range ts {
			out = append(out, tk.TaskID+"/"+tk.Status.ContainerID)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}

// sample is one reading of an app's tasks during a rollout.
type sample struct {
	at    time.Time
	tasks []cluster.Task
}

// recorder polls an app's tasks as fast as the API answers, so a test can
// assert on the whole state history of a rollout.
type recorder struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	history []sample
	errs    int
}

func startRecorder(t *testing.T, c *Cluster, app string) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
			tasks, err := c.Tasks(qctx, app)
			qcancel()
			r.mu.Lock()
			if err != nil {
				r.errs++
			} else {
				r.history = append(r.history, sample{at: time.Now(), tasks: tasks})
			}
			r.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *recorder) stop() []sample {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.history
}

// checkRollout asserts Marathon's guarantee for minimumHealthCapacity 1 on
// every sample: at least n tasks running, healthy and not being killed; and
// that the history goes from all-old to all-new through an over-capacity
// step.
func checkRollout(t *testing.T, history []sample, n int, oldImage, newImage string) {
	t.Helper()
	if len(history) < 10 {
		t.Fatalf("only %d samples of the rollout recorded", len(history))
	}
	maxLive := 0
	for _, s := range history {
		healthy, live := 0, 0
		for _, tk := range s.tasks {
			if !tk.Status.State.Terminal() {
				live++
			}
			if tk.Status.State == cluster.TaskRunning && tk.Status.Health == cluster.HealthHealthy && !tk.Kill {
				healthy++
			}
		}
		maxLive = max(maxLive, live)
		if healthy < n {
			t.Fatalf("at %s only %d healthy tasks (want at least %d): %s", s.at.Format("15:04:05.000"), healthy, n, Describe(s.tasks))
		}
		if live > 2*n {
			t.Fatalf("at %s %d live tasks, more than maximumOverCapacity 1 allows: %s", s.at.Format("15:04:05.000"), live, Describe(s.tasks))
		}
	}
	images := func(s sample) (old, new int) {
		for _, tk := range Running(s.tasks) {
			switch tk.Spec.Image {
			case oldImage:
				old++
			case newImage:
				new++
			}
		}
		return old, new
	}
	if o, _ := images(history[0]); o != n {
		t.Errorf("the rollout history starts with %d healthy old tasks, want %d", o, n)
	}
	if _, nw := images(history[len(history)-1]); nw != n {
		t.Errorf("the rollout history ends with %d healthy new tasks, want %d", nw, n)
	}
	if maxLive <= n {
		t.Errorf("the rollout never ran more than %d tasks: old ones were stopped before new ones were healthy", n)
	}
	t.Logf("rollout: %d samples over %s, at most %d live tasks", len(history), history[len(history)-1].at.Sub(history[0].at).Round(time.Millisecond), maxLive)
}
