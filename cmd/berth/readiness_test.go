package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// clusterEnv is one `berth server` and one `berth agent`, in this process,
// on a real ZooKeeper and the local Docker Engine, following a Git
// repository on disk.
type clusterEnv struct {
	api       string // the server's HTTP API
	advertise string // the agent's address: its tasks' ports are published there
	repo      *testenv.GitRepo
	label     string
	logsToken string // the file agent and server share
	// agentMetrics is the agent's GET /metrics (--metrics-listen).
	agentMetrics string
	serverLog    *agentLogBuffer
	agentLog     *agentLogBuffer
}

// startCluster starts the server and the agent; both stop with the test.
// Each test gets its own ZooKeeper path, agent id and loopback address, so
// nothing it starts can collide with another test's.
func startCluster(t *testing.T, files map[string]string, extraServer ...string) *clusterEnv {
	t.Helper()
	testenv.Integration(t)
	cli := testenv.Docker(t)
	testenv.Images(t)
	label := testenv.DockerTestLabel(t, cli)
	zk := testenv.StartZooKeeper(t, 1)
	id := testenv.UniqueID(t)
	h := fnv.New32a()
	h.Write([]byte(id))
	e := &clusterEnv{
		advertise: fmt.Sprintf("127.0.%d.%d", 10+h.Sum32()%200, 2+(h.Sum32()>>8)%250),
		repo:      testenv.NewGitRepo(t, t.TempDir()),
		label:     label,
		serverLog: &agentLogBuffer{},
		agentLog:  &agentLogBuffer{},
	}
	e.repo.Commit(t, "main", files, "first")
	url := zk.URL("/c-" + id)
	port := testenv.FreePort(t, "127.0.0.1")
	e.api = fmt.Sprintf("http://127.0.0.1:%d", port)
	// Agents' logs are fetched with a key derived from this token.
	e.logsToken = filepath.Join(t.TempDir(), "logs-token")
	if err := os.WriteFile(e.logsToken, []byte("logs-token-"+id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := fmt.Sprintf("%s:%d", e.advertise, testenv.FreePort(t, e.advertise))
	e.agentMetrics = "http://" + metricsAddr + "/metrics"
	ctx, cancel := context.WithCancel(context.Background())
	var dones []chan error
	run := func(log *agentLogBuffer, args ...string) {
		done := make(chan error, 1)
		dones = append(dones, done)
		go func() {
			root := newRootCmd(&bytes.Buffer{}, log)
			root.SetArgs(args)
			done <- root.ExecuteContext(ctx)
		}()
	}
	run(e.serverLog, append([]string{"server", "--zk", url, "--id", "s-" + id, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--repo", e.repo.FileURL(), "--branch", "main", "--cache-dir", t.TempDir(), "--poll", "500ms", "--resync", "200ms", "--agent-logs-token-file", e.logsToken}, extraServer...)...)
	run(e.agentLog, "agent", "--zk", url, "--id", "a-"+id, "--hostname", "a-"+id, "--advertise", e.advertise,
		"--resources", "cpus:2;mem:1024;disk:100;ports:[31000-31020]", "--consul", "",
		"--logs-listen", e.advertise+":0", "--logs-token-file", e.logsToken, "--metrics-listen", metricsAddr,
		"--label", testenv.TestLabel+"="+label)
	t.Cleanup(func() {
		cancel()
		for _, d := range dones {
			select {
			case <-d:
			case <-time.After(30 * time.Second):
				t.Errorf("a berth command did not stop")
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s\nagent log:\n%s", e.serverLog.String(), e.agentLog.String())
		}
	})
	return e
}

func (e *clusterEnv) tasks(t *testing.T) []cluster.Task {
	t.Helper()
	var tasks []cluster.Task
	resp, err := http.Get(e.api + "/v1/tasks")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil {
		return nil
	}
	return tasks
}

// waitTasks polls the API until ok holds for the tasks, and returns them.
func (e *clusterEnv) waitTasks(t *testing.T, within time.Duration, what string, ok func([]cluster.Task) bool) []cluster.Task {
	t.Helper()
	deadline := time.Now().Add(within)
	var tasks []cluster.Task
	for time.Now().Before(deadline) {
		if tasks = e.tasks(t); ok(tasks) {
			return tasks
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; tasks: %+v", what, within, tasks)
	return nil
}

const readyApp = `kind: App
id: /rdy
instances: 1
cpus: 0.1
mem: 32
container:
  docker: {image: berth/web:dev}
  portMappings: [{containerPort: 80, hostPort: 0, name: http}]
networks: [{mode: container/bridge}]
env: {WEB_PORTS: "80", HEALTH_FAIL: "%s"}
readinessChecks:
  - {name: ready, path: /health, portName: http, intervalSeconds: 2, timeoutSeconds: 1, preserveLastResponse: true}
upgradeStrategy: {minimumHealthCapacity: 1, maximumOverCapacity: 1}
`

// TestReadinessHoldsRollout: a rolling upgrade whose new task is running but
// not ready keeps the old task running, shows the new task's last readiness
// answer, and goes on as soon as the task says it is ready. The readiness
// check reads the web image's /health, which answers 503 from the start with
// HEALTH_FAIL=1 and 200 after POST /recover: ready on demand (the app has no
// health check, so nothing kills the task meanwhile).
func TestReadinessHoldsRollout(t *testing.T) {
	e := startCluster(t, map[string]string{"apps/rdy.yaml": fmt.Sprintf(readyApp, "0")})
	first := e.waitTasks(t, 240*time.Second, "the first version ready", func(ts []cluster.Task) bool {
		return len(ts) == 1 && ts[0].Status.State == cluster.TaskRunning && ts[0].Ready()
	})[0]
	e.repo.Change(t, "main", map[string]string{"apps/rdy.yaml": fmt.Sprintf(readyApp, "1")}, nil, "a version that waits")

	// The new task runs, answers 503 to its readiness check, and the old one stays.
	var fresh cluster.Task
	e.waitTasks(t, 240*time.Second, "the new task running and refused as not ready", func(ts []cluster.Task) bool {
		for _, tk := range ts {
			if tk.TaskID != first.TaskID && tk.Status.State == cluster.TaskRunning && len(tk.Status.Readiness) == 1 &&
				tk.Status.Readiness[0].LastResponse != nil {
				fresh = tk
				return true
			}
		}
		return false
	})
	r := fresh.Status.Readiness[0]
	if r.Ready || r.LastResponse.Status != 503 || r.LastResponse.Body != "unhealthy\n" || !strings.HasPrefix(r.LastResponse.ContentType, "text/plain") {
		t.Fatalf("readiness of the new task = %+v %+v, want not ready with the 503 preserved", r, r.LastResponse)
	}
	// Several probes later, the old task still runs and is not being killed.
	time.Sleep(5 * time.Second)
	for _, tk := range e.tasks(t) {
		if tk.TaskID == first.TaskID && (tk.Kill || tk.Status.State != cluster.TaskRunning) {
			t.Fatalf("the old task is being replaced before the new one is ready: %+v", tk)
		}
		if tk.TaskID == fresh.TaskID && tk.Ready() {
			t.Fatalf("the new task became ready by itself: %+v", tk.Status.Readiness)
		}
	}
	var st struct {
		Apps []struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		} `json:"apps"`
	}
	if resp, err := http.Get(e.api + "/v1/sync"); err == nil {
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	if b, _ := json.Marshal(st); !strings.Contains(string(b), "1 not ready") {
		t.Errorf("sync status does not say the task is not ready: %s", b)
	}

	// Ready on demand: the rollout finishes.
	resp, err := http.Post(fmt.Sprintf("http://%s:%d/recover", e.advertise, fresh.Status.HostPorts[0]), "text/plain", nil)
	if err != nil {
		t.Fatalf("POST /recover to the new task: %v", err)
	}
	resp.Body.Close()
	e.waitTasks(t, 180*time.Second, "the old task gone and the new one ready", func(ts []cluster.Task) bool {
		return len(ts) == 1 && ts[0].TaskID == fresh.TaskID && ts[0].Ready() &&
			ts[0].Status.Readiness[0].LastResponse != nil && ts[0].Status.Readiness[0].LastResponse.Status == 200
	})
}
