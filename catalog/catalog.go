// Package catalog is Berth's own service catalog: the running tasks of apps
// as services (named, tagged and addressed as the agent registers them in
// Consul), read from the cluster state. Templates read it when no Consul is
// configured, as in `berth up`.
//
// It reads the cluster state and never writes it.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/templates"
)

// Reader is what the catalog reads: agents and tasks.
type Reader interface {
	Agents(ctx context.Context) ([]cluster.Agent, error)
	Tasks(ctx context.Context) ([]cluster.Task, error)
}

// Catalog implements templates.Catalog over the cluster state. It polls:
// task statuses change often and a poll of the whole state every Poll is
// cheap next to a render.
type Catalog struct {
	r          Reader
	poll       time.Duration
	datacenter string
	localNode  string

	mu      sync.Mutex
	version uint64
	hash    [32]byte
	data    *templates.CatalogData
}

// New returns a catalog polling r every poll (1 s if zero). localNode is the
// node `node` without a name refers to.
func New(r Reader, poll time.Duration, localNode string) *Catalog {
	if poll <= 0 {
		poll = time.Second
	}
	return &Catalog{r: r, poll: poll, datacenter: "berth", localNode: localNode}
}

// Snapshot implements templates.Catalog: it returns once the catalog's
// version is greater than after.
func (c *Catalog) Snapshot(ctx context.Context, after uint64) (*templates.CatalogData, uint64, error) {
	for {
		data, version, err := c.refresh(ctx)
		if err != nil {
			return nil, after, err
		}
		if version > after {
			return data, version, nil
		}
		select {
		case <-ctx.Done():
			return nil, after, ctx.Err()
		case <-time.After(c.poll):
		}
	}
}

func (c *Catalog) refresh(ctx context.Context) (*templates.CatalogData, uint64, error) {
	agents, err := c.r.Agents(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: read agents: %w", err)
	}
	tasks, err := c.r.Tasks(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: read tasks: %w", err)
	}
	data := Build(agents, tasks, c.datacenter, c.localNode)
	b, _ := json.Marshal(data)
	sum := sha256.Sum256(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil || sum != c.hash {
		c.version++
		c.hash, c.data = sum, data
	}
	return c.data, c.version, nil
}

// Build derives the catalog from agents and tasks: every running app task
// on a reachable agent contributes its published ports as service
// instances, passing when healthy (or without health checks) and critical
// otherwise, as the agent's Consul checks would report them.
func Build(agents []cluster.Agent, tasks []cluster.Task, datacenter, localNode string) *templates.CatalogData {
	data := &templates.CatalogData{Datacenter: datacenter, LocalNode: localNode, KV: map[string]string{}}
	nodes := map[string]cluster.Agent{}
	for _, a := range agents {
		if !a.Reachable {
			continue
		}
		nodes[a.ID] = a
		data.Nodes = append(data.Nodes, templates.CatalogNodeInfo{Name: a.Hostname, ID: a.ID, Address: a.Address, Meta: a.Attributes})
	}
	for _, t := range tasks {
		node, ok := nodes[t.AgentID]
		if !ok || t.Owner != cluster.OwnerApp || t.Kill || t.Status.State != cluster.TaskRunning {
			continue
		}
		ports := t.Status.HostPorts
		if len(ports) == 0 {
			for _, p := range t.Spec.Ports {
				ports = append(ports, p.HostPort)
			}
		}
		status := "passing"
		if len(t.Spec.HealthChecks) > 0 && t.Status.Health != cluster.HealthHealthy {
			status = "critical"
		}
		for _, s := range cluster.TaskServices(node.ID, node.Address, t.Assignment, ports) {
			data.Instances = append(data.Instances, templates.Instance{
				ID: s.ID, Name: s.Name, Node: node.Hostname, NodeAddress: node.Address, Address: s.Address,
				Port: s.Port, Tags: s.Tags, Meta: s.Meta, Status: status,
			})
		}
	}
	sort.Slice(data.Nodes, func(i, j int) bool { return data.Nodes[i].Name < data.Nodes[j].Name })
	sort.Slice(data.Instances, func(i, j int) bool { return data.Instances[i].ID < data.Instances[j].ID })
	return data
}
