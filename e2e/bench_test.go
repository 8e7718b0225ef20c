package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

const benchInstances = 20

// benchApp is 20 instances of the web server with no health check, so a
// task counts once it runs and is registered, as the direct containers count
// once they answer.
func benchApp(n int) string {
	return fmt.Sprintf(`kind: App
id: /bench
instances: %d
cpus: 0.05
mem: 16
container:
  type: DOCKER
  docker:
    image: %s
  portMappings:
    - containerPort: 80
networks:
  - mode: container/bridge
env:
  WEB_PORTS: "80"
`, n, testenv.WebImage)
}

// BenchmarkWebhookTo20Running measures, on a real cluster (three ZooKeeper
// servers, one berth server, two agents, Consul), the time from a signed
// push webhook to 20 new containers RUNNING and registered (passing) in
// Consul, and in the same run the time to start the same 20 containers by
// calling Docker directly (create and start all at once, then wait until
// each answers HTTP). It reports both and their ratio; the target is a ratio
// under 1.5. The commit is pushed before the clock starts: the figure is
// Berth's, not the Git server's.
func BenchmarkWebhookTo20Running(b *testing.B) {
	c := Start(b, Options{Agents: 2, AgentResources: "cpus:2;mem:1024;disk:1000", LogLevel: "warn"})
	var berth, running, direct time.Duration
	viaDocker := func() {
		d, err := directStart(c, benchInstances)
		if err != nil {
			b.Fatalf("direct start: %v", err)
		}
		direct += d
		b.Logf("docker: 20 answering after %s", d.Round(time.Millisecond))
	}
	viaBerth := func() {
		c.Repo.Push(b, "bench x20", map[string]string{"apps/bench.yaml": benchApp(benchInstances)})
		start := time.Now()
		c.Webhook(c.Servers[0])
		runningAt, err := waitRegistered(c, benchInstances)
		if err != nil {
			b.Fatalf("berth: %v", err)
		}
		took := time.Since(start)
		berth += took
		running += runningAt.Sub(start)
		placed, started, note := taskTimes(c, start)
		b.Logf("berth: 20 placed after %s, started (agents' clocks) after %s, seen RUNNING after %s, registered after %s; %d slow or not running: %s",
			placed, started, runningAt.Sub(start).Round(time.Millisecond), took.Round(time.Millisecond), len(note), strings.Join(note, "; "))

		c.Repo.Push(b, "bench removed", nil, "apps/bench.yaml")
		c.Webhook(c.Servers[0])
		c.Wait("bench pruned", 2*time.Minute, func(ctx context.Context) error {
			return wantContainers(ctx, c, "/bench", nil)
		})
	}
	for i := 0; i < b.N; i++ {
		// Alternating which goes first, so neither always meets a daemon
		// still busy removing the other's containers.
		if i%2 == 0 {
			viaDocker()
			viaBerth()
		} else {
			viaBerth()
			viaDocker()
		}
	}
	n := float64(b.N)
	b.ReportMetric(berth.Seconds()/n, "berth-s/op")
	b.ReportMetric(running.Seconds()/n, "berth-running-s/op")
	b.ReportMetric(direct.Seconds()/n, "docker-s/op")
	b.ReportMetric(berth.Seconds()/direct.Seconds(), "berth/docker")
}

// waitRegistered polls every 20 ms until the leader lists n RUNNING tasks
// of /bench and Consul n passing instances of its service; it returns when
// the tasks were first seen RUNNING.
func waitRegistered(c *Cluster, n int) (time.Time, error) {
	var runningAt time.Time
	err := pollFast(2*time.Minute, func(ctx context.Context) error {
		tasks, err := c.Tasks(ctx, "/bench")
		if err != nil {
			return err
		}
		running := 0
		for _, tk := range tasks {
			if tk.Status.State == cluster.TaskRunning {
				running++
			}
		}
		if running != n {
			return fmt.Errorf("%d tasks running", running)
		}
		if runningAt.IsZero() {
			runningAt = time.Now()
		}
		inst, err := c.ConsulInstances(ctx, "bench")
		if err != nil {
			return err
		}
		if len(inst) != n {
			return fmt.Errorf("%d instances passing in Consul", len(inst))
		}
		return nil
	})
	return runningAt, err
}

// directStart is what a script calling Docker would do: create and start n
// containers of the web image, limited as Berth's agent limits them, then
// wait until each answers on its published port. It returns that time and
// removes the containers (not timed).
func directStart(c *Cluster, n int) (time.Duration, error) {
	ctx := context.Background()
	port := nat.Port("80/tcp")
	start := time.Now()
	ids := make([]string, n)
	ports := make([]int, n)
	defer func() {
		for _, id := range ids {
			if id != "" {
				_ = c.Docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
			}
		}
	}()
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			cfg := &container.Config{
				Image:        testenv.WebImage,
				Env:          []string{"WEB_PORTS=80"},
				ExposedPorts: nat.PortSet{port: {}},
				Labels:       map[string]string{testenv.TestLabel: c.Label},
			}
			host := &container.HostConfig{
				PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: ""}}},
				Resources: container.Resources{
					CPUShares: 51, CPUPeriod: 100000, CPUQuota: 5000, Memory: 16 << 20,
				},
			}
			created, err := c.Docker.ContainerCreate(ctx, cfg, host, nil, nil, "")
			if err != nil {
				return err
			}
			ids[i] = created.ID
			if err := c.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
				return err
			}
			info, err := c.Docker.ContainerInspect(ctx, created.ID)
			if err != nil {
				return err
			}
			b := info.NetworkSettings.Ports[port]
			if len(b) == 0 {
				return fmt.Errorf("container %s: no published port", created.ID[:12])
			}
			if ports[i], err = strconv.Atoi(b[0].HostPort); err != nil {
				return err
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/health", ports[i])
			return pollFast(time.Minute, func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return err
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%s: %s", url, resp.Status)
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// pollFast is Poll every 20 ms, for measurements.
func pollFast(timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		err := cond(tctx)
		tcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not after %s: %w", timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// taskTimes is how long after start the last /bench task was placed and the
// last one started, from the assignments and the agents' reports, with a
// note on each task placed late or not running.
func taskTimes(c *Cluster, start time.Time) (placed, started time.Duration, note []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tasks, err := c.Tasks(ctx, "/bench")
	if err != nil {
		return 0, 0, []string{err.Error()}
	}
	for _, tk := range tasks {
		placed = max(placed, tk.CreatedAt.Sub(start))
		started = max(started, tk.Status.StartedAt.Sub(start))
		if tk.Status.State != cluster.TaskRunning || tk.CreatedAt.Sub(start) > time.Second {
			note = append(note, fmt.Sprintf("%s placed after %s: %s %s", tk.TaskID, tk.CreatedAt.Sub(start).Round(time.Millisecond), tk.Status.State, tk.Status.Message))
		}
	}
	return placed.Round(time.Millisecond), started.Round(time.Millisecond), note
}
