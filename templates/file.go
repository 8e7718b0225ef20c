package templates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// defaultPerms is what a new file gets when the template sets no perms,
// consul-template's default.
const defaultPerms fs.FileMode = 0o644

// previous is what was at a destination before a write, so a failed
// validation can put it back exactly.
type previous struct {
	existed bool
	data    []byte
	perm    fs.FileMode
}

func readPrevious(path string) (previous, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return previous{}, nil
	}
	if err != nil {
		return previous{}, fmt.Errorf("stat %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return previous{}, fmt.Errorf("read %s: %w", path, err)
	}
	return previous{existed: true, data: data, perm: st.Mode().Perm()}, nil
}

// writeAtomic replaces path with data so that a reader sees the old file or
// the new one, never a mix: a temp file in the same directory, fsync,
// rename, fsync of the directory. perm 0 keeps the old file's mode (or uses
// 0644 for a new file).
func writeAtomic(path string, data []byte, perm fs.FileMode, prev previous) error {
	if perm == 0 {
		perm = defaultPerms
		if prev.existed {
			perm = prev.perm
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".berth-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	cleanup := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return cleanup(err)
	}
	if err := f.Sync(); err != nil {
		return cleanup(err)
	}
	if err := f.Chmod(perm); err != nil {
		return cleanup(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every filesystem supports syncing a directory
		d.Close()
	}
	return nil
}

// restore puts back what writeAtomic replaced, removing the file if there
// was none.
func restore(path string, prev previous) error {
	if !prev.existed {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	return writeAtomic(path, prev.data, prev.perm, prev)
}

// maxOutput bounds how much of a failing command's output goes into a status.
const maxOutput = 2048

// runShell runs a validate or reload command through /bin/sh with a
// timeout, killing its whole process group if it overruns. The error
// carries the command's combined output.
func runShell(ctx context.Context, command string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A daemon the command leaves behind may hold our pipes open; do not
	// wait for it forever.
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%q did not finish within %s", command, timeout)
	}
	if err != nil {
		text := strings.TrimSpace(out.String())
		if len(text) > maxOutput {
			text = text[:maxOutput] + "..."
		}
		if text != "" {
			return fmt.Errorf("%q: %w: %s", command, err, text)
		}
		return fmt.Errorf("%q: %w", command, err)
	}
	return nil
}
