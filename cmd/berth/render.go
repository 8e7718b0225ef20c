package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
)

func newRenderCmd() *cobra.Command {
	var (
		consul         consulFlags
		zkURL          string
		tmplFlags      []string
		once, dry      bool
		validate       string
		wait           string
		perms          string
		backup         bool
		commandTimeout time.Duration
		envPrefix      string
	)
	cmd := &cobra.Command{
		Use:   "render --template SRC:DST[:COMMAND] ...",
		Short: "Render consul-template-style templates from Consul, once or as a daemon",
		Long: `render is a standalone, consul-template-compatible renderer for a host no Berth
agent manages (an nginx in front of the cluster, say). Each --template takes
consul-template's SRC:DST[:COMMAND] form; the language and output are
consul-template's, byte for byte.

Unlike consul-template, a --validate command (e.g. "nginx -t") runs against the
new file in place; if it fails the previous file is restored and the command
does not run. Consul being unreachable never empties a file: the last good one
stays until Consul answers again.

With --once it renders every template once all its data is present, runs the
commands of those that changed, and exits; --dry prints "> DST" and the
contents instead of writing.

With --zk the data is Berth's own catalog (the running tasks in the cluster
state on ZooKeeper) instead of Consul: for clusters that run no Consul.`,
		Example: `  berth render --consul 127.0.0.1:8500 \
    --template /etc/berth/web.ctmpl:/etc/nginx/conf.d/web.conf:"nginx -s reload" \
    --validate "nginx -t" --wait 2s:10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(tmplFlags) == 0 {
				return fmt.Errorf("render: at least one --template SRC:DST[:COMMAND] is required")
			}
			var w *manifests.Wait
			if wait != "" {
				minS, maxS, _ := strings.Cut(wait, ":")
				if _, _, err := templates.ParseWait(minS, maxS); err != nil {
					return fmt.Errorf("render: --wait %q: %w", wait, err)
				}
				w = &manifests.Wait{Min: minS, Max: maxS}
			}
			var specs []manifests.Template
			for _, f := range tmplFlags {
				spec, err := parseTemplateFlag(f)
				if err != nil {
					return err
				}
				spec.Validate, spec.Wait, spec.Perms, spec.Backup = validate, w, perms, backup
				specs = append(specs, spec)
			}
			var src templates.Source
			if zkURL != "" {
				store, err := openRenderZK(cmd.Context(), zkURL)
				if err != nil {
					return fmt.Errorf("render: --zk %s: %w", zkURL, err)
				}
				defer store.Close()
				host, _ := os.Hostname()
				src = templates.CatalogSource{Catalog: catalog.New(cluster.NewState(store), time.Second, host)}
			} else {
				client, err := consul.client()
				if err != nil {
					return fmt.Errorf("render: %w", err)
				}
				src = consulsource.FromClient(client)
			}
			opts := templates.RunnerOptions{
				Source:         src,
				Logger:         slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
				CommandTimeout: commandTimeout,
				EnvPrefix:      envPrefix,
			}
			if dry {
				opts.Dry = cmd.OutOrStdout()
			}
			r, err := templates.NewRunner(specs, opts)
			if err != nil {
				return fmt.Errorf("render: %w", err)
			}
			if once {
				return r.RunOnce(cmd.Context())
			}
			return r.Run(cmd.Context())
		},
	}
	defAddr := os.Getenv("CONSUL_HTTP_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8500"
	}
	f := cmd.Flags()
	f.StringVar(&consul.addr, "consul", defAddr, "Consul HTTP address (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500)")
	consul.register(f)
	f.StringVar(&zkURL, "zk", "", "read Berth's own catalog from the cluster state on ZooKeeper (zk://host:port/path) instead of Consul")
	f.StringArrayVar(&tmplFlags, "template", nil, "SRC:DST[:COMMAND], repeatable (consul-template's form)")
	f.BoolVar(&once, "once", false, "render once and exit")
	f.BoolVar(&dry, "dry", false, "print rendered templates to stdout instead of writing them")
	f.StringVar(&validate, "validate", "", "command that checks a new file in place before COMMAND runs (e.g. \"nginx -t\")")
	f.StringVar(&wait, "wait", "", "MIN[:MAX] quiescence window for changes (MAX defaults to 4x MIN)")
	f.StringVar(&perms, "perms", "", "octal mode for written files (default: keep the existing file's, or 0644)")
	f.BoolVar(&backup, "backup", false, "keep the previous file as DST.bak")
	f.StringVar(&envPrefix, "template-env-prefix", templates.DefaultEnvPrefix, "the env function reads only variables whose names start with this (empty: none)")
	f.DurationVar(&commandTimeout, "command-timeout", 30*time.Second, "how long validate and COMMAND may run")
	return cmd
}

// parseTemplateFlag reads consul-template's SRC:DST[:COMMAND]; the command
// is everything after the second colon, so it may contain colons itself.
func parseTemplateFlag(s string) (manifests.Template, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return manifests.Template{}, fmt.Errorf("render: --template %q: want SRC:DST[:COMMAND]", s)
	}
	contents, err := os.ReadFile(parts[0])
	if err != nil {
		return manifests.Template{}, fmt.Errorf("render: --template %q: %w", s, err)
	}
	spec := manifests.Template{ID: filepath.Base(parts[0]), Source: parts[0], Contents: string(contents), Destination: parts[1]}
	if len(parts) == 3 {
		spec.Command = parts[2]
	}
	return spec, nil
}

// openRenderZK opens the cluster state read by render --zk.
func openRenderZK(ctx context.Context, url string) (*zkstore.Store, error) {
	cfg, err := zkstore.ParseURL(url)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return zkstore.Open(octx, cfg, zkstore.Options{})
}
