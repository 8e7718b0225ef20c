package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
	"github.com/spf13/pflag"
)

const upApp = `kind: App
id: /web
instances: 2
cpus: 0.1
mem: 32
container:
  type: DOCKER
  docker:
    image: berth/web:dev
  portMappings:
    - containerPort: 80
networks:
  - mode: container/bridge
env:
  WEB_PORTS: "80"
healthChecks:
  - protocol: HTTP
    path: /health
    gracePeriodSeconds: 10
    intervalSeconds: 1
    timeoutSeconds: 1
`

const upTemplate = `kind: Template
id: /web-upstream
destination: /etc/nginx/conf.d/web.conf
command: nginx -s reload
contents: |
  upstream web {
  {{- range service "web" }}
    server {{ .Address }}:{{ .Port }};
  {{- end }}
  }
`

// TestUpRunsAppsRendersTemplatesAndResumes is `berth up` end to end on the
// real Docker Engine: an app from a Git repository runs and answers on its
// published ports, its upstream is rendered from Berth's own catalog, and a
// restart of up re-attaches to the running containers instead of replacing
// them.
func TestUpRunsAppsRendersTemplatesAndResumes(t *testing.T) {
	testenv.Integration(t)
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": upApp, "templates/web.berth.yaml": upTemplate}, "web")
	up := newUpEnv(t, repo.FileURL(), "31500-31600", time.Second)
	dataDir, listen, start := up.fl.dataDir, up.fl.listen, up.start
	stop := start()
	tasks := waitHealthy(t, "http://"+listen, 2)
	for _, tk := range tasks {
		body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", tk.Status.HostPorts[0]))
		if !strings.Contains(body, tk.TaskID) {
			t.Errorf("task %s on port %d answered %q", tk.TaskID, tk.Status.HostPorts[0], body)
		}
	}
	rendered := filepath.Join(dataDir, "rendered", "etc", "nginx", "conf.d", "web.conf")
	waitFile(t, rendered, func(s string) bool {
		return strings.Contains(s, fmt.Sprintf("127.0.0.1:%d", tasks[0].Status.HostPorts[0])) &&
			strings.Contains(s, fmt.Sprintf("127.0.0.1:%d", tasks[1].Status.HostPorts[0]))
	})
	// The web UI's templates page reads the renders up makes itself.
	if body := get(t, "http://"+listen+"/v1/renders"); !strings.Contains(body, `"template": "/web-upstream"`) || !strings.Contains(body, `"rendered": true`) || !strings.Contains(body, rendered) {
		t.Errorf("GET /v1/renders = %s, want /web-upstream rendered to %s", body, rendered)
	}
	// One /metrics for the server and the built-in agent.
	if body := get(t, "http://"+listen+"/metrics"); !strings.Contains(body, "\nberth_agent_tasks 2\n") || !strings.Contains(body, "\nberth_leader 1\n") {
		t.Errorf("GET /metrics has no berth_agent_tasks 2 or berth_leader 1:\n%s", body)
	}
	stop()

	// A second berth up on the same data directory resumes: same tasks, same
	// containers, not restarted.
	stop = start()
	defer stop()
	again := waitHealthy(t, "http://"+listen, 2)
	for i := range tasks {
		if again[i].TaskID != tasks[i].TaskID || again[i].Status.ContainerID != tasks[i].Status.ContainerID {
			t.Errorf("task %d after restart: %s in %s, want %s in %s (healthy tasks must not be restarted)",
				i, again[i].TaskID, again[i].Status.ContainerID, tasks[i].TaskID, tasks[i].Status.ContainerID)
		}
	}
}

// upEnv is a berth up, run in this process on the real Docker Engine, over
// a repository: its own data directory, API port and range of host ports,
// its containers labelled for the test's cleanup.
type upEnv struct {
	t  *testing.T
	fl upFlags
}

