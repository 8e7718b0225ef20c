package consulsource

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/templates"
)

// Catalog reads a Consul agent's whole catalog once (nodes, every service's
// instances with their aggregated health, and the KV store) as templates
// see it: what a preview renders against to show the file a template writes
// now.
func Catalog(ctx context.Context, c *api.Client) (*templates.CatalogData, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	dc, err := c.Agent().Self()
	if err != nil {
		return nil, fmt.Errorf("consul: read the agent: %w", err)
	}
	data := &templates.CatalogData{KV: map[string]string{}}
	if cfg, ok := dc["Config"]; ok {
		data.Datacenter, _ = cfg["Datacenter"].(string)
		data.LocalNode, _ = cfg["NodeName"].(string)
	}
	nodes, _, err := c.Catalog().Nodes(q)
	if err != nil {
		return nil, fmt.Errorf("consul: list nodes: %w", err)
	}
	for _, n := range nodes {
		data.Nodes = append(data.Nodes, templates.CatalogNodeInfo{Name: n.Node, ID: n.ID, Address: n.Address, Meta: n.Meta})
	}
	services, _, err := c.Catalog().Services(q)
	if err != nil {
		return nil, fmt.Errorf("consul: list services: %w", err)
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		entries, _, err := c.Health().Service(name, "", false, q)
		if err != nil {
			return nil, fmt.Errorf("consul: read service %s: %w", name, err)
		}
		for _, e := range entries {
			data.Instances = append(data.Instances, templates.Instance{ID: e.Service.ID, Name: e.Service.Service,
				Node: e.Node.Node, NodeAddress: e.Node.Address, Address: e.Service.Address, Port: e.Service.Port,
				Tags: e.Service.Tags, Meta: e.Service.Meta, Status: e.Checks.AggregatedStatus()})
		}
	}
	pairs, _, err := c.KV().List("", q)
	if err != nil {
		return nil, fmt.Errorf("consul: list keys: %w", err)
	}
	for _, p := range pairs {
		data.KV[p.Key] = string(p.Value)
	}
	return data, nil
}
