package templates

import (
	"context"
	"strings"
	"sync"
)

// Instance is one registered instance of a service in Berth's catalog.
type Instance struct {
	ID          string
	Name        string
	Node        string
	NodeAddress string
	// Address is the instance's own address; empty means the node's.
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	// Status is the aggregated health: passing, warning, critical or
	// maintenance. Empty counts as passing (no checks).
	Status string
}

// CatalogNodeInfo is a node known to the catalog.
type CatalogNodeInfo struct {
	Name    string
	ID      string
	Address string
	Meta    map[string]string
}

// CatalogData is a catalog's whole content at one version.
type CatalogData struct {
	Datacenter string
	// LocalNode answers `node` without a name.
	LocalNode string
	Nodes     []CatalogNodeInfo
	Instances []Instance
	KV        map[string]string
}

// Catalog is Berth's own service catalog, which the server and agents keep
// from task state. Snapshot blocks until the version is greater than after
// (0: return at once) or ctx ends.
type Catalog interface {
	Snapshot(ctx context.Context, after uint64) (*CatalogData, uint64, error)
}

// CatalogSource answers template queries from a Catalog.
type CatalogSource struct {
	Catalog Catalog
}

// Fetch implements Source.
func (s CatalogSource) Fetch(ctx context.Context, q Query, waitIndex uint64) (any, uint64, error) {
	data, version, err := s.Catalog.Snapshot(ctx, waitIndex)
	if err != nil {
		return nil, waitIndex, err
	}
	return Answer(data, q), version, nil
}

// Answer evaluates q over catalog data with Consul's semantics (health
// filters, tag match, address fallback, sorting), so a template reads Berth's
// catalog exactly as it would read Consul's.
func Answer(data *CatalogData, q Query) any {
	if data == nil {
		data = &CatalogData{}
	}
	switch q.Kind {
	case QueryService:
		return answerService(data, q)
	case QueryServices:
		tags := map[string]map[string]bool{}
		for _, in := range data.Instances {
			if tags[in.Name] == nil {
				tags[in.Name] = map[string]bool{}
			}
			for _, t := range in.Tags {
				tags[in.Name][t] = true
			}
		}
		out := make([]*CatalogSnippet, 0, len(tags))
		for name, set := range tags {
			out = append(out, &CatalogSnippet{Name: name, Tags: sortedTags(sortedKeys(set))})
		}
		SortCatalogSnippets(out)
		return out
	case QueryKey:
		if v, ok := data.KV[q.Key]; ok {
			return v
		}
		return nil
	case QueryKeyList:
		var out []*KeyPair
		for _, k := range sortedKeys(data.KV) {
			if !strings.HasPrefix(k, q.Key) {
				continue
			}
			out = append(out, &KeyPair{Path: k, Key: strings.TrimLeft(strings.TrimPrefix(k, q.Key), "/"), Value: data.KV[k]})
		}
		if out == nil {
			out = []*KeyPair{}
		}
		return out
	case QueryNode:
		name := q.Name
		if name == "" {
			name = data.LocalNode
		}
		for _, n := range data.Nodes {
			if n.Name != name {
				continue
			}
			cn := &CatalogNode{Node: nodeOf(data, n), Services: []*CatalogNodeService{}}
			for _, in := range data.Instances {
				if in.Node == name {
					cn.Services = append(cn.Services, &CatalogNodeService{ID: in.ID, Service: in.Name, Tags: sortedTags(in.Tags), Meta: copyMap(in.Meta), Port: in.Port, Address: in.Address})
				}
			}
			SortNodeServices(cn.Services)
			return cn
		}
		// consul-template answers an unknown node with an empty node, not
		// nil: `with node "x"` is true and `.Node` is nil.
		return &CatalogNode{}
	case QueryNodes:
		out := make([]*Node, 0, len(data.Nodes))
		for _, n := range data.Nodes {
			out = append(out, nodeOf(data, n))
		}
		if q.Near == "" {
			SortNodes(out)
		}
		return out
	}
	return nil
}

