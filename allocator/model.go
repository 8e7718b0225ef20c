package allocator

import (
	"fmt"

	"github.com/berthops/berth/manifests"
)

// Resources is an amount of schedulable resources, in Marathon's units.
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`  // MiB
	Disk float64 `json:"disk"` // MiB
}

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// The host port range of an agent that declares none, as in Mesos.
const (
	DefaultPortBegin = 31000
	DefaultPortEnd   = 32000
)

// The cluster-wide service port range, as in Marathon.
const (
	DefaultServicePortBegin = 10000
	DefaultServicePortEnd   = 20000
)

// Agent is a node tasks may be placed on. Only schedulable agents should be
// passed in: the allocator places on every agent it is given.
type Agent struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Total      Resources         `json:"total"`
	// Ports are the host ports the agent offers; empty means DefaultPortBegin-DefaultPortEnd.
	Ports []PortRange `json:"ports,omitempty"`
}

// Running is a task that already holds resources on an agent. Its group and
// queue count towards constraints (UNIQUE sees it) and queue shares.
type Running struct {
	AgentID   string    `json:"agentId"`
	Group     string    `json:"group,omitempty"` // app id, e.g. /web/nginx
	Queue     string    `json:"queue,omitempty"`
	Resources Resources `json:"resources"`
	HostPorts []int     `json:"hostPorts,omitempty"`
}

// Cluster is the observed state the allocator places into.
type Cluster struct {
	Agents  []Agent   `json:"agents"`
	Running []Running `json:"running,omitempty"`
}

// Group is the demand of one app: Instances new tasks, all alike.
type Group struct {
	ID        string    `json:"id"`        // app id, e.g. /tomcat
	Instances int       `json:"instances"` // new tasks to place (not counting running ones)
	Resources Resources `json:"resources"` // per task
	// HostPorts lists the host ports each task needs: 0 is any free port of
	// the agent's ranges, any other value is exactly that port.
	HostPorts   []int                  `json:"hostPorts,omitempty"`
	Constraints []manifests.Constraint `json:"constraints,omitempty"`
	Queue       string                 `json:"queue,omitempty"`
	// Origin points messages about this group back at the manifest.
	Origin manifests.Origin `json:"-"`
}

// Strategy chooses among agents that fit.
type Strategy int

const (
	// BinPack fills agents in a fixed (seeded) order before using the next,
	// leaving whole agents free for large tasks.
	BinPack Strategy = iota
	// Spread places consecutive tasks on consecutive agents, round robin,
	// so load and failures are spread.
	Spread
)

// String is the strategy's name in flags and config: binpack or spread.
func (s Strategy) String() string {
	if s == Spread {
		return "spread"
	}
	return "binpack"
}

// ParseStrategy reads a strategy name as String writes it.
func ParseStrategy(name string) (Strategy, error) {
	switch name {
	case "binpack", "":
		return BinPack, nil
	case "spread":
		return Spread, nil
	}
	return BinPack, fmt.Errorf("strategy %q: want binpack or spread", name)
}

// Options tune one allocation.
type Options struct {
	Strategy Strategy
	// Seed orders agents of equal standing; the same inputs and seed give
	// the same placements.
	Seed uint64
	// RandomPorts picks "any free port" requests at a seeded random place in
	// the agent's ranges, as Marathon does, instead of the lowest free one.
	// A live cluster wants it: a port some process outside Berth holds is
	// then not chosen again and again; plans and tests want the readable,
	// lowest-port default.
	RandomPorts bool
	// Queues is the capacity-queue tree; empty means one unlimited queue.
	Queues []manifests.Queue
}

// Placement is where one new task runs.
type Placement struct {
	AgentID   string `json:"agentId"`
	HostPorts []int  `json:"hostPorts,omitempty"` // resolved, in the order of Group.HostPorts
}

// GroupResult is the outcome for one Group, in the order of the demand.
type GroupResult struct {
	ID         string      `json:"id"`
	Placements []Placement `json:"placements,omitempty"`
	Unplaced   int         `json:"unplaced,omitempty"`
	// Reason says why Unplaced tasks found no agent, for example
	// "3 of 5 instances of /tomcat: hostname:UNIQUE leaves only 2 agents".
	Reason string `json:"reason,omitempty"`
}

// Result is the outcome of one allocation.
type Result struct {
	Groups []GroupResult `json:"groups"`
	// Queues reports each queue's usage after the allocation, by id.
	Queues []QueueUsage `json:"queues,omitempty"`
}

// QueueUsage is a queue's share after allocation. ID "" is the implicit
// queue of apps that name none.
type QueueUsage struct {
	ID         string    `json:"id"`
	Used       Resources `json:"used"`
	Guaranteed Resources `json:"guaranteed"`
	Max        Resources `json:"max"`
}

// Placed counts the tasks the result places.
func (r Result) Placed() int {
	n := 0
	for _, g := range r.Groups {
		n += len(g.Placements)
	}
	return n
}

// Unplaced counts the tasks the result could not place.
func (r Result) Unplaced() int {
	n := 0
	for _, g := range r.Groups {
		n += g.Unplaced
	}
	return n
}
