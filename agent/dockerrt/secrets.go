package dockerrt

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berthops/berth/agent/launch"
)

// withSecrets adds a task's secrets to its container definition: each file
// is bind-mounted read-only from the agent's tmpfs; a shell command first
// sources the env file (mounted the same way), so the values are in the
// process's environment but not in the container's configuration, which
// Docker keeps on disk (config.v2.json) and shows in docker inspect. Only a
// task without a shell command (args) gets them in its configuration: there
// is no shell to read a file before its entrypoint runs (docs/security.md).
func withSecrets(l *definition, s *launch.Secrets) error {
	if s == nil {
		return nil
	}
	for _, f := range s.Files {
		if !path.IsAbs(f.ContainerPath) || strings.Contains(f.HostPath+f.ContainerPath, ":") {
			return fmt.Errorf("secret volume %q: an absolute path without ':' is needed", f.ContainerPath)
		}
		l.Host.Binds = append(l.Host.Binds, f.HostPath+":"+f.ContainerPath+":ro")
	}
	if s.EnvFile != "" {
		if len(l.Config.Cmd) != 1 || !slices.Equal([]string(l.Config.Entrypoint), []string{"/bin/sh", "-c"}) {
			return fmt.Errorf("secret environment variables from a file need a shell command (cmd)")
		}
		l.Host.Binds = append(l.Host.Binds, s.EnvFile+":"+launch.SecretEnvPath+":ro")
		// A line of its own: the command is unchanged whatever it holds
		// (comments, here-documents), and a missing file stops the task.
		l.Config.Cmd = []string{". " + launch.SecretEnvPath + " || exit 1\n" + l.Config.Cmd[0]}
	}
	names := make([]string, 0, len(s.Env))
	for k := range s.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		l.Config.Env = append(l.Config.Env, k+"="+s.Env[k])
	}
	return nil
}
