package consulsource

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/templates"
)

// Source is a templates.Source backed by one Consul agent.
type Source struct {
	client *api.Client
	// WaitTime is how long one blocking query may wait (default 60s).
	WaitTime time.Duration
}

// New connects to the agent at addr ("127.0.0.1:8500" or a URL). No request
// is made until the first Fetch.
func New(addr string) (*Source, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client for %s: %w", addr, err)
	}
	return &Source{client: c, WaitTime: 60 * time.Second}, nil
}

// FromClient is a Source over an existing client, for a Consul agent that
// needs an ACL token or TLS (configured on the client).
func FromClient(c *api.Client) *Source {
	return &Source{client: c, WaitTime: 60 * time.Second}
}

// Fetch implements templates.Source with a Consul blocking query.
func (s *Source) Fetch(ctx context.Context, q templates.Query, waitIndex uint64) (any, uint64, error) {
	opts := (&api.QueryOptions{Datacenter: q.DC, WaitIndex: waitIndex, WaitTime: s.WaitTime}).WithContext(ctx)
	switch q.Kind {
	case templates.QueryService:
		opts.Near = q.Near
		return s.service(q, opts)
	case templates.QueryServices:
		m, meta, err := s.client.Catalog().Services(opts)
		if err != nil {
			return nil, waitIndex, fmt.Errorf("%s: %w", q, err)
		}
		out := make([]*templates.CatalogSnippet, 0, len(m))
		for name, tags := range m {
			out = append(out, &templates.CatalogSnippet{Name: name, Tags: sorted(tags)})
		}
		templates.SortCatalogSnippets(out)
		return out, meta.LastIndex, nil
	case templates.QueryKey:
		pair, meta, err := s.client.KV().Get(q.Key, opts)
		if err != nil {
			return nil, waitIndex, fmt.Errorf("%s: %w", q, err)
		}
		if pair == nil {
			return nil, meta.LastIndex, nil
		}
		return string(pair.Value), meta.LastIndex, nil
	case templates.QueryKeyList:
		pairs, meta, err := s.client.KV().List(q.Key, opts)
		if err != nil {
			return nil, waitIndex, fmt.Errorf("%s: %w", q, err)
		}
		out := make([]*templates.KeyPair, 0, len(pairs))
		for _, p := range pairs {
			out = append(out, &templates.KeyPair{
				Path: p.Key, Key: strings.TrimLeft(strings.TrimPrefix(p.Key, q.Key), "/"), Value: string(p.Value),
				CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, LockIndex: p.LockIndex, Flags: p.Flags, Session: p.Session,
			})
		}
		return out, meta.LastIndex, nil
	case templates.QueryNode:
		return s.node(q, opts)
	case templates.QueryNodes:
		opts.Near = q.Near
		nodes, meta, err := s.client.Catalog().Nodes(opts)
		if err != nil {
			return nil, waitIndex, fmt.Errorf("%s: %w", q, err)
		}
		out := make([]*templates.Node, 0, len(nodes))
		for _, n := range nodes {
			out = append(out, &templates.Node{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta})
		}
		if q.Near == "" {
			templates.SortNodes(out)
		}
		return out, meta.LastIndex, nil
	}
	return nil, waitIndex, fmt.Errorf("%s: unknown query kind", q)
}

func (s *Source) service(q templates.Query, opts *api.QueryOptions) (any, uint64, error) {
	entries, meta, err := s.client.Health().Service(q.Name, q.Tag, q.PassingOnly(), opts)
	if err != nil {
		return nil, opts.WaitIndex, fmt.Errorf("%s: %w", q, err)
	}
	out := make([]*templates.HealthService, 0, len(entries))
	for _, e := range entries {
		status := e.Checks.AggregatedStatus()
		if !q.AcceptsStatus(status) {
			continue
		}
		addr := e.Service.Address
		if addr == "" {
			addr = e.Node.Address
		}
		hs := &templates.HealthService{
			Node: e.Node.Node, NodeID: e.Node.ID, NodeAddress: e.Node.Address, NodeDatacenter: e.Node.Datacenter,
			NodeTaggedAddresses: e.Node.TaggedAddresses, NodeMeta: e.Node.Meta, ServiceMeta: e.Service.Meta,
			Address: addr, ID: e.Service.ID, Name: e.Service.Service, Kind: string(e.Service.Kind),
			Tags: sorted(e.Service.Tags), Status: status, Port: e.Service.Port,
			Weights: templates.Weights{Passing: e.Service.Weights.Passing, Warning: e.Service.Weights.Warning},
		}
		if len(e.Service.TaggedAddresses) > 0 {
			hs.ServiceTaggedAddresses = make(map[string]templates.ServiceAddress, len(e.Service.TaggedAddresses))
			for k, v := range e.Service.TaggedAddresses {
				hs.ServiceTaggedAddresses[k] = templates.ServiceAddress{Address: v.Address, Port: v.Port}
			}
		}
		for _, c := range e.Checks {
			hs.Checks = append(hs.Checks, &templates.HealthCheck{
				Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output,
				ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: c.ServiceTags, Type: c.Type,
			})
		}
		out = append(out, hs)
	}
	if q.Near == "" {
		templates.SortHealthServices(out)
	}
	return out, meta.LastIndex, nil
}

func (s *Source) node(q templates.Query, opts *api.QueryOptions) (any, uint64, error) {
	name := q.Name
	if name == "" {
		n, err := s.client.Agent().NodeName()
		if err != nil {
			return nil, opts.WaitIndex, fmt.Errorf("%s: local agent's node name: %w", q, err)
		}
		name = n
	}
	node, meta, err := s.client.Catalog().Node(name, opts)
	if err != nil {
		return nil, opts.WaitIndex, fmt.Errorf("%s: %w", q, err)
	}
	if node == nil || node.Node == nil {
		return &templates.CatalogNode{}, meta.LastIndex, nil
	}
	services := make([]*templates.CatalogNodeService, 0, len(node.Services))
	for _, v := range node.Services {
		services = append(services, &templates.CatalogNodeService{
			ID: v.ID, Service: v.Service, Tags: sorted(v.Tags), Meta: v.Meta, Port: v.Port, Address: v.Address, EnableTagOverride: v.EnableTagOverride,
		})
	}
	templates.SortNodeServices(services)
	n := node.Node
	return &templates.CatalogNode{
		Node:     &templates.Node{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta},
		Services: services,
	}, meta.LastIndex, nil
}

func sorted(tags []string) templates.ServiceTags {
	out := make(templates.ServiceTags, len(tags))
	copy(out, tags)
	sort.Strings(out)
	return out
}
