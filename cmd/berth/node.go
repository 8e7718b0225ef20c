package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/consulreg"
	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
)

// nodeServices are what a node's agent talks to besides Docker and the
// cluster state: the Consul agent it registers services in (nil without
// one) and the data source its templates read — that Consul agent, or
// Berth's own catalog over the cluster state.
func nodeServices(consulAddr string, node agent.Node, state *cluster.State, logger *slog.Logger) (agent.Registry, templates.Source, error) {
	if consulAddr == "" {
		return nil, templates.CatalogSource{Catalog: catalog.New(state, time.Second, node.Hostname)}, nil
	}
	cfg := api.DefaultConfig()
	cfg.Address = consulAddr
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--consul %s: %w", consulAddr, err)
	}
	source, err := consulsource.New(consulAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("--consul %s: %w", consulAddr, err)
	}
	return consulreg.New(client, node.ID, logger), source, nil
}

// nodeAgent is the agent of this machine with what it was built from.
type nodeAgent struct {
	*agent.Agent
	state  *cluster.State
	source templates.Source // what templates on this node read
	close  func()
}

// newNodeAgent dials the local Docker Engine and builds the agent for node
// over store: the settings in cfg plus Docker, the cluster state, the Consul
// registry (when consulAddr is set) and Berth's version and logger. Call
// close when done.
func newNodeAgent(ctx context.Context, logger *slog.Logger, node agent.Node, store cluster.Store, consulAddr string, cfg agent.Config) (*nodeAgent, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	docker, err := agent.DialDocker(dctx)
	cancel()
	if err != nil {
		return nil, err
	}
	state := cluster.NewState(store)
	registry, source, err := nodeServices(consulAddr, node, state, logger)
	if err != nil {
		docker.Close()
		return nil, err
	}
	cfg.Node, cfg.Docker, cfg.Registry = node, docker, registry
	cfg.Cluster = &agent.StateCluster{State: state, Log: logger}
	cfg.Version, cfg.Logger = version, logger
	ag, err := agent.New(cfg)
	if err != nil {
		docker.Close()
		return nil, err
	}
	return &nodeAgent{Agent: ag, state: state, source: source, close: func() { docker.Close() }}, nil
}
