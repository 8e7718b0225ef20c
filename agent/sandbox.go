package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthops/berth/policy"
)

// Sandboxes: each task gets a directory of its own under Config.SandboxDir
// (the Mesos sandbox), made before its container is created, holding its
// fetched artifacts, mounted in the container and removed with the task.
// The fetch cache lives elsewhere and outlives them.

// sandboxName is the directory name of a task's sandbox: the task id with
// anything a file name should not hold replaced, so any id maps to one
// plain name.
func sandboxName(taskID string) string {
	var b strings.Builder
	for _, r := range taskID {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || strings.Trim(name, ".") == "" {
		name = "_" + name
	}
	return name
}

// sandboxPath is the sandbox of a task, or "" when the agent keeps none.
func (a *Agent) sandboxPath(taskID string) string {
	if a.cfg.SandboxDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.SandboxDir, sandboxName(taskID))
}

// prepareSandbox makes the task's sandbox afresh (a launch retried after a
// restart must not find half a fetch), fetches the task's artifacts into it
// and checks that every sandbox-relative volume stays inside it. An error
// fails the launch; it names the URI and the reason.
func (t *task) prepareSandbox(ctx context.Context) (string, error) {
	spec := t.as.Spec
	dir := t.ag.sandboxPath(t.as.TaskID)
	if dir == "" {
		if len(spec.Fetch) > 0 {
			return "", fmt.Errorf("the task has artifacts to fetch and this agent keeps no sandboxes (berth agent --sandbox-dir)")
		}
		return "", nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear the sandbox %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the sandbox %s: %w", dir, err)
	}
	if len(spec.Fetch) > 0 {
		if t.ag.cfg.Fetcher == nil {
			return "", fmt.Errorf("the task has artifacts to fetch and this agent has no fetcher")
		}
		if err := t.ag.cfg.Fetcher.Fetch(ctx, dir, spec.Fetch); err != nil {
			return "", err
		}
	}
	for i, v := range spec.Volumes {
		if !policy.SandboxPath(v.HostPath) {
			continue
		}
		// Docker follows symlinks on the host: a fetched link must not
		// turn a sandbox volume into a mount of anything else.
		resolved := resolveExisting(filepath.Join(dir, filepath.FromSlash(v.HostPath)))
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", err
		}
		if rel, err := filepath.Rel(real, resolved); err != nil || !filepath.IsLocal(rel) && rel != "." {
			return "", fmt.Errorf("volumes[%d]: hostPath %q resolves to %s, outside the task's sandbox", i, v.HostPath, resolved)
		}
	}
	return dir, nil
}

// removeSandbox deletes a task's sandbox once its container is gone.
func (a *Agent) removeSandbox(taskID string) {
	dir := a.sandboxPath(taskID)
	if dir == "" {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		a.log.Warn("remove sandbox", "task", taskID, "dir", dir, "err", err)
	}
}

// cleanSandboxes removes the sandboxes of tasks this agent does not
// supervise, left by a stop between a task's removal and its sandbox's. It
// runs once, after the first assignments are read.
func (a *Agent) cleanSandboxes(tasks map[string]*task) {
	if a.cfg.SandboxDir == "" {
		return
	}
	wanted := map[string]bool{}
	for id := range tasks {
		wanted[sandboxName(id)] = true
	}
	entries, err := os.ReadDir(a.cfg.SandboxDir)
	if err != nil {
		if !os.IsNotExist(err) {
			a.log.Warn("list sandboxes", "dir", a.cfg.SandboxDir, "err", err)
		}
		return
	}
	for _, e := range entries {
		if e.IsDir() && !wanted[e.Name()] {
			a.log.Info("removing the sandbox of a task no assignment wants", "dir", e.Name())
			if err := os.RemoveAll(filepath.Join(a.cfg.SandboxDir, e.Name())); err != nil {
				a.log.Warn("remove stale sandbox", "dir", e.Name(), "err", err)
			}
		}
	}
}
