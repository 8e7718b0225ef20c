package dockerrt

import (
	"strings"
	"testing"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// TestWithSecrets: files are read-only binds, a shell command sources the
// env file first and keeps its own text, and values are in the container's
// configuration only for a task without a shell.
func TestWithSecrets(t *testing.T) {
	as := appAssignment(cluster.TaskSpec{Cmd: "exec ./server # comment", Image: "x"})
	l, err := buildLaunch(testNode, as, "", launchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = withSecrets(&l, &launch.Secrets{Files: []launch.SecretFile{{HostPath: "/dev/shm/s/a/file-0", ContainerPath: "/etc/pw"}}, EnvFile: "/dev/shm/s/a/env"})
	if err != nil {
		t.Fatal(err)
	}
	binds := strings.Join(l.Host.Binds, " ")
	if !strings.Contains(binds, "/dev/shm/s/a/file-0:/etc/pw:ro") || !strings.Contains(binds, "/dev/shm/s/a/env:"+launch.SecretEnvPath+":ro") {
		t.Errorf("binds: %v", l.Host.Binds)
	}
	if want := ". " + launch.SecretEnvPath + " || exit 1\nexec ./server # comment"; len(l.Config.Cmd) != 1 || l.Config.Cmd[0] != want {
		t.Errorf("cmd %q, want %q", l.Config.Cmd, want)
	}
	args := appAssignment(cluster.TaskSpec{Args: []string{"serve"}, Image: "x"})
	if l, err = buildLaunch(testNode, args, "", launchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := withSecrets(&l, &launch.Secrets{EnvFile: "/dev/shm/env"}); err == nil {
		t.Errorf("an env file for a task without a shell was accepted")
	}
	if err := withSecrets(&l, &launch.Secrets{Env: map[string]string{"PW": "v"}}); err != nil || !strings.Contains(strings.Join(l.Config.Env, " "), "PW=v") {
		t.Errorf("env of an args task: %v %v", err, l.Config.Env)
	}
}
