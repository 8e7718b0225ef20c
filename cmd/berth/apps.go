package main

import (
	"fmt"
	"github.com/berthops/berth/client"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/reconciler"
)

func newAppsCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "apps [ID]",
		Short: "List the apps Git declares with their sync, health and instances",
		Long: `apps lists every app of the commit the cluster follows (GET /v1/apps), or one
app (GET /v1/apps/ID), with its sync (Synced/OutOfSync) and health
(Healthy/Progressing/Degraded/Suspended), the tasks of its current version
and how many are healthy, and why it is not yet as declared. See docs/api.md.`,
		Example: `  berth apps
  berth apps /web/nginx -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			var apps []reconciler.AppStatus
			if len(args) == 1 {
				app, err := c.App(ctx, args[0])
				if err != nil {
					return f.hint(err)
				}
				if f.output == "json" {
					return writeJSON(cmd.OutOrStdout(), app)
				}
				apps = []reconciler.AppStatus{app}
			} else if apps, err = c.Apps(ctx); err != nil {
				return f.hint(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), apps)
			}
			if len(apps) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no apps: the commit the cluster follows declares none, or none is loaded yet")
				return nil
			}
			renderApps(cmd.OutOrStdout(), apps)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// renderApps prints apps as a table, in the server's (id) order.
func renderApps(w io.Writer, apps []reconciler.AppStatus) {
	tw := newTable(w, "ID", "SYNC", "HEALTH", "TASKS", "HEALTHY", "VERSION", "MESSAGE")
	for _, a := range apps {
		row(tw, a.ID, string(a.Sync), string(a.Health), strconv.Itoa(a.Instances), strconv.Itoa(a.Healthy), short(a.Version), client.AppMessage(a))
	}
	tw.Flush()
}
