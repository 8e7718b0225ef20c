package policy

import (
	"path/filepath"
	"strings"
)

// SandboxPath reports whether a volume's hostPath names a path inside the
// task's own sandbox (relative, without ..), as Mesos read a relative
// hostPath. Such a volume needs no host-path consent: the agent resolves it
// inside the sandbox it made for the task, and refuses it if a symlink
// there leads out.
func SandboxPath(hostPath string) bool {
	return hostPath != "" && !strings.ContainsAny(hostPath, ":\x00") && filepath.IsLocal(filepath.FromSlash(hostPath))
}
