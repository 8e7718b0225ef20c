package dockerrt

import (
	"slices"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

func TestSandboxIsMountedAndRelativeVolumesBindInsideIt(t *testing.T) {
	spec := cluster.TaskSpec{Image: "x", Cmd: "./run.sh", Network: networkBridge,
		Volumes: []cluster.VolumeSpec{{HostPath: "conf/app.ini", ContainerPath: "/etc/app.ini", ReadOnly: true}}}
	l, err := buildLaunch(testNode, appAssignment(spec), "/var/lib/berth/sandboxes/a1/web.1", launchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/var/lib/berth/sandboxes/a1/web.1/conf/app.ini:/etc/app.ini:ro", "/var/lib/berth/sandboxes/a1/web.1:/mnt/mesos/sandbox:rw"} {
		if !slices.Contains(l.Host.Binds, want) {
			t.Errorf("binds %v lack %s", l.Host.Binds, want)
		}
	}
	if !slices.Contains(l.Config.Env, "MESOS_SANDBOX=/mnt/mesos/sandbox") || l.Config.WorkingDir != "/mnt/mesos/sandbox" {
		t.Errorf("env %v, workdir %q: want MESOS_SANDBOX and the sandbox as a cmd's working directory", l.Config.Env, l.Config.WorkingDir)
	}

	// args keep the image's working directory.
	l, err = buildLaunch(testNode, appAssignment(cluster.TaskSpec{Image: "x", Args: []string{"serve"}, Network: networkBridge}), "/sb", launchOptions{})
	if err != nil || l.Config.WorkingDir != "" {
		t.Errorf("args task: workdir %q, %v", l.Config.WorkingDir, err)
	}

	// Without a sandbox a relative hostPath has nothing to be relative to.
	_, err = buildLaunch(testNode, appAssignment(spec), "", launchOptions{})
	if err == nil || !strings.Contains(err.Error(), "--sandbox-dir") {
		t.Errorf("relative hostPath without a sandbox: %v", err)
	}
}
