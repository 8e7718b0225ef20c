package agent

import (
	"context"

	"github.com/berthops/berth/cluster"
)

// Cluster is what the agent needs from the cluster state. Implementations
// must be safe for concurrent use: every task reports its own status.
type Cluster interface {
	// RegisterAgent writes (or refreshes) this node's registration.
	RegisterAgent(ctx context.Context, a cluster.Agent) error
	// WatchAssignments sends the agent's full set of assignments now and
	// again after every change, until ctx ends. Full sets, not deltas, so a
	// missed notification is healed by the next one.
	WatchAssignments(ctx context.Context, agentID string) (<-chan []cluster.Assignment, error)
	// ReportStatuses records the latest status of each task given (one
	// status per task), in one store transaction where they fit: the agent
	// batches its reports (statusbatch.go).
	ReportStatuses(ctx context.Context, sts []cluster.TaskStatus) error
}

// Registry publishes running tasks as services (Consul, in production).
// Deregister is called before a task's container is stopped, so no client is
// sent to a dying task.
type Registry interface {
	Register(ctx context.Context, taskID string, svcs []Service) error
	Deregister(ctx context.Context, taskID string) error
	// SetHealthy feeds the agent's own health verdict to registrations that
	// have no check of their own (TTL checks).
	SetHealthy(taskID string, healthy bool)
	// Sync repairs the registry: re-registers what it lost and removes
	// services of tasks keep does not claim. The agent calls it periodically,
	// first right after it has taken stock of its containers.
	Sync(ctx context.Context, keep func(taskID string) bool) error
}

// Fetcher downloads a task's artifacts into its sandbox directory before its
// container is created (agent/fetch, in production). Its error names the
// URI and why; the launch fails with it.
type Fetcher interface {
	Fetch(ctx context.Context, dir string, artifacts []cluster.Artifact) error
}
