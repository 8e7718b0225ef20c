package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/templates"
)

type upFlags struct {
	control          controlFlags
	dataDir, listen  string
	advertise        string
	resources, attrs string
	consul           consulFlags
	renderRoot       string
	templateCommands bool
	logLevel         string
	agentID          string
	// policy widens the built-in agent's (see berth agent); host paths
	// under DATA-DIR/volumes are always allowed.
	policy cluster.AgentPolicy
	// extraLabels go on every container (tests label theirs for cleanup).
	extraLabels map[string]string
	// templateEnvPrefix limits what templates read with env.
	templateEnvPrefix string
	fetch             fetchFlags
}

func newUpCmd() *cobra.Command {
	var fl upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything in one process on this machine: server, agent and templates (the first-try default)",
		Long: `up runs a whole Berth cluster in one process: a server whose state is kept in
memory and persisted to --data-dir (no ZooKeeper), an agent on the local Docker
Engine, and the template runner, reading Berth's own service catalog (or a
Consul agent with --consul). It follows --branch of --repo like berth server.

Template destinations are written under --render-root, and their validate and
command steps only run with --template-commands, so a first try never touches
the machine's own nginx. Restarting up resumes from --data-dir without
restarting healthy tasks.`,
		Example: `  berth up --repo . --path examples          # the walkthrough, from this repository
  berth status --server http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(fl.logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", fl.logLevel)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return runUp(cmd.Context(), cmd.OutOrStdout(), logger, fl)
		},
	}
	f := cmd.Flags()
	fl.control.register(f, 5*time.Second)
	f.Lookup("repo").DefValue, fl.control.repo = ".", "."
	f.StringVar(&fl.dataDir, "data-dir", ".berth", "where the cluster state, the API token and rendered templates are kept")
	f.StringVar(&fl.listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	f.StringVar(&fl.advertise, "advertise", "127.0.0.1", "address task ports are published on")
	f.StringVar(&fl.resources, "resources", "", "override detected resources: 'cpus:4;mem:8192;disk:40000;ports:[31000-32000]'")
	f.StringVar(&fl.attrs, "attributes", "", "node attributes for constraints: 'rack:r1;zone:a'")
	f.StringVar(&fl.consul.addr, "consul", "", "Consul agent to register services in and render templates from (default: Berth's own catalog)")
	fl.consul.register(f)
	f.StringVar(&fl.renderRoot, "render-root", "", "directory template destinations are written under (default DATA-DIR/rendered)")
	f.BoolVar(&fl.templateCommands, "template-commands", false, "run templates' validate and command steps")
	f.StringVar(&fl.templateEnvPrefix, "template-env-prefix", templates.DefaultEnvPrefix, "templates' env function reads only variables whose names start with this (empty: none)")
	f.StringVar(&fl.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&fl.agentID, "agent-id", "local", "id of the built-in agent; its containers are labelled with it")
	registerPolicyFlags(f, &fl.policy, false)
	fl.fetch.register(f, "", "")
	f.Lookup("sandbox-dir").DefValue = "DATA-DIR/sandboxes"
	f.Lookup("fetch-cache").DefValue = "DATA-DIR/fetch-cache"
	return cmd
}

func runUp(ctx context.Context, stdout io.Writer, logger *slog.Logger, fl upFlags) error {
	if err := fl.control.checkLimits(); err != nil {
		return err
	}
	tree, err := openDataDir(fl.dataDir, logger)
	if err != nil {
		return err
	}
	defer tree.Close()
	if fl.control.tokenFile == "" {
		fl.control.tokenFile = filepath.Join(fl.dataDir, "token")
		if _, err := ensureToken(fl.control.tokenFile); err != nil {
			return err
		}
	}
	if fl.renderRoot == "" {
		fl.renderRoot = filepath.Join(fl.dataDir, "rendered")
	}
	if fl.fetch.sandboxDir == "" {
		fl.fetch.sandboxDir = filepath.Join(fl.dataDir, "sandboxes")
	}
	if fl.fetch.cacheDir == "" {
		fl.fetch.cacheDir = filepath.Join(fl.dataDir, "fetch-cache")
	}
	// Absolute: it is also the template root of the built-in agent's policy.
	if fl.renderRoot, err = filepath.Abs(fl.renderRoot); err != nil {
		return fmt.Errorf("--render-root: %w", err)
	}
	serverStore, agentStore := tree.Client(), tree.Client()
	defer serverStore.Close()
	defer agentStore.Close()

	serveTLS, peers, err := fl.control.tls.Load()
	if err != nil {
		return err
	}
	cp, err := newControlPlane(ctx, logger, serverStore, fl.control)
	if err != nil {
		return err
	}
	var warnings []string
	if msg := tree.Recovered(); msg != "" {
		warnings = append(warnings, msg)
	}
	srv := server.New(server.Config{ID: "up", Version: version, Store: serverStore, Logger: logger,
		Lead: []server.LeadFunc{cp.rec.Run}, Standby: []func(context.Context){cp.rec.Standby}, TLS: serveTLS, Warnings: warnings, Limits: fl.control.limits})
	logs := &localLogs{}
	cp.api.Logs = logs
	cp.mount(srv, peers)
	ln, err := net.Listen("tcp", fl.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", fl.listen, err)
	}

	// The built-in agent's policy: the operator's flags, plus host paths
	// under DATA-DIR/volumes (not DATA-DIR itself: it holds the API token
	// and the state).
	volumes, err := filepath.Abs(filepath.Join(fl.dataDir, "volumes"))
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	pol := fl.policy
	pol.HostPaths = append([]string{volumes}, pol.HostPaths...)
	node, err := agentNode(agentFlags{id: fl.agentID, advertise: fl.advertise, resources: fl.resources, attributes: fl.attrs, dockerRoot: "/var/lib/docker", policy: pol})
	if err != nil {
		return err
	}
	acfg := agent.Config{Secrets: agentSecrets(filepath.Join(fl.dataDir, "agent"), defaultSecretsDir(fl.dataDir), logger)}
	if err := fl.fetch.apply(&acfg, node.ID); err != nil {
		return err
	}
	// The built-in agent's metrics are served with the server's, on /metrics.
	am := metrics.NewAgent(cp.metrics)
	ag, err := newNodeAgent(ctx, logger, node, agentStore, fl.consul, dockerrt.Options{ShellImage: fl.control.shellImage, ExtraLabels: fl.extraLabels}, acfg, am.CacheResync)
	if err != nil {
		return err
	}
	defer ag.close()
	am.Supervised(ag.Supervised)
	logs.agentID, logs.src = node.ID, ag.logs
	// Templates render through the same code as on an agent with
	// --templates: the published set, this node's constraints and policy,
	// destinations under --render-root.
	renderNode := node
	renderNode.Policy.TemplateRoots = append([]string{fl.renderRoot}, renderNode.Policy.TemplateRoots...)
	sc := &agent.StateCluster{State: ag.state, Log: logger}
	renderer, err := agent.NewTemplateRenderer(agent.TemplateConfig{
		Node: renderNode, Published: sc, Report: sc.ReportRenders(renderNode.ID),
		Runner: templates.RunnerOptions{Source: ag.source, Logger: logger, EnvPrefix: fl.templateEnvPrefix},
		Root:   fl.renderRoot, TrustCommands: fl.templateCommands, Logger: logger,
		Placed: func(specs []manifests.Template) {
			for _, t := range specs {
				fmt.Fprintf(stdout, "  template %s renders to %s\n", t.ID, t.Destination)
			}
		},
	})
	if err != nil {
		return err
	}

	api := "http://" + ln.Addr().String()
	if serveTLS != nil {
		api = "https://" + ln.Addr().String()
	}
	fmt.Fprintf(stdout, `Berth is up.
  UI:         %s/ui/
  API:        %s  (token in %s)
  status:     berth status --server %s
  apps:       berth apps --server %s
  templates:  rendered under %s
  state:      %s
Stop with Ctrl-C; running tasks keep running and are picked up by the next berth up.
`, api, api, fl.control.tokenFile, api, api, fl.renderRoot, filepath.Join(fl.dataDir, "state.json"))
	if msg := tree.Recovered(); msg != "" {
		fmt.Fprintf(stdout, "  WARNING:    %s\n", msg)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// The built-in agent's session ended with the last berth up, so
		// its tasks look lost until it registers again: a leader deciding
		// before that would replace healthy tasks. It takes milliseconds.
		if err := waitAgentLive(gctx, cluster.NewState(serverStore), node.ID); err != nil {
			return err
		}
		return srv.Serve(gctx, ln)
	})
	g.Go(func() error { return ag.Run(gctx) })
	g.Go(func() error { return renderer.Run(gctx) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

// openDataDir makes the data directory private (mode 0700: it holds the
// token and every task's environment) and opens the state in it, which locks
// it: a second berth up on the same directory exits at once instead of
// leading the same cluster. A state restored from its backup is logged.
func openDataDir(dir string, logger *slog.Logger) (*memstore.Tree, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("--data-dir %s: make it private: %w", dir, err)
		}
		logger.Warn("data directory was not private; changed its mode to 0700", "dir", dir, "was", info.Mode().Perm().String())
	}
	tree, err := memstore.Open(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if msg := tree.Recovered(); msg != "" {
		logger.Warn("cluster state restored from backup", "detail", msg)
	}
	return tree, nil
}

// renders is the runner's status as GET /v1/renders reports it.

// waitAgentLive returns once agent id is registered and live.
func waitAgentLive(ctx context.Context, st *cluster.State, id string) error {
	for {
		changed, err := st.WatchAgents(ctx)
		if err != nil {
			return fmt.Errorf("wait for the built-in agent %s: %w", id, err)
		}
		agents, err := st.Agents(ctx)
		if err != nil {
			return fmt.Errorf("wait for the built-in agent %s: %w", id, err)
		}
		for _, a := range agents {
			if a.ID == id && a.Reachable {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
