// Package dockerrt is the agent's Docker adapter: it implements
// launch.Runtime on a Docker Engine. It turns a task's resolved spec into a
// container (image, command, environment, ports bound on the node's advertise
// address, volumes, limits, the node's policy enforced once more), and
// creates, starts, watches, stops, inspects and removes it through the
// Engine API. Nothing above it knows Docker's types.
package dockerrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// Docker is the part of the Docker Engine client the runtime drives;
// *client.Client satisfies it.
type Docker interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecStart(ctx context.Context, execID string, opts container.ExecStartOptions) error
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
}

// Options shape every container the runtime creates.
type Options struct {
	// ShellImage runs a Marathon `cmd` for a task with no image (default
	// berth/shell:dev). Mesos ran such commands on the host itself; Berth
	// always isolates them.
	ShellImage string
	// ExtraLabels go on every container (tests use them to clean up).
	ExtraLabels map[string]string
	Logger      *slog.Logger
}

// launchOptions are the options buildLaunch reads.
type launchOptions = Options

// Runtime runs tasks as containers of one Docker Engine.
type Runtime struct {
	d    Docker
	opts Options
	log  *slog.Logger
}

var _ launch.Runtime = (*Runtime)(nil)

// New returns a runtime over d.
func New(d Docker, opts Options) *Runtime {
	if opts.ShellImage == "" {
		opts.ShellImage = "berth/shell:dev"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runtime{d: d, opts: opts, log: opts.Logger}
}

// Create implements launch.Runtime.
func (r *Runtime) Create(ctx context.Context, t launch.Task) (string, error) {
	l, err := buildLaunch(t.Node, t.Assignment, t.Sandbox, r.opts)
	if err != nil {
		return "", fmt.Errorf("task %s: %w", t.Assignment.TaskID, err)
	}
	if err := withSecrets(&l, t.Secrets); err != nil {
		return "", fmt.Errorf("task %s: %w", t.Assignment.TaskID, err)
	}
	if err := r.ensureImage(ctx, l.Image, t.Assignment.Spec.ForcePullImage); err != nil {
		return "", err
	}
	created, err := r.d.ContainerCreate(ctx, l.Config, l.Host, l.Net, nil, l.Name)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", l.Name, err)
	}
	return created.ID, nil
}

// ensureImage pulls ref when it is missing, or always with forcePullImage. A
// failed forced pull of an image that is present is only a warning: the
// task still runs what the node has, as Docker itself would.
func (r *Runtime) ensureImage(ctx context.Context, ref string, force bool) error {
	_, err := r.d.ImageInspect(ctx, ref)
	present := err == nil
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if present && !force {
		return nil
	}
	perr := r.pull(ctx, ref)
	switch {
	case perr == nil:
		return nil
	case present:
		r.log.Warn("forced pull failed; using the local image", "image", ref, "err", perr)
		return nil
	}
	return fmt.Errorf("pull image %s: %w", ref, perr)
}

func (r *Runtime) pull(ctx context.Context, ref string) error {
	rc, err := r.d.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// A pull's failure arrives in its progress stream, not as an error.
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// Start implements launch.Runtime.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := r.d.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", shortID(id), err)
	}
	return nil
}

// Inspect implements launch.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string, spec cluster.TaskSpec) (launch.State, error) {
	info, err := r.d.ContainerInspect(ctx, id)
	if err != nil {
		return launch.State{}, fmt.Errorf("inspect container %s: %w", shortID(id), err)
	}
	st := launch.State{HostPorts: hostPorts(spec, info)}
	if s := info.State; s != nil {
		st.Created = s.Status == "created"
		st.Running = s.Running
		st.ExitCode = s.ExitCode
		st.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
		if st.StartedAt.Year() <= 1 {
			st.StartedAt = time.Time{}
		}
	}
	return st, nil
}

// Wait implements launch.Runtime.
func (r *Runtime) Wait(ctx context.Context, id string) (<-chan int, <-chan error) {
	exits, errs := r.d.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	codes := make(chan int, 1)
	go func() {
		select {
		case w := <-exits:
			codes <- int(w.StatusCode)
		case <-ctx.Done():
		}
	}()
	return codes, errs
}

// Stop implements launch.Runtime.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int(math.Ceil(grace.Seconds()))
	if err := r.d.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", shortID(id), err)
	}
	return nil
}

// Remove implements launch.Runtime.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if err := r.d.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}

// Exec implements launch.Runtime.
func (r *Runtime) Exec(ctx context.Context, id, cmd string) (int, error) {
	ex, err := r.d.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"/bin/sh", "-c", cmd}})
	if err != nil {
		return -1, fmt.Errorf("exec %q: %w", cmd, err)
	}
	if err := r.d.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{Detach: true}); err != nil {
		return -1, fmt.Errorf("exec %q: %w", cmd, err)
	}
	for {
		info, err := r.d.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return -1, fmt.Errorf("exec %q: %w", cmd, err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("exec %q: %w", cmd, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Output implements launch.Runtime.
func (r *Runtime) Output(ctx context.Context, id string, lines int) string {
	rc, err := r.d.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(lines)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, io.LimitReader(rc, 64<<10)); err != nil {
		return ""
	}
	s := buf.String()
	if len(s) > 4096 {
		s = s[len(s)-4096:]
	}
	return strings.TrimRight(s, "\n")
}

// List implements launch.Runtime: the containers labelled for agentID.
// Other containers are never listed, so never touched.
func (r *Runtime) List(ctx context.Context, agentID string) ([]launch.Container, error) {
	list, err := r.d.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", launch.LabelAgent+"="+agentID)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of agent %s: %w", agentID, err)
	}
	var out []launch.Container
	for _, c := range list {
		if id := c.Labels[launch.LabelTask]; id != "" {
			out = append(out, launch.Container{ID: c.ID, TaskID: id})
		}
	}
	return out, nil
}

// Logs implements launch.Runtime.
func (r *Runtime) Logs(ctx context.Context, taskID string, opts launch.LogOptions, stdout, stderr io.Writer) error {
	return Logs(ctx, r.d, taskID, opts, stdout, stderr)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
