package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

// lockedBuffer is a command's output read while it still writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsThroughTheServer: `berth logs` asks the server, which finds the
// task's agent and streams the output from that agent's Docker Engine, with
// --tail and -f, on real Docker and ZooKeeper. The agent refuses anyone
// without its key.
func TestLogsThroughTheServer(t *testing.T) {
	e := startCluster(t, map[string]string{"apps/web.yaml": `kind: App
id: /logweb
cpus: 0.1
mem: 32
container:
  docker: {image: berth/web:dev}
  portMappings: [{containerPort: 80, hostPort: 0, name: http}]
networks: [{mode: container/bridge}]
env: {WEB_PORTS: "80"}
`})
	task := e.waitTasks(t, 150*time.Second, "the web task running", func(ts []cluster.Task) bool {
		return len(ts) == 1 && ts[0].Status.State == cluster.TaskRunning && len(ts[0].Status.HostPorts) == 1
	})[0]
	web := fmt.Sprintf("http://%s:%d", e.advertise, task.Status.HostPorts[0])
	// The agent's own metrics, on the same running agent: its one task,
	// the first full read of its assignments, Go's runtime.
	t.Run("agent metrics", func(t *testing.T) {
		resp, err := http.Get(e.agentMetrics)
		if err != nil {
			t.Fatalf("GET %s: %v", e.agentMetrics, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, want := range []string{"\nberth_agent_tasks 1\n", "\nberth_agent_cache_drift_total ", "\nberth_agent_cache_resyncs_total{reason=", "\ngo_goroutines "} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET %s: %d, no %q in:\n%s", e.agentMetrics, resp.StatusCode, want, body)
			}
		}
	})
	// RUNNING is the container started, not the server listening (the app
	// has no health check): Docker's proxy resets connections until then.
	for i := range 3 {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(fmt.Sprintf("%s/tail-%d", web, i))
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	logs := func(ctx context.Context, out *lockedBuffer, args ...string) error {
		root := newRootCmd(out, &bytes.Buffer{})
		root.SetArgs(append([]string{"logs", task.TaskID, "--server", e.api, "--token-file", ""}, args...))
		return root.ExecuteContext(ctx)
	}
	// --tail 2: the last two requests the task logged, nothing before.
	var out lockedBuffer
	deadline := time.Now().Add(20 * time.Second)
	for {
		out = lockedBuffer{}
		err := logs(context.Background(), &out, "--tail", "2")
		if err == nil && strings.Contains(out.String(), "/tail-2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth logs --tail 2: %v\n%s", err, out.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got := out.String(); !strings.Contains(got, "/tail-1") || strings.Contains(got, "/tail-0") || strings.Count(got, "\n") != 2 {
		t.Errorf("--tail 2 printed:\n%s", got)
	}
	// Everything: the start-up line too.
	out = lockedBuffer{}
	if err := logs(context.Background(), &out); err != nil || !strings.Contains(out.String(), "listening on :80") {
		t.Errorf("berth logs: %v\n%s", err, out.String())
	}

	// -f: a request made while following shows up.
	ctx, cancel := context.WithCancel(context.Background())
	var follow lockedBuffer
	done := make(chan error, 1)
	go func() { done <- logs(ctx, &follow, "-f", "--tail", "0") }()
	deadline = time.Now().Add(20 * time.Second)
	for i := 0; !strings.Contains(follow.String(), "/followed-"); i++ {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("berth logs -f never showed a new request:\n%s", follow.String())
		}
		if resp, err := http.Get(fmt.Sprintf("%s/followed-%d", web, i)); err == nil {
			resp.Body.Close()
		}
		time.Sleep(300 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("berth logs -f ended while the task runs: %v", err)
	default:
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("berth logs -f did not stop with its context")
	}

	// An unknown task is a clear error.
	if err := logs(context.Background(), &lockedBuffer{}, "--tail", "1"); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	root.SetArgs([]string{"logs", "no-such-task", "--server", e.api, "--token-file", ""})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "no task no-such-task") {
		t.Errorf("unknown task: %v", err)
	}

	// The agent's own endpoint: refused without the key, or with another.
	resp, err := http.Get(e.api + "/v1/agents")
	if err != nil {
		t.Fatal(err)
	}
	var agents []struct {
		LogsAddress string `json:"logsAddress"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&agents)
	resp.Body.Close()
	if len(agents) != 1 || agents[0].LogsAddress == "" {
		t.Fatalf("agents %+v: want one with its logs address", agents)
	}
	u := "http://" + agents[0].LogsAddress + "/v1/tasks/" + task.TaskID + "/logs?tail=1"
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("agent logs with %q: %d, want 401", auth, resp.StatusCode)
		}
	}
}
