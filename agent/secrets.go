package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/secrets"
)

// Secrets is how an agent receives its tasks' secrets: the leader seals
// them to Identity's recipient (published in the agent's record), and the
// agent opens them only to lay them out under Dir, which must be a tmpfs, so
// no value is ever written to a disk.
type Secrets struct {
	Identity *secrets.Identity
	Dir      string
}

// tmpfsMagic is Linux's TMPFS_MAGIC (statfs f_type).
const tmpfsMagic = 0x01021994

// LoadOrCreateIdentity reads the agent's age identity from file, or
// generates one and writes it there (mode 0600) at the first start.
func LoadOrCreateIdentity(file string) (*secrets.Identity, error) {
	f, err := os.Open(file)
	if err == nil {
		defer f.Close()
		id, err := secrets.ParseIdentity(f)
		if err != nil {
			return nil, fmt.Errorf("agent identity %s: %w", file, err)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("agent identity: %w", err)
	}
	id, text, err := secrets.GenerateIdentity()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("agent identity: %w", err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, text, 0o600); err != nil {
		return nil, fmt.Errorf("agent identity: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return nil, fmt.Errorf("agent identity: %w", err)
	}
	return id, nil
}

// CheckTmpfs makes dir (mode 0700) and checks that it is on a tmpfs.
func CheckTmpfs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets directory: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("secrets directory %s: %w", dir, err)
	}
	if int64(st.Type) != tmpfsMagic {
		return fmt.Errorf("secrets directory %s is not on a tmpfs: secret values would be written to a disk (use a directory under /dev/shm or /run)", dir)
	}
	return nil
}

func (s *Secrets) recipient() string {
	if s == nil || s.Identity == nil {
		return ""
	}
	return s.Identity.Recipient()
}

func (s *Secrets) taskDir(taskID string) string {
	return filepath.Join(s.Dir, strings.ReplaceAll(taskID, "/", "_"))
}

// layOut opens a task's sealed secrets and writes them under the task's
// own directory: one file per secret volume and, for a shell command, the
// env file it sources. Errors name secrets, never values.
func (s *Secrets) layOut(as cluster.Assignment) (*launch.Secrets, error) {
	spec := as.Spec
	if len(spec.Secrets) == 0 {
		return nil, nil
	}
	if s == nil || s.Identity == nil {
		return nil, errors.New("the task uses secrets but this agent has no secret identity (--state-dir)")
	}
	values, err := secrets.Unseal(spec, s.Identity)
	if err != nil {
		return nil, err
	}
	if err := CheckTmpfs(s.Dir); err != nil {
		return nil, err
	}
	dir := s.taskDir(as.TaskID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets of task %s: %w", as.TaskID, err)
	}
	out := &launch.Secrets{}
	var env []string
	for i, ref := range spec.Secrets {
		v := values[ref.Name]
		switch {
		case ref.Path != "":
			file := filepath.Join(dir, fmt.Sprintf("file-%d", i))
			// 0444: the container's user, whoever it is, reads the file;
			// on the host the directory (0700) keeps others out.
			if err := writeFile(file, []byte(v), 0o444); err != nil {
				return nil, fmt.Errorf("secret %q: %w", ref.Name, err)
			}
			out.Files = append(out.Files, launch.SecretFile{HostPath: file, ContainerPath: ref.Path})
		case ref.Env != "":
			if spec.Cmd == "" {
				if out.Env == nil {
					out.Env = map[string]string{}
				}
				out.Env[ref.Env] = v
				continue
			}
			env = append(env, "export "+ref.Env+"="+shellQuote(v)+"\n")
		}
	}
	if len(env) > 0 {
		sort.Strings(env)
		file := filepath.Join(dir, "env")
		if err := writeFile(file, []byte(strings.Join(env, "")), 0o444); err != nil {
			return nil, fmt.Errorf("secrets of task %s: %w", as.TaskID, err)
		}
		out.EnvFile = file
	}
	return out, nil
}

// forget removes a task's secret files once its container is gone.
func (s *Secrets) forget(taskID string) error {
	if s == nil || s.Dir == "" {
		return nil
	}
	return os.RemoveAll(s.taskDir(taskID))
}

func writeFile(name string, data []byte, mode os.FileMode) error {
	_ = os.Remove(name) // a relaunch rewrites a read-only file
	return os.WriteFile(name, data, mode)
}

// shellQuote quotes s for a POSIX shell: in single quotes, where nothing is
// special, each single quote of s ends the quoting, is escaped, and
// quoting starts again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
