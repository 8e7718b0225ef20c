package main

import (
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/cluster"
)

func newTasksCmd() *cobra.Command {
	var (
		f   apiFlags
		app string
	)
	cmd := &cobra.Command{
		Use:   "tasks [--app ID]",
		Short: "List tasks with their agent, state, health and host ports",
		Long: `tasks lists the tasks in the cluster state (GET /v1/tasks), or only those of one
app with --app: where each runs, its state as the agent last reported it
(KILLING once Berth asked it to stop), its health-check verdict, the version
of the app it runs, its host ports and how long it has run. See docs/api.md.`,
		Example: `  berth tasks
  berth tasks --app /web/nginx -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			if app != "" && !strings.HasPrefix(app, "/") {
				app = "/" + app // app ids are absolute, as in the manifests
			}
			tasks, err := c.Tasks(ctx, app)
			if err != nil {
				return f.hint(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), tasks)
			}
			if len(tasks) == 0 {
				if app != "" {
					cmd.PrintErrf("no tasks of %s\n", app)
				} else {
					cmd.PrintErrln("no tasks")
				}
				return nil
			}
			renderTasks(cmd.OutOrStdout(), tasks, time.Now())
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "only the tasks of this app id")
	return cmd
}

// taskState is what an operator wants to read in the STATE column: the
// agent's report, except that a task Berth asked to stop is KILLING until
// the agent says it ended.
func taskState(t cluster.Task) string {
	s := t.Status.State
	if s == "" {
		s = cluster.TaskStaging // assigned, not yet reported by its agent
	}
	if t.Kill && !s.Terminal() {
		s = cluster.TaskKilling
	}
	return string(s)
}

// renderTasks prints tasks grouped by owner, oldest first.
func renderTasks(w io.Writer, tasks []cluster.Task, now time.Time) {
	tasks = append([]cluster.Task(nil), tasks...)
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := tasks[i], tasks[j]
		if a.OwnerID != b.OwnerID {
			return a.OwnerID < b.OwnerID
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.TaskID < b.TaskID
	})
	tw := newTable(w, "ID", "OWNER", "AGENT", "STATE", "HEALTH", "VERSION", "PORTS", "AGE")
	for _, t := range tasks {
		owner := t.OwnerID
		if t.Owner == cluster.OwnerJob {
			owner = "job:" + owner
		}
		ports := make([]string, 0, len(t.Status.HostPorts))
		for _, p := range t.Status.HostPorts {
			ports = append(ports, strconv.Itoa(p))
		}
		started := t.Status.StartedAt
		if started.IsZero() {
			started = t.CreatedAt
		}
		row(tw, t.TaskID, owner, t.AgentID, taskState(t), string(t.Status.Health), short(t.Version), strings.Join(ports, ","), age(started, now))
	}
	tw.Flush()
}
