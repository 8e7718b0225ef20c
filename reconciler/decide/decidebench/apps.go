package decidebench

import (
	"fmt"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
)

// Apps is n apps of three instances each, the mix a Marathon cluster runs:
// Docker apps in bridge mode with a port mapping and an HTTP health check,
// and command apps on host networking with a port definition.
func Apps(n int) []manifests.App {
	apps := make([]manifests.App, n)
	for i := range apps {
		a := manifests.App{ID: fmt.Sprintf("/team%02d/app-%05d", i%40, i), Instances: 3, CPUs: 0.05, Mem: 32, Disk: 0,
			BackoffSeconds: 1, BackoffFactor: 1.15, MaxLaunchDelaySeconds: 300, KillSelection: "YOUNGEST_FIRST",
			UpgradeStrategy:     manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
			UnreachableStrategy: manifests.UnreachableStrategy{InactiveAfterSeconds: 300, ExpungeAfterSeconds: 600},
			Labels:              map[string]string{"team": fmt.Sprintf("team%02d", i%40)}}
		if i%2 == 0 {
			a.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "berth/web:dev", Network: "BRIDGE"},
				PortMappings: []manifests.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}}
			a.HealthChecks = []manifests.HealthCheck{{Protocol: "HTTP", Path: "/health", PortIndex: 0, GracePeriodSeconds: 30,
				IntervalSeconds: 10, TimeoutSeconds: 5, MaxConsecutiveFailures: 3}}
		} else {
			a.Cmd = "serve --port $PORT0"
			a.PortDefinitions = []manifests.PortDefinition{{Port: 0, Protocol: "tcp"}}
		}
		apps[i] = a
	}
	return apps
}

// BigAgents are n agents with room for every app of Apps.
func BigAgents(n int) []cluster.Agent {
	agents := make([]cluster.Agent, n)
	for i := range agents {
		agents[i] = cluster.Agent{ID: fmt.Sprintf("agent-%04d", i), Hostname: fmt.Sprintf("agent-%04d", i), Address: "127.0.0.2",
			Reachable: true, Resources: cluster.Resources{CPUs: 64, Mem: 262144, Disk: 1 << 20},
			Ports: []cluster.PortRange{{Begin: 20000, End: 29999}}}
	}
	return agents
}

// Converged is the cluster state after set was deployed on agents and
// every task runs healthy: the input of an idle pass.
func Converged(set *manifests.Set, agents []cluster.Agent) decide.Input {
	in := decide.Input{Desired: set, Commit: "c1", Agents: agents, Now: Now}
	n := 0
	opts := decide.Options{Prune: true, NewTaskID: func(app string) string {
		n++
		return fmt.Sprintf("%s.%d", decide.TaskPrefix(app), n)
	}}
	for range 20 {
		out := decide.Decide(in, opts)
		if len(out.Changes) == 0 {
			return in
		}
		in.Apply(out.Changes)
		in.PlayAgents(Now)
	}
	panic("decidebench: the state did not converge in 20 decisions") // a bug in the fixtures
}
