package agent

import "github.com/berthops/berth/cluster"

// Service and ServiceCheck are the cluster model's: the agent registers
// exactly what Berth's own catalog serves.
type (
	Service      = cluster.Service
	ServiceCheck = cluster.ServiceCheck
)

// taskServices are the registrations of a task running on node.
func taskServices(node Node, a cluster.Assignment, ports []int) []Service {
	return cluster.TaskServices(node.ID, node.Address, a, ports)
}

// serviceName is the service name of an app id.
func serviceName(ownerID string) string { return cluster.ServiceName(ownerID) }
