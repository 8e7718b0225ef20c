package dockerrt

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthops/berth/agent/launch"
)

// Logs copies a task's stdout and stderr (the sandbox view Mesos had) from
// the local Docker Engine, finding the container by its berth.task label.
// With Follow it streams until the task ends or ctx does.
func Logs(ctx context.Context, d Docker, taskID string, opts launch.LogOptions, stdout, stderr io.Writer) error {
	list, err := d.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", launch.LabelTask+"="+taskID)),
	})
	if err != nil {
		return fmt.Errorf("logs of task %s: list containers: %w", taskID, err)
	}
	if len(list) == 0 {
		return fmt.Errorf("logs of task %s: %w", taskID, launch.ErrNoTask)
	}
	tail := opts.Tail
	if tail == "" {
		tail = "all"
	}
	rc, err := d.ContainerLogs(ctx, list[0].ID, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail,
	})
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", taskID, err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of task %s: %w", taskID, err)
	}
	return nil
}
