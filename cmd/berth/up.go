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
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/templates"
)

type upFlags struct {
	control          controlFlags
	dataDir, listen  string
	advertise        string
	resources, attrs string
	consul           string
	renderRoot       string
	templateCommands bool
	logLevel         string
	agentID          string
	// extraLabels go on every container (tests label theirs for cleanup).
	extraLabels map[string]string
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
	f.StringVar(&fl.consul, "consul", "", "Consul agent to register services in and render templates from (default: Berth's own catalog)")
	f.StringVar(&fl.renderRoot, "render-root", "", "directory template destinations are written under (default DATA-DIR/rendered)")
	f.BoolVar(&fl.templateCommands, "template-commands", false, "run templates' validate and command steps")
	f.StringVar(&fl.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&fl.agentID, "agent-id", "local", "id of the built-in agent; its containers are labelled with it")
	return cmd
}

func runUp(ctx context.Context, stdout io.Writer, logger *slog.Logger, fl upFlags) error {
	if err := os.MkdirAll(fl.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if fl.control.tokenFile == "" {
		fl.control.tokenFile = filepath.Join(fl.dataDir, "token")
		if _, err := ensureToken(fl.control.tokenFile); err != nil {
			return err
		}
	}
	if fl.renderRoot == "" {
		fl.renderRoot = filepath.Join(fl.dataDir, "rendered")
	}
	tree, err := memstore.Open(filepath.Join(fl.dataDir, "state.json"))
	if err != nil {
		return err
	}
	serverStore, agentStore := tree.Client(), tree.Client()
	defer serverStore.Close()
	defer agentStore.Close()

	cp, err := newControlPlane(ctx, logger, serverStore, fl.control)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{ID: "up", Version: version, Store: serverStore, Logger: logger,
		Lead: []server.LeadFunc{cp.rec.Run}})
	var runner *templates.Runner // made below, before the server serves
	cp.api.Renders = func() []reconciler.TemplateRender { return renders(fl.agentID, runner.Status()) }
	cp.mount(srv)
	ln, err := net.Listen("tcp", fl.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", fl.listen, err)
	}

	node, err := agentNode(agentFlags{id: fl.agentID, advertise: fl.advertise, resources: fl.resources, attributes: fl.attrs, dockerRoot: "/var/lib/docker"})
	if err != nil {
		return err
	}
	ag, err := newNodeAgent(ctx, logger, node, agentStore, fl.consul, agent.Config{ShellImage: fl.control.shellImage, ExtraLabels: fl.extraLabels})
	if err != nil {
		return err
	}
	defer ag.close()
	runner, err = templates.NewRunner(nil, templates.RunnerOptions{Source: ag.source, Logger: logger})
	if err != nil {
		return err
	}

	api := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, `Berth is up.
  UI:         %s/ui/
  API:        %s  (token in %s)
  status:     berth status --server %s
  apps:       berth apps --server %s
  templates:  rendered under %s
  state:      %s
Stop with Ctrl-C; running tasks keep running and are picked up by the next berth up.
`, api, api, fl.control.tokenFile, api, api, fl.renderRoot, filepath.Join(fl.dataDir, "state.json"))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, ln) })
	g.Go(func() error { return ag.Run(gctx) })
	g.Go(func() error { return runner.Run(gctx) })
	g.Go(func() error {
		return followTemplates(gctx, stdout, cp.rec, runner, fl.renderRoot, fl.templateCommands, logger)
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

// followTemplates hands the runner the templates of every newly applied
// commit. In one-process mode every template renders here, whatever its
// constraints; destinations are moved under root.
func followTemplates(ctx context.Context, stdout io.Writer, rec *reconciler.Reconciler, runner *templates.Runner, root string, commands bool, logger *slog.Logger) error {
	last := ""
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if set, commit := rec.Desired(); set != nil && commit != last {
			specs := rebaseTemplates(set.Templates, root, commands)
			if err := runner.Update(specs); err != nil {
				logger.Warn("templates of commit not applied", "commit", commit, "err", err)
			} else {
				for _, t := range specs {
					fmt.Fprintf(stdout, "  template %s renders to %s\n", t.ID, t.Destination)
				}
			}
			last = commit
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func rebaseTemplates(in []manifests.Template, root string, commands bool) []manifests.Template {
	out := make([]manifests.Template, len(in))
	for i, t := range in {
		t.Destination = filepath.Join(root, strings.TrimPrefix(filepath.Clean(t.Destination), "/"))
		if !commands {
			t.Validate, t.Command = "", ""
		}
		out[i] = t
	}
	return out
}

// renders is the runner's status as GET /v1/renders reports it.
func renders(agentID string, sts []templates.Status) []reconciler.TemplateRender {
	out := make([]reconciler.TemplateRender, len(sts))
	for i, s := range sts {
		out[i] = reconciler.TemplateRender{Template: s.ID, Agent: agentID, Destination: s.Destination, Rendered: s.Rendered,
			LastRender: s.LastRender, LastWrite: s.LastWrite, Writes: s.Writes, Waiting: s.Waiting, Error: s.Err, SourceError: s.SourceErr}
	}
	return out
}
