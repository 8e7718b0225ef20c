package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/server"
)

var updateAPI = flag.Bool("update-api", false, "rewrite cmd/berth/testdata/api golden files")

// checkGolden compares got with testdata/api/name.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "api", name)
	if *updateAPI {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update-api creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update-api rewrites it)\ngot:\n%s\nwant:\n%s", path, t.Name(), got, want)
	}
}

var (
	goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	commitA   = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	commitB   = "9f2c1e0a7d3b5c4e6f8a0b1c2d3e4f5a6b7c8d9e"
)

func goldenApps() []reconciler.AppStatus {
	return []reconciler.AppStatus{
		{ID: "/db", Version: "v1a2b3c4d5e6f7", Sync: "Synced", Health: "Healthy", Message: "1/1 healthy", Instances: 1, Healthy: 1},
		{ID: "/web/nginx", Version: "v9e8d7c6b5a4f3", Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy, 2 old (2 healthy)", Instances: 1, Healthy: 1},
		{ID: "/web/api", Version: "v0000aaaabbbb", Sync: "OutOfSync", Health: "Degraded", Message: "0/2 healthy, launch delayed 30s after 3 failures",
			Unplaced: "no agent has 8 cpus free"},
		{ID: "/batch", Version: "v5555", Sync: "Synced", Health: "Suspended", Message: "0/0 healthy"},
	}
}

func TestRenderStatusGolden(t *testing.T) {
	srv := server.Status{ID: "s2", Role: "follower", Leader: "s1", LeaderAddress: "127.0.0.1:8080", Term: 4,
		Agents: []server.Agent{{ID: "a1", Address: "127.0.0.2", Reachable: true}, {ID: "a3", Address: "127.0.0.4"}, {ID: "a2", Address: "127.0.0.3"}}}
	sync := reconciler.Status{Head: commitB, Desired: commitA, Converged: false, LastSync: goldenNow.Add(-2 * time.Second),
		Rejected: &reconciler.CommitError{Commit: commitB, Since: goldenNow.Add(-5 * time.Minute),
			Errors: []string{"apps/web.yaml:7: instances: want a number >= 0, found \"three\"", "apps/db.yaml:2: id: /db is declared twice (also apps/db2.yaml:2)"}},
		Apps: goldenApps(), Orphans: []string{"/old"},
		Jobs: []decide.JobOutcome{
			{Name: "backup", Schedule: "R/2026-11-25T02:00:00Z/P1D", Next: goldenNow.Add(14 * time.Hour), LastState: "FINISHED", SuccessCount: 12, LastSuccess: goldenNow.Add(-10 * time.Hour)},
			{Name: "report", Parents: []string{"backup", "etl"}, LastState: "FAILED", ErrorCount: 2, Message: "exit status 1"},
			{Name: "old", Schedule: "R/2026-01-01T00:00:00Z/PT1H", Disabled: true},
		}}
	var buf bytes.Buffer
	renderStatus(&buf, mergeStatus(srv, sync), goldenNow)
	checkGolden(t, "status-rejected.text", buf.String())

	buf.Reset()
	renderStatus(&buf, mergeStatus(server.Status{ID: "s1", Role: "follower", Agents: []server.Agent{}}, reconciler.Status{}), goldenNow)
	checkGolden(t, "status-empty.text", buf.String())

	buf.Reset()
	if err := writeJSON(&buf, mergeStatus(srv, sync)); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "status-rejected.json", buf.String())

	// berth up's state restored from its backup is said in the status.
	buf.Reset()
	restored := server.Status{ID: "up", Role: "leader", Leader: "up", Agents: []server.Agent{},
		Warnings: []string{"state file .berth/state.json is empty: loaded the last good state from .berth/state.json.bak instead"}}
	renderStatus(&buf, mergeStatus(restored, reconciler.Status{}), goldenNow)
	if !strings.Contains(buf.String(), "Warning:    state file .berth/state.json is empty: loaded the last good state") {
		t.Errorf("the restore is not shown:\n%s", buf.String())
	}
}

