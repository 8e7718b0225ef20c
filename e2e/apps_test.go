package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berthops/berth/cluster"
)

// webApp is the test web server as an app with n instances, its health
// checked every second so rollouts and repairs take seconds, not minutes.
func webApp(image string, n int, extra ...string) string {
	return fmt.Sprintf(`kind: App
id: /web
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
healthChecks:
  - protocol: HTTP
    path: /health
    gracePeriodSeconds: 10
    intervalSeconds: 1
    timeoutSeconds: 1
    maxConsecutiveFailures: 2
`, n, image) + strings.Join(extra, "")
}

// wantInstances checks that Consul lists exactly tasks' published ports of
// service as passing.
func wantInstances(ctx context.Context, c *Cluster, service string, tasks []cluster.Task) error {
	have, err := c.ConsulInstances(ctx, service)
	if err != nil {
		return err
	}
	want := taskAddrs(c, tasks)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("consul lists %v for %s, want %v", have, service, want)
	}
	return nil
}

// wantInstancesInclude checks that Consul lists tasks' published ports of
// service as passing, and maybe others.
func wantInstancesInclude(ctx context.Context, c *Cluster, service string, tasks []cluster.Task) error {
	have, err := c.ConsulInstances(ctx, service)
	if err != nil {
		return err
	}
	for _, want := range taskAddrs(c, tasks) {
		if !slices.Contains(have, want) {
			return fmt.Errorf("consul lists %v for %s, without %s", have, service, want)
		}
	}
	return nil
}

// taskAddrs is the address:port of each published port of tasks.
func taskAddrs(c *Cluster, tasks []cluster.Task) []string {
	var out []string
	for _, tk := range tasks {
		addr := ""
		for _, a := range c.Agents {
			if a.ID == tk.AgentID {
				addr = a.Address
			}
		}
		for _, p := range tk.Status.HostPorts {
			out = append(out, fmt.Sprintf("%s:%d", addr, p))
		}
	}
	return out
}
