package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	marathon "github.com/gambol99/go-marathon"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// labelledApps join the walkthrough's apps in the dialect tests: a bridged
// app and a host-network app whose ports carry labels, which Prometheus's
// Marathon discovery turns into port labels.
var labelledApps = map[string]string{
	"apps/metrics/bridged.yaml": `kind: App
id: /metrics/bridged
instances: 2
cpus: 0.1
mem: 16
container:
  type: DOCKER
  docker:
    image: berth/web:dev
  portMappings:
    - containerPort: 80
      name: http
      labels: {metrics: /metrics}
    - containerPort: 81
      name: admin
networks:
  - mode: container/bridge
`,
	"apps/metrics/host.yaml": `kind: App
id: /metrics/host
instances: 1
cpus: 0.1
mem: 16
cmd: sleep 1000
portDefinitions:
  - port: 0
    name: http
    labels: {metrics: /metrics}
`,
}

// dialectEnv is a control plane following a repository with the
// walkthrough's examples, over an in-memory store and one played agent.
type dialectEnv struct {
	url, token string
	repo       *testenv.GitRepo
	files      map[string]string
	state      *cluster.State
}

func startDialectEnv(ctx context.Context, t *testing.T) *dialectEnv {
	t.Helper()
	files := testenv.Files(t, "../../examples")
	for k, v := range labelledApps {
		files[k] = v
	}
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", files, "the walkthrough")
	tokenFile := filepath.Join(t.TempDir(), "token")
	token := "dialect-test-token"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := memstore.New()
	store := tree.Client()
	logger := slog.New(slog.DiscardHandler)
	cp, err := newControlPlane(ctx, logger, store, controlFlags{repo: repo.FileURL(), branch: "main", cacheDir: t.TempDir(),
		poll: time.Hour, resync: 50 * time.Millisecond, prune: true, tokenFile: tokenFile, protectReads: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{ID: "s1", Store: store, Logger: logger, Lead: []server.LeadFunc{cp.rec.Run}})
	cp.mount(srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ctx, ln) }()
	st := cluster.NewState(tree.Client())
	playDialectAgent(ctx, t, st)
	return &dialectEnv{url: "http://" + ln.Addr().String(), token: token, repo: repo, files: files, state: st}
}