func TestRenderTablesGolden(t *testing.T) {
	var buf bytes.Buffer
	renderApps(&buf, goldenApps())
	checkGolden(t, "apps.text", buf.String())

	exit := 0
	tasks := []cluster.Task{
		{Assignment: cluster.Assignment{TaskID: "web_nginx.b", Owner: cluster.OwnerApp, OwnerID: "/web/nginx", Version: "v9e8d7c6b5a4f3", AgentID: "a2",
			CreatedAt: goldenNow.Add(-90 * time.Second)}},
		{Assignment: cluster.Assignment{TaskID: "web_nginx.a", Owner: cluster.OwnerApp, OwnerID: "/web/nginx", Version: "v1111", AgentID: "a1", Kill: true,
			CreatedAt: goldenNow.Add(-3 * time.Hour)},
			Status: cluster.TaskStatus{State: cluster.TaskRunning, Health: cluster.HealthHealthy, HostPorts: []int{31000, 31001}, StartedAt: goldenNow.Add(-3 * time.Hour)}},
		{Assignment: cluster.Assignment{TaskID: "db.x", Owner: cluster.OwnerApp, OwnerID: "/db", Version: "v1a2b3c4d5e6f7", AgentID: "a1",
			CreatedAt: goldenNow.Add(-50 * time.Hour)},
			Status: cluster.TaskStatus{State: cluster.TaskRunning, Health: cluster.HealthUnhealthy, HostPorts: []int{31002}, StartedAt: goldenNow.Add(-49 * time.Hour)}},
		{Assignment: cluster.Assignment{TaskID: "backup.20261125", Owner: cluster.OwnerJob, OwnerID: "backup", Version: "v77", AgentID: "a2",
			CreatedAt: goldenNow.Add(-10 * time.Minute)},
			Status: cluster.TaskStatus{State: cluster.TaskFinished, ExitCode: &exit, StartedAt: goldenNow.Add(-10 * time.Minute)}},
	}
	buf.Reset()
	renderTasks(&buf, tasks, goldenNow)
	checkGolden(t, "tasks.text", buf.String())

	agents := []cluster.Agent{
		{ID: "a2", Address: "127.0.0.3", Resources: cluster.Resources{CPUs: 0.5, Mem: 512, Disk: 1536}, Ports: []cluster.PortRange{{Begin: 31000, End: 31000}},
			RegisteredAt: goldenNow.Add(-30 * time.Second)},
		{ID: "a1", Address: "127.0.0.2", Reachable: true, Resources: cluster.Resources{CPUs: 4, Mem: 8192, Disk: 102400},
			Ports: []cluster.PortRange{{Begin: 31000, End: 31099}, {Begin: 32000, End: 32010}}, Attributes: map[string]string{"rack": "r1", "az": "eu-1"},
			AllowPrivileged: true, Policy: cluster.AgentPolicy{HostPaths: []string{"/srv/data"}},
			RegisteredAt: goldenNow.Add(-72 * time.Hour)},
	}
	buf.Reset()
	running := map[string]int{}
	for _, tk := range tasks {
		if !tk.Kill && !tk.Status.State.Terminal() {
			running[tk.AgentID]++
		}
	}
	renderAgents(&buf, agents, running, goldenNow)
	checkGolden(t, "agents.text", buf.String())
}

