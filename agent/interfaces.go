package agent

import (
	"context"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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
	// ReportStatus records a task's latest status.
	ReportStatus(ctx context.Context, st cluster.TaskStatus) error
}

// Docker is the part of the Docker Engine client the agent drives;
// *client.Client satisfies it.
type Docker interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecStart(ctx context.Context, execID string, opts container.ExecStartOptions) error
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
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
