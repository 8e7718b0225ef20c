package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// harness is one test's Docker, images and cleanup label.
type harness struct {
	t     testing.TB
	cli   *client.Client
	label string
	fc    *fakeCluster
	// configure, when set, edits each agent's Config before it starts.
	configure func(*Config)
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	testenv.Integration(t)
	cli := testenv.Docker(t)
	testenv.Images(t)
	return &harness{t: t, cli: cli, label: testenv.DockerTestLabel(t, cli), fc: newFakeCluster()}
}

func (h *harness) node(addr string) Node {
	return Node{
		ID:        "a-" + strings.ReplaceAll(addr, ".", "-") + "-" + h.label[len(h.label)-12:],
		Hostname:  "test-" + addr,
		Address:   addr,
		Resources: cluster.Resources{CPUs: 2, Mem: 1024, Disk: 1000},
		Ports:     []cluster.PortRange{{Begin: 31000, End: 32000}},
	}
}

// start runs an agent until the returned stop is called (or the test ends).
func (h *harness) start(node Node, reg Registry) (stop func()) {
	h.t.Helper()
	return h.startWith(node, reg, 0)
}

// startWith is start with a registry sync interval.
func (h *harness) startWith(node Node, reg Registry, sync time.Duration) (stop func()) {
	h.t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if os.Getenv("BERTH_TEST_QUIET") != "" {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := Config{
		Node: node, Runtime: dockerrt.New(h.cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: h.label}, Logger: log}),
		Cluster: h.fc, Registry: reg, DefaultKillGrace: time.Second, Logger: log, SyncInterval: sync,
	}
	if h.configure != nil {
		h.configure(&cfg)
	}
	ag, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("agent %s: %v", node.ID, err)
		}
	}
	h.t.Cleanup(stop)
	return stop
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func webTask(node Node, taskID string, hostPorts ...int) cluster.Assignment {
	spec := cluster.TaskSpec{
		Image:           testenv.WebImage,
		Env:             map[string]string{"WEB_PORTS": "80,8080"},
		Labels:          map[string]string{"team": "web", "public": "tag"},
		Resources:       cluster.Resources{CPUs: 0.1, Mem: 32},
		Network:         networkBridge,
		KillGracePeriod: time.Second,
	}
	names := []string{"http", "admin"}
	cports := []int{80, 8080}
	for i, hp := range hostPorts {
		spec.Ports = append(spec.Ports, cluster.PortSpec{Name: names[i], ContainerPort: cports[i], HostPort: hp, Protocol: "tcp"})
	}
	return cluster.Assignment{
		TaskID: taskID, Owner: cluster.OwnerApp, OwnerID: "/web/nginx", Version: "v1",
		AgentID: node.ID, Spec: spec, CreatedAt: time.Now(),
	}
}

