package decide

import (
	"maps"
	"path"
	"strings"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// SandboxDir is where a task's sandbox is in its container, as Mesos's
// Docker containerizer mounted it ($MESOS_SANDBOX): persistent volumes and
// relative paths are under it.
const SandboxDir = "/mnt/mesos/sandbox"

// volumeSpecs turns an app's or job's volumes into the launch spec's. A
// persistent volume gets its Docker name only when its task is placed in a
// slot (withSlot), so the spec's version does not depend on the slot.
func volumeSpecs(vs []manifests.Volume) []cluster.VolumeSpec {
	var out []cluster.VolumeSpec
	for _, v := range vs {
		if v.Secret != "" {
			continue // a secret file (SecretSpecs), not a mount of the node's
		}
		ro := strings.EqualFold(v.Mode, "RO")
		switch {
		case v.Persistent != nil:
			out = append(out, cluster.VolumeSpec{ContainerPath: inSandbox(v.ContainerPath), Persistent: true})
		case v.External != nil:
			out = append(out, cluster.VolumeSpec{ContainerPath: inSandbox(v.ContainerPath), ReadOnly: ro,
				Name: v.External.Name, Driver: v.External.Driver(), DriverOptions: v.External.DriverOptions()})
		case v.HostPath != "" && !path.IsAbs(v.HostPath) && namesPersistent(vs, v.HostPath):
			// Marathon's Docker form: the persistent volume named by the
			// relative hostPath, mounted at an absolute path as well.
			out = append(out, cluster.VolumeSpec{ContainerPath: v.ContainerPath, ReadOnly: ro, Persistent: true,
				HostPath: inSandbox(v.HostPath)})
		default:
			out = append(out, cluster.VolumeSpec{HostPath: v.HostPath, ContainerPath: v.ContainerPath, ReadOnly: ro})
		}
	}
	return out
}

// namesPersistent reports whether hostPath is the containerPath of one of
// vs's persistent volumes; any other relative hostPath is a path in the
// task's sandbox.
func namesPersistent(vs []manifests.Volume, hostPath string) bool {
	for _, v := range vs {
		if v.Persistent != nil && path.Clean(v.ContainerPath) == path.Clean(hostPath) {
			return true
		}
	}
	return false
}

func inSandbox(p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(SandboxDir, p)
}

// withSlot names the persistent volumes of spec after slot: the Docker
// volumes that hold that instance's data on the slot's agent. A volume
// mounted a second time (the relative hostPath form) carries in HostPath
// the sandbox path of the volume it names, and gets that volume's name.
func withSlot(spec cluster.TaskSpec, slot string) cluster.TaskSpec {
	if slot == "" {
		return spec
	}
	vols := make([]cluster.VolumeSpec, len(spec.Volumes))
	for i, v := range spec.Volumes {
		if v.Persistent {
			of := v.ContainerPath
			if v.HostPath != "" {
				of, v.HostPath = v.HostPath, ""
			}
			v.Name = cluster.PersistentVolumeName(slot, strings.TrimPrefix(of, SandboxDir+"/"))
		}
		v.DriverOptions = maps.Clone(v.DriverOptions)
		vols[i] = v
	}
	spec.Volumes = vols
	return spec
}