// playDialectAgent stands in for an agent (Docker is tested in package
// agent): it runs what is assigned, healthy, and stops what is killed.
func playDialectAgent(ctx context.Context, t *testing.T, st *cluster.State) {
	a := cluster.Agent{ID: "a1", Hostname: "a1", Address: "127.0.0.1", Reachable: true,
		Resources: cluster.Resources{CPUs: 8, Mem: 8192, Disk: 10000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31999}},
		// The walkthrough's nginx-1 mounts a host directory, as make run
		// allows it (scripts/run-examples.sh).
		Policy: cluster.AgentPolicy{HostPaths: []string{"/tmp/berth-examples"}}}
	if _, err := st.RegisterAgent(ctx, a); err != nil {
		t.Fatalf("register agent: %v", err)
	}
	go func() {
		for set := range st.WatchAssignments(ctx, a.ID, func(error) {}) {
			var sts []cluster.TaskStatus
			for _, as := range set {
				state := cluster.TaskRunning
				if as.Kill {
					state = cluster.TaskKilled
				}
				sts = append(sts, cluster.TaskStatus{TaskID: as.TaskID, AgentID: a.ID, State: state, Health: cluster.HealthHealthy,
					StartedAt: as.CreatedAt, UpdatedAt: time.Now()})
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
}

// get fetches path with the token as a basic-auth password.
func (e *dialectEnv) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	req.SetBasicAuth("reader", e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func waitUntil(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newMarathonClient(t *testing.T, e *dialectEnv) marathon.Marathon {
	t.Helper()
	cfg := marathon.NewDefaultConfig()
	cfg.URL = e.url
	cfg.HTTPBasicAuthUser, cfg.HTTPBasicPassword = "go-marathon", e.token
	cfg.EventsTransport = marathon.EventsTransportSSE
	cfg.HTTPClient = &http.Client{}
	c, err := marathon.NewClient(cfg)
	if err != nil {
		t.Fatalf("go-marathon client: %v", err)
	}
	return c
}

// runningTasks counts the running tasks go-marathon lists per app.
func runningTasks(t *testing.T, c marathon.Marathon) map[string]int {
	tasks, err := c.AllTasks(&marathon.AllTasksOpts{Status: "running"})
	if err != nil {
		t.Fatalf("go-marathon AllTasks: %v", err)
	}
	out := map[string]int{}
	for _, tk := range tasks.Tasks {
		out[tk.AppID]++
	}
	return out
}

// TestMarathonDialectWithGoMarathon reads the walkthrough with go-marathon,
// a Marathon client nobody here wrote: apps with their tasks, tasks, the
// leader, and the event stream through a scale committed to Git; a write
// comes back as Marathon's error naming the repository and branch.
func TestMarathonDialectWithGoMarathon(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := startDialectEnv(ctx, t)
	c := newMarathonClient(t, e)
	want := map[string]int{"/basic-0": 1, "/nginx": 1, "/nginx-1": 1, "/nginx-2": 1, "/tomcat-1": 1, "/metrics/bridged": 2, "/metrics/host": 1}
	waitUntil(t, "every app running", 30*time.Second, func() bool {
		got := runningTasks(t, c)
		for id, n := range want {
			if got[id] != n {
				return false
			}
		}
		return true
	})

	apps, err := c.Applications(map[string][]string{"embed": {"apps.tasks", "apps.deployments", "apps.readiness", "apps.lastTaskFailure"}})
	if err != nil {
		t.Fatalf("go-marathon Applications: %v", err)
	}
	if len(apps.Apps) != len(want) {
		t.Fatalf("got %d apps, want %d", len(apps.Apps), len(want))
	}
	for _, app := range apps.Apps {
		if len(app.Tasks) != want[app.ID] || app.TasksRunning != want[app.ID] {
			t.Errorf("app %s: %d tasks, %d running; want %d", app.ID, len(app.Tasks), app.TasksRunning, want[app.ID])
		}
		for _, tk := range app.Tasks {
			if tk.Host != "127.0.0.1" || tk.SlaveID != "a1" || tk.State != "TASK_RUNNING" || tk.AppID != app.ID {
				t.Errorf("task %+v", tk)
			}
		}
	}
	nginx, err := c.Application("/nginx")
	if err != nil {
		t.Fatalf("go-marathon Application: %v", err)
	}
	if len(nginx.Tasks) != 1 || len(nginx.Tasks[0].Ports) != 1 || len(nginx.Tasks[0].HealthCheckResults) != 1 || !nginx.Tasks[0].HealthCheckResults[0].Alive {
		t.Errorf("/nginx task: %+v", nginx.Tasks)
	}
	if pm := *nginx.Container.Docker.PortMappings; len(pm) != 1 || pm[0].ServicePort == 0 || pm[0].ContainerPort != 80 {
		t.Errorf("/nginx port mappings %+v: want container port 80 with an assigned service port", pm)
	}
	if leader, err := c.Leader(); err != nil || leader != strings.TrimPrefix(e.url, "http://") {
		t.Errorf("leader %q, %v", leader, err)
	}
	if ok, err := c.Ping(); !ok || err != nil {
		t.Errorf("ping: %v", err)
	}
	if info, err := c.Info(); err != nil || info.Leader != strings.TrimPrefix(e.url, "http://") || info.FrameworkID != "berth" {
		t.Errorf("info %+v, %v", info, err)
	}
	if groups, err := c.Groups(); err != nil || len(groups.Groups) != 1 || groups.Groups[0].ID != "/metrics" || len(groups.Apps) != 5 {
		t.Errorf("groups %+v, %v", groups, err)
	}
	// The tasks run before the leader's next pass says so: a settled
	// cluster soon lists no deployment.
	waitUntil(t, "no deployments once every app is settled", 30*time.Second, func() bool {
		deps, err := c.Deployments()
		return err == nil && len(deps) == 0
	})

	_, err = c.CreateApplication(marathon.NewDockerApplication().Name("/sneaky"))
	var apiErr *marathon.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "follows Git") || !strings.Contains(err.Error(), "branch main of "+e.repo.FileURL()) {
		t.Fatalf("CreateApplication: %v; want Marathon's error saying the cluster follows Git", err)
	}

	events, err := c.AddEventsListener(marathon.EventIDStatusUpdate | marathon.EventIDAPIRequest | marathon.EventIDDeploymentSuccess | marathon.EventIDDeploymentInfo)
	if err != nil {
		t.Fatalf("go-marathon AddEventsListener: %v", err)
	}
	defer c.RemoveEventsListener(events)
	time.Sleep(500 * time.Millisecond) // let the stream take its baseline
	e.repo.Change(t, "main", map[string]string{"apps/basic-0.json": strings.Replace(e.files["apps/basic-0.json"], `"instances": 1`, `"instances": 3`, 1)}, nil, "scale basic-0 to 3")
	req, _ := http.NewRequest("POST", e.url+"/v1/sync", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("sync: %v %v", resp, err)
	}
	var posted, deployed bool
	running := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for !posted || !deployed || len(running) < 2 {
		select {
		case ev := <-events:
			switch ev := ev.Event.(type) {
			case *marathon.EventAPIRequest:
				if ev.AppDefinition != nil && ev.AppDefinition.ID == "/basic-0" && ev.AppDefinition.Instances != nil && *ev.AppDefinition.Instances == 3 {
					posted = true
				}
			case *marathon.EventStatusUpdate:
				if ev.AppID == "/basic-0" && ev.TaskStatus == "TASK_RUNNING" {
					running[ev.TaskID] = true
				}
			case *marathon.EventDeploymentInfo:
				if deps, err := c.Deployments(); err != nil {
					t.Errorf("go-marathon Deployments during a rollout: %v", err)
				} else {
					for _, d := range deps {
						if len(d.AffectedApps) != 1 || len(d.CurrentActions) != 1 || d.TotalSteps != 1 {
							t.Errorf("deployment %+v", d)
						}
					}
				}
			case *marathon.EventDeploymentSuccess:
				// go-marathon hands each event to its own goroutine, so
				// the order they arrive in says nothing.
				deployed = true
			}
		case <-timeout:
			t.Fatalf("events through the scale: api_post_event %v, new running tasks %d, deployment_success %v", posted, len(running), deployed)
		}
	}
	if got := runningTasks(t, c)["/basic-0"]; got != 3 {
		t.Errorf("/basic-0 runs %d tasks after the scale, want 3", got)
	}
}

// TestMarathonDialectSchema validates what the API returns against
// Marathon's own JSON Schema (AppDefinition.json, Group.json) from the peer
// corpus, and reads the Chronos dialect and the text/plain task list.
func TestMarathonDialectSchema(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := startDialectEnv(ctx, t)
	// The peer corpus (shared/reference/peer) sits beside the repository
	// checkout; in a worktree elsewhere, /work/shared is the same corpus.
	schemaDir := "../../../shared/reference/peer/marathon/schema"
	if _, err := os.Stat(schemaDir); err != nil {
		schemaDir = "/work/shared/reference/peer/marathon/schema"
	}
	// Group.json's id places it in Marathon's repository and refers to
	// ./AppDefinition.json from there; both are loaded under that base.
	// Their "$schema" names no draft, but they are written for draft 4.
	const base = "https://raw.githubusercontent.com/mesosphere/marathon/master/docs/docs/rest-api/public/api/v2/schema/"
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft4)
	for _, name := range []string{"AppDefinition.json", "Group.json"} {
		f, err := os.Open(filepath.Join(schemaDir, name))
		if err != nil && os.Getenv("CI") == "" {
			t.Skipf("Marathon's JSON Schema not found (%v)", err)
		} else if err != nil {
			t.Fatalf("Marathon's JSON Schema not found: %v", err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		delete(doc.(map[string]any), "$schema")
		if err := comp.AddResource(base+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	appSchema, err := comp.Compile(base + "AppDefinition.json")
	if err != nil {
		t.Fatal(err)
	}
	groupSchema, err := comp.Compile(base + "Group.json")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "tasks of every app", 30*time.Second, func() bool {
		_, b := e.get(t, "/v2/tasks?status=running")
		var got struct{ Tasks []map[string]any }
		_ = json.Unmarshal(b, &got)
		return len(got.Tasks) == 8
	})

	code, b := e.get(t, "/v2/apps")
	if code != http.StatusOK {
		t.Fatalf("GET /v2/apps: %d %s", code, b)
	}
	var list struct{ Apps []map[string]any }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	for _, app := range list.Apps {
		id := app["id"].(string)
		code, b := e.get(t, "/v2/apps"+id)
		if code != http.StatusOK {
			t.Fatalf("GET /v2/apps%s: %d %s", id, code, b)
		}
		var one struct{ App map[string]any }
		if err := json.Unmarshal(b, &one); err != nil {
			t.Fatal(err)
		}
		if tasks, _ := one.App["tasks"].([]any); len(tasks) == 0 {
			t.Errorf("GET /v2/apps%s embeds no tasks", id)
		}
		// AppInfo's fields are outside AppDefinition.json, whose
		// additionalProperties is false.
		for _, k := range []string{"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments", "tasks",
			"readinessCheckResults", "lastTaskFailure"} {
			delete(one.App, k)
		}
		if err := appSchema.Validate(roundTrip(t, one.App)); err != nil {
			t.Errorf("app %s does not validate against AppDefinition.json: %v", id, err)
		}
	}
	code, b = e.get(t, "/v2/groups")
	if code != http.StatusOK {
		t.Fatalf("GET /v2/groups: %d %s", code, b)
	}
	var group any
	if err := json.Unmarshal(b, &group); err != nil {
		t.Fatal(err)
	}
	if err := groupSchema.Validate(roundTrip(t, group)); err != nil {
		t.Errorf("GET /v2/groups does not validate against Group.json: %v", err)
	}

	// text/plain, as marathon-lb's older versions read it.
	req, _ := http.NewRequest("GET", e.url+"/v2/tasks", nil)
	req.Header.Set("Accept", "text/plain")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var bridged []string
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "metrics_bridged\t") {
			bridged = append(bridged, line)
		}
	}
	if len(bridged) != 2 || strings.Count(bridged[0], "127.0.0.1:") != 2 {
		t.Errorf("text/plain tasks:\n%s\nwant two metrics_bridged lines (one per service port) with two tasks each", text)
	}

	// Without the token, reads are refused (--protect-reads).
	resp, err = http.Get(e.url + "/v2/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v2/apps without the token: %d, want 401", resp.StatusCode)
	}

	// Chronos.
	code, b = e.get(t, "/scheduler/jobs")
	var jobs []map[string]any
	if err := json.Unmarshal(b, &jobs); code != http.StatusOK || err != nil || len(jobs) != 2 {
		t.Fatalf("GET /scheduler/jobs: %d %s", code, b)
	}
	if code, b := e.get(t, "/scheduler/graph/csv"); code != http.StatusOK || !strings.Contains(string(b), "link,chronos-nginx,chronos-nginx-report\n") ||
		!strings.Contains(string(b), "node,chronos-nginx,") {
		t.Errorf("GET /scheduler/graph/csv: %d\n%s", code, b)
	}
	if code, b := e.get(t, "/scheduler/jobs/search?name=REPORT"); code != http.StatusOK || !strings.Contains(string(b), `"name":"chronos-nginx-report"`) ||
		strings.Contains(string(b), `"name":"chronos-nginx"`) {
		t.Errorf("GET /scheduler/jobs/search?name=REPORT: %d %s", code, b)
	}
	req, _ = http.NewRequest("DELETE", e.url+"/scheduler/job/chronos-nginx", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), "follows Git") {
		t.Errorf("DELETE /scheduler/job/chronos-nginx: %d %s", resp.StatusCode, msg)
	}
}

// roundTrip turns decoded JSON into the values the validator expects.
func roundTrip(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPrometheusMarathonDiscovery points Debian's prometheus, with
// marathon_sd_configs and basic auth, at the Marathon dialect: every running
// task of the walkthrough is a target, with Marathon's meta labels.
func TestPrometheusMarathonDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (scripts/install-deps.sh installs it)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := startDialectEnv(ctx, t)
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1h
scrape_configs:
  - job_name: berth
    marathon_sd_configs:
      - servers: [%q]
        refresh_interval: 1s
        basic_auth:
          username: prometheus
          password: %q
`, e.url, e.token)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := testenv.StartProcess(t, dir, bin, "--config.file=prometheus.yml", "--storage.tsdb.path=data", "--web.listen-address="+addr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus output:\n%s", p.Output())
		}
	})

	type target struct {
		DiscoveredLabels map[string]string `json:"discoveredLabels"`
	}
	var targets []target
	// 7 apps: one target per port of every running task (bridged has two
	// tasks with two ports each).
	const wantTargets = 1 + 1 + 1 + 1 + 1 + 2*2 + 1
	waitUntil(t, "prometheus to discover every task", 60*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/api/v1/targets")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				ActiveTargets []target `json:"activeTargets"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		targets = body.Data.ActiveTargets
		return len(targets) == wantTargets
	})
	_, b := e.get(t, "/v2/tasks?status=running")
	var tasks struct{ Tasks []struct{ ID, AppID string } }
	if err := json.Unmarshal(b, &tasks); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	labelled := 0
	for _, tg := range targets {
		l := tg.DiscoveredLabels
		found[l["__meta_marathon_task"]] = true
		if l["__meta_marathon_app"] == "" || l["__meta_marathon_port_index"] == "" || !strings.HasPrefix(l["__address__"], "127.0.0.1:") {
			t.Errorf("target without Marathon's meta labels: %v", l)
		}
		switch l["__meta_marathon_app"] {
		case "/metrics/bridged":
			if l["__meta_marathon_port_index"] == "0" {
				labelled++
				if l["__meta_marathon_port_mapping_label_metrics"] != "/metrics" {
					t.Errorf("bridged target without its port mapping label: %v", l)
				}
			}
		case "/metrics/host":
			labelled++
			if l["__meta_marathon_port_definition_label_metrics"] != "/metrics" {
				t.Errorf("host target without its port definition label: %v", l)
			}
		case "/nginx":
			if l["__meta_marathon_image"] != "berth/web:dev" {
				t.Errorf("/nginx target without its image: %v", l)
			}
		}
	}
	for _, tk := range tasks.Tasks {
		if !found[tk.ID] {
			t.Errorf("task %s of %s is not a Prometheus target", tk.ID, tk.AppID)
		}
	}
	if labelled != 3 {
		t.Errorf("%d targets with port labels, want 3", labelled)
	}
}