func get(t *testing.T, url string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func getEventually(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, err := get(t, url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAgentRunsAWebTask(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	netName := "berth-test-" + h.label[len(h.label)-12:]
	node.Policy.Networks = []string{netName} // the USER network below
	h.start(node, nil)
	as := webTask(node, "web.1", testenv.FreePort(t, "127.0.0.2"), testenv.FreePort(t, "127.0.0.2"))
	h.fc.put(as)
	st := h.fc.waitState(t, "web.1", cluster.TaskRunning)
	if len(st.HostPorts) != 2 || st.HostPorts[0] == 0 || st.HostPorts[1] == 0 {
		t.Fatalf("host ports %v: want two bound ports", st.HostPorts)
	}
	// Reports within the agent's status window are written as the latest
	// only, so STAGING and STARTING may or may not be seen; never out of
	// order.
	if got := h.fc.states("web.1"); !inLifecycleOrder(got) {
		t.Errorf("states %v: want (STAGING,) (STARTING,) RUNNING", got)
	}
	base := "http://127.0.0.2:" + strconv.Itoa(st.HostPorts[0])
	if body := getEventually(t, base+"/"); !strings.Contains(body, "task=web.1") {
		t.Errorf("GET /: %q, want the task id", body)
	}
	env := getEventually(t, base+"/env")
	for _, want := range []string{
		"HOST=127.0.0.2", "MARATHON_APP_ID=/web/nginx", "BERTH_TASK_ID=web.1", "MESOS_TASK_ID=web.1",
		"PORT_HTTP=" + strconv.Itoa(st.HostPorts[0]), "PORT1=" + strconv.Itoa(st.HostPorts[1]),
		"PORTS=" + strconv.Itoa(st.HostPorts[0]) + "," + strconv.Itoa(st.HostPorts[1]), "MARATHON_APP_LABEL_TEAM=web",
	} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("env has no %s:\n%s", want, env)
		}
	}
	info, err := h.cli.ContainerInspect(context.Background(), st.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostConfig.Memory != 32<<20 || info.HostConfig.CPUShares != 102 || info.HostConfig.CPUQuota != 10000 {
		t.Errorf("limits: memory %d, shares %d, quota %d", info.HostConfig.Memory, info.HostConfig.CPUShares, info.HostConfig.CPUQuota)
	}
	if b := info.HostConfig.PortBindings; b["80/tcp"][0].HostIP != "127.0.0.2" {
		t.Errorf("port 80 bound on %+v, want the advertise address", b["80/tcp"])
	}

	// USER networking: the task joins the named Docker network and its
	// mapped port is still published on the advertise address.
	ctx := context.Background()
	if _, err := h.cli.NetworkCreate(ctx, netName, network.CreateOptions{Labels: map[string]string{testenv.TestLabel: h.label}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cli.NetworkRemove(context.Background(), netName) })
	user := webTask(node, "user.1", testenv.FreePort(t, "127.0.0.2"))
	user.Spec.Network, user.Spec.NetworkName = networkUser, netName
	h.fc.put(user)
	ust := h.fc.waitState(t, "user.1", cluster.TaskRunning)
	if body := getEventually(t, "http://127.0.0.2:"+strconv.Itoa(ust.HostPorts[0])+"/"); !strings.Contains(body, "task=user.1") {
		t.Errorf("USER network task answered %q", body)
	}
	uinfo, err := h.cli.ContainerInspect(ctx, ust.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := uinfo.NetworkSettings.Networks[netName]; !ok {
		t.Errorf("USER task networks %v: want %s", uinfo.NetworkSettings.Networks, netName)
	}
	h.fc.remove(node.ID, "user.1")
	waitGone(t, h.cli, ust.ContainerID)

	// Killing the assignment stops the task gracefully and keeps the
	// container for its logs; removing it removes the container.
	as.Kill = true
	h.fc.put(as)
	st = h.fc.waitState(t, "web.1", cluster.TaskKilled)
	if !strings.Contains(st.OutputTail, "exiting") {
		t.Errorf("KILLED output tail %q: want the task's last lines", st.OutputTail)
	}
	h.fc.remove(node.ID, "web.1")
	waitGone(t, h.cli, st.ContainerID)
}

func TestAgentJobsFinishAndFail(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	dir := t.TempDir()
	node.Policy.HostPaths = []string{dir}
	h.start(node, nil)
	job := func(id, code string) cluster.Assignment {
		return cluster.Assignment{TaskID: id, Owner: cluster.OwnerJob, OwnerID: "nightly", Version: "v1", AgentID: node.ID,
			Spec: cluster.TaskSpec{Image: testenv.JobImage, Args: []string{"x"}, Network: networkHost,
				Env: map[string]string{"EXIT_CODE": code, "SLEEP": "100ms"}}}
	}
	h.fc.put(job("ok.1", "0"))
	h.fc.put(job("bad.1", "3"))
	h.fc.put(cluster.Assignment{TaskID: "sh.1", Owner: cluster.OwnerJob, OwnerID: "shell", AgentID: node.ID,
		Spec: cluster.TaskSpec{Cmd: "echo hello from $CHRONOS_JOB_NAME; exit 0", Network: networkHost}})

	st := h.fc.waitState(t, "ok.1", cluster.TaskFinished)
	if st.ExitCode == nil || *st.ExitCode != 0 || !strings.Contains(st.OutputTail, `args ["x"]`) {
		t.Errorf("ok.1: exit %v tail %q", st.ExitCode, st.OutputTail)
	}
	st = h.fc.waitState(t, "bad.1", cluster.TaskFailed)
	if st.ExitCode == nil || *st.ExitCode != 3 || !strings.Contains(st.OutputTail, "exiting 3") {
		t.Errorf("bad.1: exit %v tail %q", st.ExitCode, st.OutputTail)
	}
	st = h.fc.waitState(t, "sh.1", cluster.TaskFinished)
	if st.OutputTail != "hello from shell" {
		t.Errorf("sh.1 tail %q: want the shell's output", st.OutputTail)
	}
	// berth logs reads the output of an ended task.
	var out, errOut strings.Builder
	if err := dockerrt.Logs(context.Background(), h.cli, "bad.1", launch.LogOptions{}, &out, &errOut); err != nil || !strings.Contains(out.String(), "exiting 3") {
		t.Errorf("Logs(bad.1): %v, %q", err, out.String())
	}
	if err := dockerrt.Logs(context.Background(), h.cli, "nope.1", launch.LogOptions{}, &out, &errOut); !errors.Is(err, launch.ErrNoTask) {
		t.Errorf("Logs of an unknown task: %v, want ErrNoTask", err)
	}

	// forcePullImage with no registry reachable: the local image still runs;
	// a missing image that cannot be pulled fails the task with the reason.
	forced := job("forced.1", "0")
	forced.Spec.ForcePullImage = true
	h.fc.put(forced)
	h.fc.waitState(t, "forced.1", cluster.TaskFinished)
	missing := job("missing.1", "0")
	missing.Spec.Image = "berth/does-not-exist:dev"
	h.fc.put(missing)
	st = h.fc.waitState(t, "missing.1", cluster.TaskFailed)
	if !strings.Contains(st.Message, "pull image berth/does-not-exist:dev") {
		t.Errorf("missing.1 message %q", st.Message)
	}

	// Host volumes: written through RW, refused through RO.
	vol := func(id string, ro bool) cluster.Assignment {
		return cluster.Assignment{TaskID: id, Owner: cluster.OwnerJob, OwnerID: "writer", AgentID: node.ID,
			Spec: cluster.TaskSpec{Cmd: "echo written > /data/" + id, Network: networkHost,
				Volumes: []cluster.VolumeSpec{{HostPath: dir, ContainerPath: "/data", ReadOnly: ro}}}}
	}
	h.fc.put(vol("rw.1", false))
	h.fc.put(vol("ro.1", true))
	h.fc.waitState(t, "rw.1", cluster.TaskFinished)
	if b, err := os.ReadFile(filepath.Join(dir, "rw.1")); err != nil || string(b) != "written\n" {
		t.Errorf("RW volume: %q, %v", b, err)
	}
	st = h.fc.waitState(t, "ro.1", cluster.TaskFailed)
	if !strings.Contains(st.OutputTail, "Read-only file system") {
		t.Errorf("RO volume: tail %q", st.OutputTail)
	}

	// A spec the agent cannot run fails with a message, not silently.
	h.fc.put(cluster.Assignment{TaskID: "priv.1", OwnerID: "/p", AgentID: node.ID,
		Spec: cluster.TaskSpec{Image: testenv.WebImage, Privileged: true}})
	st = h.fc.waitState(t, "priv.1", cluster.TaskFailed)
	if !strings.Contains(st.Message, "privileged") {
		t.Errorf("priv.1 message %q", st.Message)
	}
}

func TestAgentRestartAndExternalKill(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.3")
	stop := h.start(node, nil)
	h.fc.put(webTask(node, "keep.1", 0))
	h.fc.put(webTask(node, "drop.1", 0))
	killed := webTask(node, "killed.1", 0)
	h.fc.put(killed)
	keep := h.fc.waitState(t, "keep.1", cluster.TaskRunning)
	drop := h.fc.waitState(t, "drop.1", cluster.TaskRunning)
	h.fc.waitState(t, "killed.1", cluster.TaskRunning)
	killed.Kill = true
	h.fc.put(killed)
	killedBefore := h.fc.waitState(t, "killed.1", cluster.TaskKilled)

	// A container of another agent on the same daemon must survive.
	other := webTask(Node{ID: "someone-else", Address: "127.0.0.3"}, "foreign.1", 0)
	ctx := context.Background()
	foreignID, err := dockerrt.New(h.cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: h.label}}).
		Create(ctx, launch.Task{Node: launch.Node{ID: "someone-else", Address: "127.0.0.3"}, Assignment: other})
	if err != nil {
		t.Fatal(err)
	}
	foreign := struct{ ID string }{foreignID}

	stop()
	h.fc.remove(node.ID, "drop.1")
	h.start(node, nil)
	again := h.fc.waitFor(t, "keep.1", 30*time.Second, "re-attached RUNNING", func(s cluster.TaskStatus) bool {
		return s.State == cluster.TaskRunning && s.UpdatedAt.After(keep.UpdatedAt)
	})
	if again.ContainerID != keep.ContainerID || !again.StartedAt.Equal(keep.StartedAt) {
		t.Errorf("after restart: container %s started %v; want the same %s started %v", again.ContainerID, again.StartedAt, keep.ContainerID, keep.StartedAt)
	}
	waitGone(t, h.cli, drop.ContainerID)
	// A task this agent killed before the restart is still KILLED after it.
	h.fc.waitFor(t, "killed.1", 30*time.Second, "KILLED again", func(s cluster.TaskStatus) bool {
		return s.State == cluster.TaskKilled && s.UpdatedAt.After(killedBefore.UpdatedAt)
	})
	if _, err := h.cli.ContainerInspect(ctx, foreign.ID); err != nil {
		t.Errorf("foreign container: %v; the agent must never touch it", err)
	}

	// Killed by hand: reported FAILED with the signal's exit status.
	if err := h.cli.ContainerKill(ctx, keep.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	st := h.fc.waitState(t, "keep.1", cluster.TaskFailed)
	if st.ExitCode == nil || *st.ExitCode != 137 {
		t.Errorf("killed by hand: exit %v, want 137", st.ExitCode)
	}
}

func TestAgentKillsUnhealthyTasks(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	h.start(node, nil)
	as := webTask(node, "sick.1", 0)
	as.Spec.HealthChecks = []cluster.HealthCheckSpec{{
		Protocol: "HTTP", Path: "/health", PortIndex: 0,
		GracePeriod: 5 * time.Second, Interval: 200 * time.Millisecond, Timeout: time.Second, MaxConsecutiveFailures: 3,
	}}
	h.fc.put(as)
	st := h.fc.waitFor(t, "sick.1", 30*time.Second, "healthy", func(s cluster.TaskStatus) bool { return s.Health == cluster.HealthHealthy })
	resp, err := http.Post("http://127.0.0.2:"+strconv.Itoa(st.HostPorts[0])+"/fail", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st = h.fc.waitState(t, "sick.1", cluster.TaskKilled)
	if st.Health != cluster.HealthUnhealthy || !strings.Contains(st.Message, "health check") {
		t.Errorf("KILLED status %+v: want unhealthy with the reason", st)
	}

	// A COMMAND check runs inside the container through its shell.
	cmdTask := cluster.Assignment{TaskID: "cmd.1", Owner: cluster.OwnerApp, OwnerID: "/tools/sleeper", AgentID: node.ID,
		Spec: cluster.TaskSpec{Cmd: "touch /tmp/ok; exec sleep 3600", Network: networkBridge, KillGracePeriod: time.Second,
			HealthChecks: []cluster.HealthCheckSpec{{Protocol: "COMMAND", Command: "test -f /tmp/ok",
				Interval: 200 * time.Millisecond, Timeout: 2 * time.Second, MaxConsecutiveFailures: 2}}}}
	h.fc.put(cmdTask)
	st = h.fc.waitFor(t, "cmd.1", 30*time.Second, "healthy", func(s cluster.TaskStatus) bool { return s.Health == cluster.HealthHealthy })
	rm := exec.Command("docker", "exec", st.ContainerID, "rm", "/tmp/ok")
	if out, err := rm.CombinedOutput(); err != nil {
		t.Fatalf("docker exec rm: %v %s", err, out)
	}
	st = h.fc.waitState(t, "cmd.1", cluster.TaskKilled)
	if st.Health != cluster.HealthUnhealthy || !strings.Contains(st.Message, "COMMAND") {
		t.Errorf("cmd.1 KILLED status %+v: want unhealthy by the COMMAND check", st)
	}
}

func waitGone(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := cli.ContainerInspect(context.Background(), id)
		if cerrdefs.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still there", shortID(id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Network modes of cluster.TaskSpec.Network (Marathon's names).
const (
	networkBridge = "BRIDGE"
	networkHost   = "HOST"
	networkUser   = "USER"
)

// inLifecycleOrder says states, up to the first RUNNING, are STAGING then
// STARTING, either of them possibly coalesced away, and RUNNING comes.
func inLifecycleOrder(states []cluster.TaskState) bool {
	order := []cluster.TaskState{cluster.TaskStaging, cluster.TaskStarting, cluster.TaskRunning}
	next := 0
	for _, s := range states {
		i := slices.Index(order, s)
		if i < next {
			return false
		}
		if s == cluster.TaskRunning {
			return true
		}
		next = i + 1
	}
	return false
}