func TestAge(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{-time.Second, "0s"}, {0, "0s"}, {119 * time.Second, "119s"}, {2 * time.Minute, "2m"}, {119 * time.Minute, "119m"},
		{2 * time.Hour, "2h"}, {47 * time.Hour, "47h"}, {48 * time.Hour, "2d"}} {
		if got := age(goldenNow.Add(-tt.d), goldenNow); got != tt.want {
			t.Errorf("age(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := age(time.Time{}, goldenNow); got != "-" {
		t.Errorf("age(zero) = %q", got)
	}
}

// runAPI runs the CLI in-process against a server and returns stdout,
// stderr and the error main would turn into an exit status.
func runAPI(t *testing.T, env *clienttest.Env, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	if env != nil {
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte(clienttest.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--server", env.URL, "--token-file", tokenFile)
	}
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

const cliWebApp = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: 32
container:
  type: DOCKER
  docker:
    image: berth/web:%s
    network: BRIDGE
  portMappings:
    - containerPort: 80
`

func webFiles(n int, tag string) map[string]string {
	return map[string]string{"apps/web.yaml": fmt.Sprintf(cliWebApp, n, tag)}
}

func TestReadCommandsAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	env := clienttest.Start(t, clienttest.Options{Agents: []string{"a1", "a2"}, Files: webFiles(3, "v1")})
	env.Converged(t, env.Reconciler.Status().Desired)
	commit := env.Reconciler.Status().Desired

	out, errs, err := runAPI(t, env, "status")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errs)
	}
	for _, want := range []string{"Server:     s1 (leader)", "Leader:     s1 at 127.0.0.1:", "term 1", "Commit:     " + commit[:12] + "\n",
		"Converged:  yes", "Agents:     2 reachable\n", "ID     SYNC     HEALTH    TASKS   HEALTHY   VERSION", "/web   Synced   Healthy   3       3"} {
		if !strings.Contains(out, want) {
			t.Errorf("berth status lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runAPI(t, env, "status", "-o", "json")
	if err != nil {
		t.Fatalf("status -o json: %v", err)
	}
	var doc struct {
		Leader string `json:"leader"`
		Commit string `json:"commit"`
		Apps   []struct{ ID, Sync, Health string }
		Agents []server.Agent
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("status -o json is not JSON: %v\n%s", err, out)
	}
	if doc.Leader != "s1" || doc.Commit != commit || len(doc.Apps) != 1 || doc.Apps[0].Sync != "Synced" || doc.Apps[0].Health != "Healthy" || len(doc.Agents) != 2 {
		t.Errorf("status -o json = %+v", doc)
	}

	out, _, err = runAPI(t, env, "apps")
	if err != nil || !strings.Contains(out, "/web   Synced   Healthy   3       3         ") {
		t.Errorf("apps: %v\n%s", err, out)
	}
	out, _, err = runAPI(t, env, "apps", "web", "-o", "json")
	var app reconciler.AppStatus
	if err != nil || json.Unmarshal([]byte(out), &app) != nil || app.ID != "/web" {
		t.Errorf("apps web -o json: %v\n%s", err, out)
	}
	_, _, err = runAPI(t, env, "apps", "/nope")
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: no app /nope in the desired state") {
		t.Errorf("apps /nope: %v", err)
	}

	out, _, err = runAPI(t, env, "tasks", "--app", "web")
	if err != nil || strings.Count(out, " /web ") != 3 || strings.Count(out, "RUNNING   healthy") != 3 {
		t.Errorf("tasks --app web: %v\n%s", err, out)
	}
	out, _, err = runAPI(t, env, "tasks", "-o", "json")
	var tasks []cluster.Task
	if err != nil || json.Unmarshal([]byte(out), &tasks) != nil || len(tasks) != 3 {
		t.Errorf("tasks -o json: %v\n%s", err, out)
	}
	out, errs, err = runAPI(t, env, "tasks", "--app", "/other")
	if err != nil || out != "" || !strings.Contains(errs, "no tasks of /other") {
		t.Errorf("tasks --app /other: %v, stdout %q, stderr %q", err, out, errs)
	}

	out, _, err = runAPI(t, env, "agents")
	if err != nil || !strings.Contains(out, "a1   127.0.0.2   yes         4      4Gi   9.8Gi   31000-31100") || !strings.Contains(out, "rack=r1") {
		t.Errorf("agents: %v\n%s", err, out)
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("agents printed %d lines, want a header and 2 agents:\n%s", n, out)
	}
	out, _, err = runAPI(t, env, "agents", "-o", "json")
	var agents []cluster.Agent
	if err != nil || json.Unmarshal([]byte(out), &agents) != nil || len(agents) != 2 {
		t.Errorf("agents -o json: %v\n%s", err, out)
	}
}

func TestCommandErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	env := clienttest.Start(t, clienttest.Options{ProtectReads: true})
	t.Chdir(t.TempDir()) // no .berth/token of a `berth up` here

	// No token for a server that protects reads: say how to give one.
	_, _, err := runAPI(t, nil, "apps", "--server", env.URL)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("apps without a token: %v", err)
	}
	// /v1/status is open, /v1/sync is not: print what could be read, exit 1.
	out, _, err := runAPI(t, nil, "status", "--server", env.URL)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "incomplete") || !strings.Contains(ee.msg, "--token-file") ||
		!strings.Contains(out, "Server:     s1 (leader)") {
		t.Errorf("status without a token on a server protecting reads: %v\n%s", err, out)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runAPI(t, nil, "sync", "--server", env.URL, "--token-file", wrong)
	if err == nil || !strings.Contains(err.Error(), "the token in "+wrong+" is not the server's") {
		t.Errorf("sync with a wrong token: %v", err)
	}
	_, _, err = runAPI(t, nil, "agents", "--server", env.URL, "--token-file", filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "read --token-file") {
		t.Errorf("missing token file: %v", err)
	}
	_, _, err = runAPI(t, env, "tasks", "-o", "yaml")
	if err == nil || !strings.Contains(err.Error(), `-o "yaml": want text or json`) {
		t.Errorf("-o yaml: %v", err)
	}
	_, _, err = runAPI(t, nil, "status", "--server", "127.0.0.1:8080")
	if err == nil || !strings.Contains(err.Error(), "--server: server URL") {
		t.Errorf("--server without a scheme: %v", err)
	}

	// The token `berth up` wrote in .berth/ is used for a server on this
	// machine, never for another.
	if err := os.Mkdir(".berth", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(upTokenFile, []byte(clienttest.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, err := runAPI(t, nil, "sync", "--server", env.URL); err != nil {
		t.Errorf("sync with the token of berth up: %v\n%s", err, errs)
	}
	for server, want := range map[string]bool{env.URL: true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://10.0.0.5:8080": false, "https://berth.example": false, "http://127.0.0.1.example:80": false} {
		if got := loopback(server); got != want {
			t.Errorf("loopback(%q) = %v, want %v", server, got, want)
		}
	}

	// $BERTH_SERVER and $BERTH_TOKEN_FILE are the defaults.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(clienttest.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_SERVER", env.URL)
	t.Setenv("BERTH_TOKEN_FILE", tokenFile)
	if _, errs, err := runAPI(t, nil, "agents"); err != nil {
		t.Errorf("agents from the environment: %v\n%s", err, errs)
	}
}
