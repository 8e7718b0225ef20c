package reconciler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// residentYAML is a resident app: each start appends a line to a file on
// its persistent volume (mounted at /var/data as well, Marathon's Docker
// form) and prints the whole file, so the task's output shows every start
// the volume has seen.
func residentYAML(version string) string {
	return `kind: App
id: /vol/db
cmd: echo start-$V >> /var/data/log && cat $MNT/log && exec sleep 600
instances: 1
cpus: 0.1
mem: 32
portDefinitions: []
env: {V: "` + version + `", MNT: /mnt/mesos/sandbox/data}
container:
  docker: {image: ` + testenv.ShellImage + `}
  volumes:
    - {containerPath: data, mode: RW, persistent: {size: 100}}
    - {containerPath: /var/data, hostPath: data, mode: RW}
`
}

// externalYAML mounts the external volume name through Docker's local
// driver, Marathon's dvdi form.
func externalYAML(name string) string {
	return `{"id": "/vol/ext", "cmd": "cat /ext/hello && exec sleep 600", "instances": 1, "cpus": 0.1, "mem": 32,
 "portDefinitions": [],
 "container": {"type": "DOCKER", "docker": {"image": "` + testenv.ShellImage + `"},
   "volumes": [{"containerPath": "/ext", "mode": "RO",
     "external": {"name": "` + name + `", "provider": "dvdi", "options": {"dvdi/driver": "local"}}}]}}
`
}

const missingDriverJSON = `{"id": "/vol/nodriver", "cmd": "sleep 600", "instances": 1, "cpus": 0.1, "mem": 32, "portDefinitions": [],
 "container": {"type": "DOCKER", "docker": {"image": "berth/shell:dev"},
   "volumes": [{"containerPath": "/x", "mode": "RW",
     "external": {"name": "x", "provider": "dvdi", "options": {"dvdi/driver": "rexray"}}}]}}
`

func TestPersistentAndExternalVolumesOnRealCluster(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := testenv.Docker(t)
	// Labelled first, cleaned up last: after the containers of both agents.
	label := testenv.DockerTestLabel(t, cli)
	c := newJobsCluster(t, ctx, zk) // one agent ...
	defer cancel()
	second := "vol-agent-" + testenv.UniqueID(t) // ... and a second, so that staying put means something
	ag, err := agent.New(agent.Config{
		Node: agent.Node{ID: second, Hostname: second, Address: "127.0.0.3",
			Resources: cluster.Resources{CPUs: 4, Mem: 4096, Disk: 10000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}},
		Runtime: dockerrt.New(cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: label}}),
		Cluster: &agent.StateCluster{State: cluster.NewState(c.open(zk.Addrs()[0]))},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.goRun("second agent", func() error { return ag.Run(ctx) })

	// The external volume exists beforehand, as an operator's would,
	// labelled so the test's cleanup removes it.
	ext := "berth-test-ext-" + testenv.UniqueID(t)
	if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: ext, Driver: "local", Labels: map[string]string{testenv.TestLabel: label}}); err != nil {
		t.Fatal(err)
	}
	seed(t, ctx, cli, ext, label)

	repo := testenv.NewGitRepo(t, t.TempDir())
	files := map[string]string{"apps/db.yaml": residentYAML("1"), "apps/ext.json": externalYAML(ext), "apps/nodriver.json": missingDriverJSON}
	repo.Commit(t, "main", files, "resident and external volumes")
	r := c.serveR("s1", repo.FileURL())

	db := c.waitTask("/vol/db", "", func(tk cluster.Task) bool { return tk.Status.State == cluster.TaskRunning })
	if db.Slot == "" {
		t.Fatalf("resident task without a slot: %+v", db.Assignment)
	}
	c.waitOutput(cli, db.TaskID, "start-1\n")

	t.Run("external volume through the local driver", func(t *testing.T) {
		tk := c.waitTask("/vol/ext", "", func(tk cluster.Task) bool { return tk.Status.State == cluster.TaskRunning })
		c.waitOutput(cli, tk.TaskID, "hello from the operator\n")
	})
	t.Run("missing driver: Degraded with the reason", func(t *testing.T) {
		c.waitFor("nodriver Degraded", func() bool {
			for _, a := range r.Status().Apps {
				if a.ID == "/vol/nodriver" && a.Health == "Degraded" && strings.Contains(a.Unplaced, `volume driver "rexray" is not installed`) {
					return true
				}
			}
			return false
		})
	})

	// A restart: the container dies; its replacement runs on the same
	// agent, in the same slot, and finds the data.
	cid := containerOf(t, ctx, cli, db.TaskID)
	if err := cli.ContainerKill(ctx, cid, "KILL"); err != nil {
		t.Fatal(err)
	}
	restarted := c.waitTask("/vol/db", db.TaskID, func(tk cluster.Task) bool { return tk.Status.State == cluster.TaskRunning })
	if restarted.AgentID != db.AgentID || restarted.Slot != db.Slot {
		t.Fatalf("restarted on %s slot %s, want %s slot %s", restarted.AgentID, restarted.Slot, db.AgentID, db.Slot)
	}
	c.waitOutput(cli, restarted.TaskID, "start-1\nstart-1\n")

	// An upgrade: in place, on the same agent and slot, with the data.
	files["apps/db.yaml"] = residentYAML("2")
	repo.Commit(t, "main", files, "upgrade db")
	upgraded := c.waitTask("/vol/db", restarted.TaskID, func(tk cluster.Task) bool {
		return tk.Status.State == cluster.TaskRunning && tk.Version != restarted.Version
	})
	if upgraded.AgentID != db.AgentID || upgraded.Slot != db.Slot {
		t.Fatalf("upgraded on %s slot %s, want %s slot %s", upgraded.AgentID, upgraded.Slot, db.AgentID, db.Slot)
	}
	c.waitOutput(cli, upgraded.TaskID, "start-1\nstart-1\nstart-2\n")

	// Removing the app releases its slot: the agent removes the volume.
	delete(files, "apps/db.yaml")
	repo.Commit(t, "main", files, "remove db")
	vol := cluster.PersistentVolumeName(db.Slot, "data")
	c.waitFor("the persistent volume removed", func() bool {
		_, err := cli.VolumeInspect(ctx, vol)
		return cerrdefs.IsNotFound(err)
	})
	c.waitFor("the release forgotten", func() bool {
		tasks, err := c.obs.Tasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.OwnerID == "/vol/db" {
				return false
			}
		}
		return true
	})
}

