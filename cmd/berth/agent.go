package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agentlogs"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/policy"
	"github.com/berthops/berth/templates"
)

type agentFlags struct {
	zkURL, id, hostname, advertise   string
	resources, attributes            string
	consul                           consulFlags
	shellImage, dockerRoot, logLevel string
	zkIdentity                       string
	logsListen, logsTokenFile        string
	metricsListen                    string
	allowPrivileged, templates       bool
	// policy is what commit authors may do on this machine (package policy).
	policy                             cluster.AgentPolicy
	killGrace, syncInterval, zkSession time.Duration
	// labels go on every container; hidden, for tests that clean up by label.
	labels map[string]string
	// templateEnvPrefix limits what templates read with env.
	templateEnvPrefix string
	fetch             fetchFlags
	// stateDir keeps the agent's age identity; secretsDir (a tmpfs) its
	// tasks' secret files.
	stateDir, secretsDir string
}

func newAgentCmd() *cobra.Command {
	var fl agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: Docker tasks from the cluster's assignments, services in Consul",
		Long: `Run Berth's node agent, in place of the Mesos agent, the Docker executor and
Registrator. It registers the node (resources, attributes, hostname, advertise
address) in the cluster state on ZooKeeper, runs the tasks the leader assigns
to it as Docker containers, reports their states and health, and registers
their ports as services in the local Consul agent.

Stopping the agent leaves its containers running; the next agent with the same
--id re-attaches to them. See docs/agent.md.`,
		Example: `  berth agent --zk zk://127.0.0.1:2181/berth --id node-2 --advertise 127.0.0.2 \
    --resources 'cpus:4;mem:8192;disk:40000;ports:[31000-32000]' --attributes 'rack:r1;zone:a'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(fl.logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", fl.logLevel)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return runAgent(cmd.Context(), logger, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.zkURL, "zk", os.Getenv("BERTH_ZK"), "ZooKeeper connection string zk://host:port[,host:port...]/path (env BERTH_ZK)")
	f.StringVar(&fl.id, "id", "", "agent id, stable across restarts (default: the hostname)")
	f.StringVar(&fl.hostname, "hostname", "", "hostname constraints match (default: the machine's)")
	f.StringVar(&fl.advertise, "advertise", "127.0.0.1", "address published ports bind to and services are registered with")
	f.StringVar(&fl.resources, "resources", "", "override detected resources: 'cpus:4;mem:8192;disk:40000;ports:[31000-32000]'")
	f.StringVar(&fl.attributes, "attributes", "", "node attributes for constraints: 'rack:r1;zone:a'")
	f.BoolVar(&fl.allowPrivileged, "allow-privileged", false, "allow apps with docker.privileged to run here")
	registerPolicyFlags(f, &fl.policy, true)
	f.StringVar(&fl.consul.addr, "consul", consulDefault(), "local Consul agent HTTP address; empty disables service registration (env CONSUL_HTTP_ADDR)")
	f.StringVar(&fl.shellImage, "shell-image", "berth/shell:dev", "image that runs a cmd for apps that name no image")
	f.StringVar(&fl.dockerRoot, "docker-root", "/var/lib/docker", "directory whose filesystem the disk resource is measured on")
	f.DurationVar(&fl.killGrace, "kill-grace", 3*time.Second, "SIGTERM-to-SIGKILL time for tasks that set none")
	f.DurationVar(&fl.syncInterval, "registry-sync", 5*time.Second, "how often Consul registrations are checked and repaired")
	f.DurationVar(&fl.zkSession, "session-timeout", zkstore.DefaultSessionTimeout, "ZooKeeper session timeout: how long a silent agent stays reachable")
	f.StringVar(&fl.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&fl.logsListen, "logs-listen", "", "host:port to serve this node's tasks' logs to the servers on (berth logs, the web UI); needs --zk-identity or --logs-token-file: logs are never served without a key")
	f.StringVar(&fl.metricsListen, "metrics-listen", "", "host:port to serve this agent's Prometheus metrics on (GET /metrics: its assignments cache's resyncs and drift, tasks supervised, Go runtime and process); empty: none")
	f.StringVar(&fl.logsTokenFile, "logs-token-file", "", "without --zk-identity: file holding the logs token the servers also have (berth server --agent-logs-token-file)")
	f.StringVar(&fl.stateDir, "state-dir", "/var/lib/berth/agent", "where the agent keeps its own age identity (made at the first start), to which the leader seals its tasks' secrets")
	f.StringVar(&fl.secretsDir, "secrets-dir", "", "tmpfs directory for the tasks' secret files (default: one under /dev/shm)")
	f.StringVar(&fl.zkIdentity, "zk-identity", "", "file holding this agent's own ZooKeeper identity, from berth zk-identity (instead of credentials in --zk)")
	fl.consul.register(f)
	f.BoolVar(&fl.templates, "templates", false, "render the published templates whose constraints select this node, from --consul when set, else from Berth's catalog")
	f.StringVar(&fl.templateEnvPrefix, "template-env-prefix", templates.DefaultEnvPrefix, "templates' env function reads only variables whose names start with this (empty: none)")
	fl.fetch.register(f, "/var/lib/berth/sandboxes", "/var/lib/berth/fetch-cache")
	f.StringToStringVar(&fl.labels, "label", nil, "extra Docker label k=v on every container (repeatable)")
	// Only end-to-end tests need it (to remove what they started), so it
	// stays out of the help operators read.
	_ = f.MarkHidden("label")
	return cmd
}

func consulDefault() string {
	if a := os.Getenv("CONSUL_HTTP_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:8500"
}

func runAgent(ctx context.Context, logger *slog.Logger, fl agentFlags) error {
	if fl.zkURL == "" {
		return fmt.Errorf("--zk is required (zk://host1:2181,host2:2181/berth)")
	}
	zcfg, err := zkstore.ParseURL(fl.zkURL)
	if err != nil {
		return err
	}
	node, err := agentNode(fl)
	if err != nil {
		return err
	}
	opts := zkstore.Options{SessionTimeout: fl.zkSession, Logger: logger}
	if fl.zkIdentity != "" {
		b, err := os.ReadFile(fl.zkIdentity)
		if err != nil {
			return fmt.Errorf("--zk-identity: %w", err)
		}
		idn, err := zkstore.ParseAgentIdentity(b)
		if err != nil {
			return fmt.Errorf("--zk-identity %s: %w", fl.zkIdentity, err)
		}
		switch {
		case zcfg.User != "":
			return fmt.Errorf("--zk-identity and credentials in --zk: give one identity")
		case idn.AgentID != node.ID:
			return fmt.Errorf("--zk-identity %s is agent %s's, not %s's (--id)", fl.zkIdentity, idn.AgentID, node.ID)
		}
		zcfg.User, zcfg.Password = idn.Agent.User, idn.Agent.Password
		opts.Identities = idn.Identities()
	}
	var logsBase string
	switch {
	case fl.logsListen == "":
	case fl.zkIdentity != "":
		logsBase = zcfg.Password
	case fl.logsTokenFile != "":
		if logsBase, err = readSecret(fl.logsTokenFile, "--logs-token-file"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--logs-listen needs --zk-identity or --logs-token-file: an agent never serves logs without a key")
	}
	var logsLn net.Listener
	if fl.logsListen != "" {
		if logsLn, err = net.Listen("tcp", fl.logsListen); err != nil {
			return fmt.Errorf("--logs-listen %s: %w", fl.logsListen, err)
		}
		defer logsLn.Close()
		node.LogsAddress = logsAddress(logsLn.Addr(), node.Address)
	}
	// The metrics listener opens before anything starts, so a taken port
	// fails the start, not a scrape hours later.
	var (
		metricsLn  net.Listener
		metricsReg *prometheus.Registry
		am         *metrics.Agent
	)
	if fl.metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", fl.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen %s: %w", fl.metricsListen, err)
		}
		defer metricsLn.Close()
		metricsReg = prometheus.NewRegistry()
		metricsReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		am = metrics.NewAgent(metricsReg)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := zkstore.Open(octx, zcfg, opts)
	cancel()
	if err != nil {
		return err
	}
	defer store.Close()
	acfg := agent.Config{DefaultKillGrace: fl.killGrace, SyncInterval: fl.syncInterval,
		Secrets: agentSecrets(fl.stateDir, secretsDirOr(fl.secretsDir, fl.stateDir), logger)}
	if err := fl.fetch.apply(&acfg, node.ID); err != nil {
		return err
	}
	ag, err := newNodeAgent(ctx, logger, node, store, fl.consul, dockerrt.Options{ShellImage: fl.shellImage, ExtraLabels: fl.labels}, acfg, am.CacheResync)
	if err != nil {
		return err
	}
	defer ag.close()
	if metricsLn != nil {
		am.Supervised(ag.Supervised)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(metricsReg, promhttp.HandlerOpts{}))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { _ = msrv.Serve(metricsLn) }()
		defer msrv.Close()
		logger.Info("serving metrics", "address", metricsLn.Addr().String())
	}
	logger.Info("berth agent starting", "id", node.ID, "advertise", node.Address, "resources", node.Resources, "ports", node.Ports, "consul", fl.consul.addr, "policy", node.Policy)
	if logsLn != nil {
		lsrv := &http.Server{Handler: agentlogs.Handler(ag.logs, agentlogs.Key(logsBase, node.ID)), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { _ = lsrv.Serve(logsLn) }()
		defer lsrv.Close()
		logger.Info("serving task logs", "address", node.LogsAddress)
	}
	if !fl.templates {
		return ag.Run(ctx)
	}
	if len(node.Policy.TemplateRoots) == 0 {
		logger.Warn("--templates without --template-root: no template may write anywhere on this node, so none renders")
	}
	sc := &agent.StateCluster{State: ag.state, Log: logger}
	renderer, err := agent.NewTemplateRenderer(agent.TemplateConfig{Node: node, Published: sc, Report: sc.ReportRenders(node.ID),
		Runner: templates.RunnerOptions{Source: ag.source, EnvPrefix: fl.templateEnvPrefix}, Logger: logger})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ag.Run(gctx) })
	g.Go(func() error { return renderer.Run(gctx) })
	return g.Wait()
}

// logsAddress is where servers reach the logs listener: its own address,
// with the advertise address in place of a wildcard host.
func logsAddress(a net.Addr, advertise string) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort(advertise, strconv.Itoa(tcp.Port))
}

// agentNode resolves the node description from the flags and the machine.
func agentNode(fl agentFlags) (agent.Node, error) {
	host := fl.hostname
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return agent.Node{}, fmt.Errorf("--hostname not given and no hostname: %w", err)
		}
		host = h
	}
	id := fl.id
	if id == "" {
		id = host
	}
	over, err := agent.ParseResources(fl.resources)
	if err != nil {
		return agent.Node{}, err
	}
	attrs, err := agent.ParseAttributes(fl.attributes)
	if err != nil {
		return agent.Node{}, err
	}
	pol, err := policy.Normalize(fl.policy)
	if err != nil {
		return agent.Node{}, err
	}
	dir := fl.dockerRoot
	if _, err := os.Stat(dir); err != nil {
		dir = "/"
	}
	res, ports, err := agent.DetectResources(dir)
	if err != nil {
		return agent.Node{}, err
	}
	res, ports = over.Apply(res, ports)
	return agent.Node{
		ID: id, Hostname: host, Address: fl.advertise, Resources: res, Ports: ports,
		Attributes: attrs, AllowPrivileged: fl.allowPrivileged, Policy: pol,
	}, nil
}

// registerPolicyFlags adds the flags that widen an agent's policy: by
// default a commit author gets an unprivileged container and nothing of the
// host (docs/security.md, "Agent policy").
func registerPolicyFlags(f *pflag.FlagSet, p *cluster.AgentPolicy, templates bool) {
	f.StringArrayVar(&p.HostPaths, "allow-host-path", nil, "allow hostPath volumes at or below this absolute path (repeatable)")
	f.BoolVar(&p.DockerSocket, "allow-docker-socket", false, "allow volumes that expose the Docker socket (root on this host)")
	f.StringArrayVar(&p.Caps, "allow-cap", nil, "allow docker parameter cap-add of this capability, or ALL (repeatable)")
	f.StringArrayVar(&p.Parameters, "allow-parameter", nil, "allow this docker parameter beyond the harmless ones, e.g. security-opt or log-driver (repeatable)")
	f.BoolVar(&p.HostNetwork, "allow-host-network", false, "run HOST-network tasks in the host's network namespace (default: their own, with their ports published)")
	f.StringArrayVar(&p.Networks, "allow-network", nil, "allow USER-network tasks to join this Docker network (repeatable)")
	if !templates {
		return
	}
	f.StringArrayVar(&p.TemplateRoots, "template-root", nil, "with --templates: directory template destinations may be written under (repeatable; none: no template renders)")
	f.StringArrayVar(&p.TemplateCommands, "allow-template-command", nil, "with --templates: program a template's validate and command may run, matched on the first word (repeatable)")
}
