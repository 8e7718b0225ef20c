package dockerrt

import (
	"errors"
	"path/filepath"

	"github.com/docker/docker/api/types/container"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/policy"
)

// volumeSource is the host path a volume binds: an absolute hostPath as it
// is, a relative one inside the task's sandbox (Mesos's reading). The agent
// has already checked that the latter resolves inside the sandbox.
func volumeSource(sandbox, hostPath string) (string, error) {
	if !policy.SandboxPath(hostPath) {
		return hostPath, nil
	}
	if sandbox == "" {
		return "", errors.New("hostPath " + hostPath + " is relative to the task's sandbox, and this agent keeps none (berth agent --sandbox-dir)")
	}
	return filepath.Join(sandbox, filepath.FromSlash(hostPath)), nil
}

// mountSandbox binds the task's sandbox at launch.SandboxPath, says so in
// $MESOS_SANDBOX, and makes it the working directory of a cmd, as the Mesos
// Docker containerizer did. A task with args keeps its image's working
// directory: its entrypoint may rely on it.
func mountSandbox(sandbox string, spec cluster.TaskSpec, cfg *container.Config, host *container.HostConfig) {
	if sandbox == "" {
		return
	}
	host.Binds = append(host.Binds, sandbox+":"+launch.SandboxPath+":rw")
	cfg.Env = append(cfg.Env, "MESOS_SANDBOX="+launch.SandboxPath)
	if spec.Cmd != "" {
		cfg.WorkingDir = launch.SandboxPath
	}
}