// serveR is serve that returns the reconciler, to read its status.
func (c *jobsCluster) serveR(id, repoURL string) *reconciler.Reconciler {
	c.t.Helper()
	store := c.open(c.zk.Addrs()[0])
	src, err := reconciler.OpenGit(c.ctx, gitsource.Options{URL: repoURL, CacheDir: c.t.TempDir()})
	if err != nil {
		c.t.Fatal(err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: 200 * time.Millisecond, Resync: 100 * time.Millisecond,
		Pass: decide.Options{Prune: true}}, src, cluster.NewState(store))
	c.goRun("reconciler "+id, func() error {
		lead, err := cluster.Campaign(c.ctx, store, cluster.DirLeader, id)
		if err != nil {
			return err
		}
		err = r.Run(c.ctx, lead)
		if errors.Is(err, cluster.ErrClosed) || c.ctx.Err() != nil {
			return nil
		}
		return err
	})
	return r
}

// waitTask waits for a task of app other than not that satisfies ok.
func (c *jobsCluster) waitTask(app, not string, ok func(cluster.Task) bool) cluster.Task {
	c.t.Helper()
	var found cluster.Task
	defer func() {
		if c.t.Failed() {
			tasks, _ := c.obs.Tasks(context.Background())
			for _, tk := range tasks {
				c.t.Logf("task %s %s slot %s on %s kill=%v release=%v: %s %s", tk.OwnerID, tk.TaskID, tk.Slot, tk.AgentID, tk.Kill, tk.Release, tk.Status.State, tk.Status.Message)
			}
		}
	}()
	c.waitFor("a task of "+app, func() bool {
		tasks, err := c.obs.Tasks(c.ctx)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.OwnerID == app && tk.Owner == cluster.OwnerApp && tk.TaskID != not && !tk.Kill && ok(tk) {
				found = tk
				return true
			}
		}
		return false
	})
	return found
}

// waitOutput waits until the task's container has printed want.
func (c *jobsCluster) waitOutput(cli *client.Client, task, want string) {
	c.t.Helper()
	var got string
	c.waitFor(fmt.Sprintf("task %s to print %q (printed %q)", task, want, got), func() bool {
		got = logsOf(c.ctx, cli, containerOf(c.t, c.ctx, cli, task))
		return got == want
	})
}

func containerOf(t *testing.T, ctx context.Context, cli *client.Client, task string) string {
	t.Helper()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", launch.LabelTask+"="+task))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		return ""
	}
	return list[0].ID
}

func logsOf(ctx context.Context, cli *client.Client, id string) string {
	if id == "" {
		return ""
	}
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, rc); err != nil {
		return ""
	}
	return out.String() + errOut.String()
}

// seed writes a file into volume name with a short-lived container.
func seed(t *testing.T, ctx context.Context, cli *client.Client, name, label string) {
	t.Helper()
	cfg := &container.Config{Image: testenv.ShellImage, Entrypoint: []string{"/bin/sh", "-c"},
		Cmd: []string{"echo 'hello from the operator' > /v/hello"}, Labels: map[string]string{testenv.TestLabel: label}}
	host := &container.HostConfig{Binds: []string{name + ":/v"}}
	created, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
}
