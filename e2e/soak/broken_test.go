package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthops/berth/e2e"
	"github.com/berthops/berth/e2e/history"
	"github.com/berthops/berth/testenv"
)

// TestBrokenCapacityBuildIsCaught shows the checker fails on a real broken
// promise, not only on violations written into a history: the same rolling
// upgrade of /web (3 instances, minimumHealthCapacity 0.6) is recorded
// twice on one cluster, first decided by the real berth, then by a build
// with -tags berth_broken_capacity, whose rollout kills every old task at
// once (reconciler/rollout/broken_capacity.go). The checker must pass the
// first and report rollout-below-minimum-health-capacity for the second.
func TestBrokenCapacityBuildIsCaught(t *testing.T) {
	testenv.Integration(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The servers run the binary at bin; the broken build replaces it
	// (renamed over it, so the running process keeps its file) before the
	// server restarts for the second upgrade.
	dir := t.TempDir()
	bin := filepath.Join(dir, "berth")
	broken := filepath.Join(dir, "berth-broken")
	build := exec.Command("go", "build", "-tags", "berth_broken_capacity", "-o", broken, "./cmd/berth")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the broken berth: %v\n%s", err, out)
	}
	if err := copyFile(e2e.Binary(t), bin); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_E2E_BIN", bin)

	c := e2e.Start(t, e2e.Options{Servers: 1, Agents: 2, ZooKeepers: 1, AgentResources: "cpus:2;mem:1024;disk:4000"})
	ctx := context.Background()
	tag := fmt.Sprintf("berth/web:broken-%s", testenv.UniqueID(t)[:8])
	if err := c.Docker.ImageTag(ctx, testenv.WebImage, tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Docker.ImageRemove(context.Background(), tag, image.RemoveOptions{}) })

	const mhc = 0.6
	push := func(img string) *history.Commit {
		// The soak's own manifest: its health checks allow for a loaded
		// machine's slow answers.
		manifest := (&desired{images: []string{img}}).appManifest("/web", &appState{instances: 3, mhc: mhc})
		spec := &history.Commit{Message: "/web runs " + img, Apps: map[string]history.App{"/web": {Instances: 3, Image: img, MinimumHealthCapacity: mhc, Service: "web"}}}
		spec.Hash = c.Repo.Push(t, spec.Message, map[string]string{"apps/web.yaml": manifest})
		c.Webhook(nil)
		return spec
	}
	push(testenv.WebImage)
	c.WaitHealthy("/web", 3, 3*time.Minute)

	good := upgrade(t, c, push, tag)
	if n := countRule(good, history.RuleCapacity); n != 0 || good.Judged[history.RuleCapacity] == 0 {
		t.Fatalf("the real build: %d capacity violations in %d judged samples, want none in some: %v", n, good.Judged[history.RuleCapacity], good.Violations)
	}

	if err := os.Rename(broken, bin); err != nil {
		t.Fatal(err)
	}
	// Stopped gracefully, so its ZooKeeper session (and registration)
	// ends with it; started again until it stays up, in case the session
	// outlived the process.
	srv := c.Servers[0]
	srv.Proc.Stop(10 * time.Second)
	c.Wait("the server on the broken build leads", 2*time.Minute, func(ctx context.Context) error {
		if !srv.Proc.Running() {
			if err := srv.Proc.Start(); err != nil {
				return err
			}
		}
		_, err := c.Leader(ctx)
		return err
	})
	bad := upgrade(t, c, push, testenv.WebImage)
	if countRule(bad, history.RuleCapacity) == 0 {
		t.Fatalf("the broken build: the checker reported no %s: %v", history.RuleCapacity, bad.Violations)
	}
	for _, v := range bad.Violations {
		t.Logf("the broken build, as the checker saw it: %s", v)
	}
}

// upgrade pushes /web with img, records the tasks every 0.3 s until all
// three run img healthy and nothing else is left, and checks that record.
func upgrade(t *testing.T, c *e2e.Cluster, push func(string) *history.Commit, img string) history.Result {
	t.Helper()
	rec := &recorder{}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	every(ctx, &wg, 300*time.Millisecond, func(ctx context.Context) {
		tasks, err := c.Tasks(ctx, "/web")
		if err != nil {
			return
		}
		ev := history.Event{At: time.Now(), Kind: history.KindTasks}
		for _, tk := range tasks {
			ev.Tasks = append(ev.Tasks, historyTask(c, tk))
		}
		rec.add(ev)
	})
	at := time.Now()
	spec := push(img)
	rec.add(history.Event{At: at, Kind: history.KindCommit, Commit: spec})
	c.Wait("/web upgraded to "+img, 3*time.Minute, func(ctx context.Context) error {
		tasks, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		live, serving := 0, 0
		for _, tk := range tasks {
			if tk.Status.State.Terminal() {
				continue
			}
			live++
			if ht := historyTask(c, tk); ht.Serving() && ht.Image == img {
				serving++
			}
		}
		if live != 3 || serving != 3 {
			return fmt.Errorf("%d live, %d serving %s: %s", live, serving, img, e2e.Describe(tasks))
		}
		return nil
	})
	stop()
	wg.Wait()
	return history.Check(rec.history(0), history.Options{})
}

func countRule(r history.Result, rule string) int {
	n := 0
	for _, v := range r.Violations {
		if v.Rule == rule {
			n++
		}
	}
	return n
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		return fmt.Errorf("copy to %s: %w", to, err)
	}
	return nil
}
