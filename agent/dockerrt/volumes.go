package dockerrt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// addNamedVolume mounts a Docker named volume: a slot's persistent volume
// (created by Docker on first use with Berth's labels, so a release can find
// it) or an external volume of a volume driver (created by its driver if
// missing, with the volume's options).
func addNamedVolume(node launch.Node, a cluster.Assignment, v cluster.VolumeSpec, host *container.HostConfig, opts launchOptions) error {
	switch {
	case v.Name == "":
		return fmt.Errorf("persistent volume at %q has no slot: the leader places resident tasks in slots", v.ContainerPath)
	case v.HostPath != "":
		return fmt.Errorf("volume %q: a named volume has no hostPath", v.Name)
	case !path.IsAbs(v.ContainerPath) || strings.ContainsAny(v.ContainerPath+v.Name, ":\x00") || strings.Contains(v.Name, "/"):
		return fmt.Errorf("volume %q at %q: containerPath must be absolute and names must not contain ':' or '/'", v.Name, v.ContainerPath)
	case v.Persistent && (v.Driver != "" || len(v.DriverOptions) > 0):
		return fmt.Errorf("persistent volume %q: persistent volumes are local, with no driver or options", v.Name)
	case v.Driver == "local" && len(v.DriverOptions) > 0:
		// The local driver's options mount host paths and devices: that
		// would get round the agent's --allow-host-path.
		return fmt.Errorf("volume %q: options of the local volume driver are refused (they mount host paths)", v.Name)
	}
	m := mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: v.ContainerPath, ReadOnly: v.ReadOnly,
		VolumeOptions: &mount.VolumeOptions{}}
	if v.Persistent {
		labels := maps.Clone(opts.ExtraLabels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[launch.LabelAgent] = node.ID
		labels[launch.LabelApp] = a.OwnerID
		labels[launch.LabelSlot] = a.Slot
		labels[launch.LabelPersistent] = "true"
		m.VolumeOptions.Labels = labels
	} else if v.Driver != "" {
		m.VolumeOptions.DriverConfig = &mount.Driver{Name: v.Driver, Options: maps.Clone(v.DriverOptions)}
	}
	for _, o := range host.Mounts {
		if o.Target == m.Target {
			return fmt.Errorf("volume %q: %s is mounted twice", v.Name, m.Target)
		}
	}
	host.Mounts = append(host.Mounts, m)
	return nil
}

// dockerInfo and dockerVolumes are the Engine calls for volumes; the
// Docker client has them, a test double need not.
type dockerInfo interface {
	Info(ctx context.Context) (system.Info, error)
}

type dockerVolumes interface {
	VolumeInspect(ctx context.Context, id string) (volume.Volume, error)
	VolumeRemove(ctx context.Context, id string, force bool) error
}

var _ launch.Volumes = (*Runtime)(nil)

// VolumeDrivers implements launch.Volumes: the Engine's volume plugins, and
// local, which every Engine has.
func (r *Runtime) VolumeDrivers(ctx context.Context) ([]string, error) {
	d, ok := r.d.(dockerInfo)
	if !ok {
		return []string{"local"}, nil
	}
	info, err := d.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	out := append([]string{"local"}, info.Plugins.Volume...)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// RemoveVolumes implements launch.Volumes. Only volumes labelled as node's
// persistent volumes are removed: a forged release cannot remove anything
// else.
func (r *Runtime) RemoveVolumes(ctx context.Context, node string, names []string) error {
	d, ok := r.d.(dockerVolumes)
	if !ok {
		return errors.New("this Docker client cannot remove volumes")
	}
	var errs []error
	for _, n := range names {
		v, err := d.VolumeInspect(ctx, n)
		switch {
		case cerrdefs.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("inspect volume %s: %w", n, err))
			continue
		case v.Labels[launch.LabelPersistent] != "true" || v.Labels[launch.LabelAgent] != node:
			errs = append(errs, fmt.Errorf("volume %s is not a persistent volume of agent %s: left alone", n, node))
			continue
		}
		if err := d.VolumeRemove(ctx, n, false); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
