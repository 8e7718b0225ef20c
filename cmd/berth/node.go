package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent"
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
	return agent.NewConsulRegistry(client, node.ID, logger), source, nil
}
