package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/spf13/pflag"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/consulreg"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/agentlogs"
	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
)

// consulFlags say how to reach a Consul agent: its address, and for one
// with ACLs and TLS, the token and certificates. Defaults come from
// Consul's own environment variables (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN,
// CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT, CONSUL_CLIENT_CERT,
// CONSUL_CLIENT_KEY), as consul-template reads them.
type consulFlags struct {
	addr, tokenFile           string
	caCert, clientCert, clKey string
}

// register adds the flags of a Consul with ACLs and TLS (the address
// flag is each command's own).
func (c *consulFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.tokenFile, "consul-token-file", "", "file holding the Consul ACL token (default $CONSUL_HTTP_TOKEN_FILE or $CONSUL_HTTP_TOKEN)")
	f.StringVar(&c.caCert, "consul-ca-cert", "", "PEM CA certificates of Consul's HTTPS certificate: talk HTTPS to --consul (default $CONSUL_CACERT)")
	f.StringVar(&c.clientCert, "consul-client-cert", "", "PEM client certificate for a Consul that verifies clients (default $CONSUL_CLIENT_CERT)")
	f.StringVar(&c.clKey, "consul-client-key", "", "PEM key of --consul-client-cert (default $CONSUL_CLIENT_KEY)")
}

// client builds a Consul API client from the flags over Consul's
// environment defaults. A token is never logged.
func (c consulFlags) client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = c.addr
	if c.tokenFile != "" {
		tok, err := readSecret(c.tokenFile, "--consul-token-file")
		if err != nil {
			return nil, err
		}
		cfg.Token, cfg.TokenFile = tok, ""
	}
	if c.caCert != "" {
		cfg.TLSConfig.CAFile = c.caCert
	}
	if c.clientCert != "" || c.clKey != "" {
		cfg.TLSConfig.CertFile, cfg.TLSConfig.KeyFile = c.clientCert, c.clKey
	}
	if cfg.TLSConfig.CAFile != "" && !strings.Contains(c.addr, "://") {
		// A CA to check Consul's certificate against means Consul speaks
		// HTTPS; an address with a scheme says so itself.
		cfg.Scheme = "https"
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("--consul %s: %w", c.addr, err)
	}
	return client, nil
}

// nodeServices are what a node's agent talks to besides Docker and the
// cluster state: the Consul agent it registers services in (nil without
// one) and the data source its templates read — that Consul agent, or
// Berth's own catalog over the cluster state.
func nodeServices(consul consulFlags, node agent.Node, state *cluster.State, logger *slog.Logger) (agent.Registry, templates.Source, error) {
	if consul.addr == "" {
		return nil, templates.CatalogSource{Catalog: catalog.New(state, time.Second, node.Hostname)}, nil
	}
	client, err := consul.client()
	if err != nil {
		return nil, nil, err
	}
	return consulreg.New(client, node.ID, logger), consulsource.FromClient(client), nil
}

// nodeAgent is the agent of this machine with what it was built from.
type nodeAgent struct {
	*agent.Agent
	state  *cluster.State
	source templates.Source // what templates on this node read
	logs   agentlogs.Source // this node's tasks' output
	close  func()
}

// newNodeAgent dials the local Docker Engine and builds the agent for node
// over store: the settings in cfg plus the Docker runtime (shaped by rt),
// the cluster state, the Consul registry (when consul.addr is set) and
// Berth's version and logger. Call close when done.
// onResync, if set, is told about each full re-read of the agent's
// assignments (the agent's metrics).
func newNodeAgent(ctx context.Context, logger *slog.Logger, node agent.Node, store cluster.Store, consul consulFlags, rt dockerrt.Options, cfg agent.Config, onResync func(reason string, drift int)) (*nodeAgent, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	docker, err := dockerrt.Dial(dctx)
	cancel()
	if err != nil {
		return nil, err
	}
	state := cluster.NewState(store)
	registry, source, err := nodeServices(consul, node, state, logger)
	if err != nil {
		docker.Close()
		return nil, err
	}
	rt.Logger = logger
	cfg.Node, cfg.Runtime, cfg.Registry = node, dockerrt.New(docker, rt), registry
	cfg.Cluster = &agent.StateCluster{State: state, Log: logger, OnResync: onResync}
	cfg.Version, cfg.Logger = version, logger
	ag, err := agent.New(cfg)
	if err != nil {
		docker.Close()
		return nil, err
	}
	return &nodeAgent{Agent: ag, state: state, source: source, logs: cfg.Runtime.Logs, close: func() { docker.Close() }}, nil
}

// localLogs reads the logs of the built-in agent's tasks straight from its
// runtime (berth up: the server and the agent are one process).
type localLogs struct {
	agentID string
	src     agentlogs.Source
}

func (l *localLogs) Logs(ctx context.Context, ag cluster.Agent, taskID string, opts launch.LogOptions, w io.Writer) error {
	if l.src == nil || ag.ID != l.agentID {
		return agentlogs.ErrNoLogs
	}
	return l.src(ctx, taskID, opts, w, w)
}