func answerService(data *CatalogData, q Query) []*HealthService {
	nodes := map[string]CatalogNodeInfo{}
	for _, n := range data.Nodes {
		nodes[n.Name] = n
	}
	out := []*HealthService{}
	for _, in := range data.Instances {
		if in.Name != q.Name {
			continue
		}
		if q.Tag != "" && !contains2(in.Tags, q.Tag) {
			continue
		}
		status := in.Status
		if status == "" {
			status = HealthPassing
		}
		if !q.AcceptsStatus(status) {
			continue
		}
		addr := in.Address
		if addr == "" {
			addr = in.NodeAddress
		}
		n := nodes[in.Node]
		out = append(out, &HealthService{
			Node:           in.Node,
			NodeID:         n.ID,
			NodeAddress:    in.NodeAddress,
			NodeDatacenter: data.Datacenter,
			NodeMeta:       copyMap(n.Meta),
			ServiceMeta:    copyMap(in.Meta),
			Address:        addr,
			ID:             in.ID,
			Name:           in.Name,
			Tags:           sortedTags(in.Tags),
			Checks:         HealthChecks{},
			Status:         status,
			Port:           in.Port,
			Weights:        Weights{Passing: 1, Warning: 1},
		})
	}
	if q.Near == "" {
		SortHealthServices(out)
	}
	return out
}

func nodeOf(data *CatalogData, n CatalogNodeInfo) *Node {
	return &Node{ID: n.ID, Node: n.Name, Address: n.Address, Datacenter: data.Datacenter, Meta: copyMap(n.Meta)}
}

func contains2(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// MemoryCatalog is an in-memory Catalog for tests and for `berth up`. The
// zero value is empty and ready to use.
type MemoryCatalog struct {
	mu      sync.Mutex
	data    CatalogData
	version uint64
	changed chan struct{} // closed and replaced on every change
}

// Snapshot implements Catalog.
func (c *MemoryCatalog) Snapshot(ctx context.Context, after uint64) (*CatalogData, uint64, error) {
	for {
		c.mu.Lock()
		c.init()
		if c.version > after || after == 0 {
			d := c.copyLocked()
			v := c.version
			c.mu.Unlock()
			return d, v, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, after, ctx.Err()
		}
	}
}

// Update changes the catalog under its lock and wakes every waiting query.
func (c *MemoryCatalog) Update(change func(d *CatalogData)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	change(&c.data)
	c.version++
	close(c.changed)
	c.changed = make(chan struct{})
}

// Register adds or replaces an instance (by id), adding its node if new.
func (c *MemoryCatalog) Register(in Instance) {
	c.Update(func(d *CatalogData) {
		known := false
		for _, n := range d.Nodes {
			known = known || n.Name == in.Node
		}
		if !known {
			d.Nodes = append(d.Nodes, CatalogNodeInfo{Name: in.Node, Address: in.NodeAddress})
		}
		for i := range d.Instances {
			if d.Instances[i].ID == in.ID {
				d.Instances[i] = in
				return
			}
		}
		d.Instances = append(d.Instances, in)
	})
}

// Deregister removes an instance by id.
func (c *MemoryCatalog) Deregister(id string) {
	c.Update(func(d *CatalogData) {
		kept := d.Instances[:0]
		for _, in := range d.Instances {
			if in.ID != id {
				kept = append(kept, in)
			}
		}
		d.Instances = kept
	})
}

// PutKey sets a KV entry.
func (c *MemoryCatalog) PutKey(k, v string) {
	c.Update(func(d *CatalogData) {
		if d.KV == nil {
			d.KV = map[string]string{}
		}
		d.KV[k] = v
	})
}

func (c *MemoryCatalog) init() {
	if c.changed == nil {
		c.changed = make(chan struct{})
		c.version = 1
	}
}

func (c *MemoryCatalog) copyLocked() *CatalogData {
	d := c.data
	d.Nodes = append([]CatalogNodeInfo(nil), c.data.Nodes...)
	d.Instances = append([]Instance(nil), c.data.Instances...)
	d.KV = make(map[string]string, len(c.data.KV))
	for k, v := range c.data.KV {
		d.KV[k] = v
	}
	return &d
}