func newUpEnv(t *testing.T, repoURL, ports string, poll time.Duration) *upEnv {
	t.Helper()
	cli := testenv.Docker(t)
	testenv.Images(t)
	label := testenv.DockerTestLabel(t, cli)
	fl := upFlags{dataDir: t.TempDir(), listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1")), advertise: "127.0.0.1",
		logLevel: "warn", agentID: "up-" + label, extraLabels: map[string]string{testenv.TestLabel: label},
		resources: "cpus:2;mem:1024;disk:1000;ports:[" + ports + "]"}
	fl.control = controlFlags{repo: repoURL, branch: "main", cacheDir: t.TempDir(), poll: poll, resync: 200 * time.Millisecond,
		prune: true, shellImage: "berth/shell:dev"}
	// The fetch limits' defaults, as the command line leaves them.
	fl.fetch.register(pflag.NewFlagSet("up", pflag.ContinueOnError), "", "")
	return &upEnv{t: t, fl: fl}
}

// start runs berth up until the returned stop is called.
func (e *upEnv) start() (stop func()) {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { done <- runUp(ctx, io.Discard, logger, e.fl) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("berth up: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("berth up did not stop")
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitHealthy(t *testing.T, api string, n int) []cluster.Task {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var tasks []cluster.Task
	for time.Now().Before(deadline) {
		tasks = nil
		resp, err := http.Get(api + "/v1/tasks")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&tasks)
			resp.Body.Close()
		}
		healthy := 0
		for _, tk := range tasks {
			if tk.Status.State == cluster.TaskRunning && tk.Status.Health == cluster.HealthHealthy && len(tk.Status.HostPorts) > 0 {
				healthy++
			}
		}
		if healthy == n && len(tasks) == n {
			return tasks
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no %d healthy tasks at %s: %+v", n, api, tasks)
	return nil
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitFile(t *testing.T, path string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if last = string(b); err == nil && ok(last) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never had the expected contents; last:\n%s", path, last)
}

// TestUpDataDir: the data directory is made private, and a second berth up
// on it is refused at once with the directory and the holder's pid; an empty
// state file is replaced by its backup, with a warning.
func TestUpDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	tree, err := openDataDir(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", info.Mode().Perm())
	}
	_, err = openDataDir(dir, logger)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("a second berth up on %s: %v", dir, err)
	}
	if err := tree.Client().Multi(context.Background(), cluster.Put("/x", []byte("1"))); err != nil {
		t.Fatal(err)
	}
	tree.Close()
	tree, _ = openDataDir(dir, logger)
	_ = tree.Client().Multi(context.Background(), cluster.Put("/x", []byte("2")))
	tree.Close()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tree, err = openDataDir(dir, logger)
	if err != nil {
		t.Fatalf("berth up on an empty state file with a backup: %v", err)
	}
	defer tree.Close()
	if !strings.Contains(log.String(), "restored from backup") {
		t.Errorf("no warning logged:\n%s", log.String())
	}
}

// TestUpDataDirLockAcrossProcesses: the data directory's lock holds against
// another process (this test binary run again as a holder), the refusal
// names that process's pid, and the kernel frees the lock when the holder
// dies without closing anything, so the next berth up starts.
func TestUpDataDirLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("BERTH_TEST_HOLD_DATA_DIR"); dir != "" {
		// The holder: open the data directory, say so, and wait to be
		// killed.
		if _, err := openDataDir(dir, slog.New(slog.DiscardHandler)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		select {}
	}
	dir := filepath.Join(t.TempDir(), "data")
	holder := exec.Command(os.Args[0], "-test.run=^TestUpDataDirLockAcrossProcesses$")
	holder.Env = append(os.Environ(), "BERTH_TEST_HOLD_DATA_DIR="+dir)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "holding" {
		t.Fatalf("the holder process: %q, %v", line, err)
	}

	_, err = openDataDir(dir, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", holder.Process.Pid)) {
		t.Fatalf("berth up beside another process on %s: %v, want a refusal naming pid %d", dir, err, holder.Process.Pid)
	}

	// Killed, not closed: the kernel releases the flock.
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	tree, err := openDataDir(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("berth up after the holder died: %v", err)
	}
	tree.Close()
}
