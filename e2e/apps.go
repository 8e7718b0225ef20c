package e2e

import (
	"fmt"
	"strings"

	"github.com/berthops/berth/cluster"
)

// WebApp is the test web server as app id with n instances, its health
// checked every second so rollouts and repairs take seconds, not minutes.
// extra is appended to the manifest (an upgradeStrategy, ...).
func WebApp(id, image string, n int, extra ...string) string {
	return fmt.Sprintf(`kind: App
id: %s
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
`, id, n, image) + strings.Join(extra, "")
}

// LiveTasks returns the tasks that are not terminal.
func LiveTasks(all []cluster.Task) []cluster.Task {
	var out []cluster.Task
	for _, tk := range all {
		if !tk.Status.State.Terminal() {
			out = append(out, tk)
		}
	}
	return out
}

// TaskAddrs is the address:port of each published port of tasks: the
// agent's advertise address and the task's host ports, as Consul lists them.
func (c *Cluster) TaskAddrs(tasks []cluster.Task) []string {
	var out []string
	for _, tk := range tasks {
		addr := ""
		if a := c.AgentFor(tk.AgentID); a != nil {
			addr = a.Address
		}
		for _, p := range tk.Status.HostPorts {
			out = append(out, fmt.Sprintf("%s:%d", addr, p))
		}
	}
	return out
}
