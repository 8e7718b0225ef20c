package agent

import "github.com/berthops/berth/cluster"

// TaskServices is the set of services a running task publishes, named and
// tagged exactly as the agent registers them in Consul. Berth's own catalog
// (package catalog) uses it so that templates read the same names with or
// without Consul.
func TaskServices(node Node, a cluster.Assignment, hostPorts []int) []Service {
	return taskServices(node, a, hostPorts)
}
