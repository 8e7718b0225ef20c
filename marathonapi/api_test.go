package marathonapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// fixed is a Cluster over fixed values: the handlers' rendering is pure
// logic on them (package cmd/berth tests the whole over a real state).
type fixed struct {
	set    *manifests.Set
	apps   []AppStatus
	tasks  []cluster.Task
	agents []cluster.Agent
	ports  []cluster.ServicePort
	leader string
}

func (f *fixed) Desired() (*manifests.Set, string)                           { return f.set, "c0ffee" }
func (f *fixed) Apps() []AppStatus                                           { return f.apps }
func (f *fixed) Tasks(context.Context) ([]cluster.Task, error)               { return f.tasks, nil }
func (f *fixed) Agents(context.Context) ([]cluster.Agent, error)             { return f.agents, nil }
func (f *fixed) ServicePorts(context.Context) ([]cluster.ServicePort, error) { return f.ports, nil }
func (f *fixed) Leader(context.Context) (string, string, error)              { return "s1", f.leader, nil }
func (f *fixed) Subscribe(chan<- struct{}) func()                            { return func() {} }

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func loadSet(t *testing.T, yamls ...string) *manifests.Set {
	t.Helper()
	set, err := manifests.LoadBytes("apps.yaml", []byte(strings.Join(yamls, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const webYAML = `kind: App
id: /shop/web
instances: 2
cpus: 0.1
mem: 16
labels: {tier: front}
container:
  type: DOCKER
  docker: {image: berth/web:dev}
  portMappings:
    - {containerPort: 80, labels: {metrics: /metrics}}
    - {containerPort: 81}
networks: [{mode: container/bridge}]
healthChecks: [{protocol: HTTP, path: /health}]
`

const workerYAML = `kind: App
id: /worker
instances: 1
cpus: 0.1
mem: 16
cmd: sleep 1000
portDefinitions: []
`

func task(id, app string, state cluster.TaskState, health cluster.Health, ports ...int) cluster.Task {
	var specPorts []cluster.PortSpec
	for _, p := range ports {
		specPorts = append(specPorts, cluster.PortSpec{HostPort: p, Protocol: "tcp"})
	}
	return cluster.Task{
		Assignment: cluster.Assignment{TaskID: id, Owner: cluster.OwnerApp, OwnerID: app, Version: "v1", AgentID: "a1",
			Spec: cluster.TaskSpec{Ports: specPorts}, CreatedAt: t0},
		Status: cluster.TaskStatus{TaskID: id, AgentID: "a1", State: state, Health: health, StartedAt: t0.Add(time.Second), UpdatedAt: t0.Add(2 * time.Second)},
	}
}

func newFixed(t *testing.T) *fixed {
	return &fixed{
		set:  loadSet(t, webYAML, workerYAML),
		apps: []AppStatus{{ID: "/shop/web", Version: "v1"}, {ID: "/worker", Version: "v1", Deploying: true}},
		tasks: []cluster.Task{
			task("shop-web.1", "/shop/web", cluster.TaskRunning, cluster.HealthHealthy, 31001, 31002),
			task("shop-web.2", "/shop/web", cluster.TaskRunning, cluster.HealthUnknown, 31003, 31004),
			task("shop-web.0", "/shop/web", cluster.TaskFailed, cluster.HealthUnknown, 31005, 31006),
			task("worker.1", "/worker", cluster.TaskStaging, cluster.HealthUnknown),
		},
		agents: []cluster.Agent{{ID: "a1", Hostname: "node-1", Address: "10.0.0.5", Attributes: map[string]string{"zone": "a"}}},
		ports:  []cluster.ServicePort{{Port: 10000, AppID: "/shop/web", PortIndex: 0}, {Port: 10001, AppID: "/shop/web", PortIndex: 1}},
		leader: "10.0.0.1:8080",
	}
}

func serve(t *testing.T, c Cluster, o Options) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	o.Now = func() time.Time { return t0.Add(time.Hour) }
	for p, h := range Routes(c, o) {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"id": "/x"}`))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWritesSayTheClusterFollowsGit(t *testing.T) {
	srv := serve(t, newFixed(t), Options{Repo: "https://deploy:s3cret@git.example.com/ops/cluster.git", Branch: "main"})
	for _, w := range []struct{ method, path string }{
		{"POST", "/v2/apps"}, {"PUT", "/v2/apps/shop/web"}, {"DELETE", "/v2/apps/worker"}, {"PATCH", "/v2/apps"},
		{"POST", "/v2/apps/shop/web/restart"}, {"DELETE", "/v2/deployments/abc"}, {"PUT", "/v2/groups"}, {"POST", "/v2/eventSubscriptions"},
	} {
		code, body := do(t, w.method, srv.URL+w.path, nil)
		var msg struct{ Message string }
		if err := json.Unmarshal([]byte(body), &msg); err != nil || code != http.StatusForbidden {
			t.Errorf("%s %s: %d %s; want 403 with Marathon's {\"message\"}", w.method, w.path, code, body)
			continue
		}
		for _, want := range []string{"follows Git", "branch main of https://git.example.com/ops/cluster.git", w.path} {
			if !strings.Contains(msg.Message, want) {
				t.Errorf("%s %s: message %q does not say %q", w.method, w.path, msg.Message, want)
			}
		}
		if strings.Contains(body, "s3cret") || strings.Contains(body, "deploy@") {
			t.Errorf("%s %s: the repository's credentials leak: %s", w.method, w.path, body)
		}
	}
}

func TestProtectedReads(t *testing.T) {
	srv := serve(t, newFixed(t), Options{Token: "tok", ProtectReads: true})
	if code, _ := do(t, "GET", srv.URL+"/v2/apps", nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := do(t, "POST", srv.URL+"/v2/apps", nil); code != http.StatusUnauthorized {
		t.Errorf("a write without the token: %d, want 401 before anything is said about the cluster", code)
	}
	for _, auth := range []string{"Bearer tok", "token=tok", "Basic " + "cHJvbTp0b2s="} { // prom:tok
		if code, body := do(t, "GET", srv.URL+"/v2/apps", map[string]string{"Authorization": auth}); code != http.StatusOK {
			t.Errorf("%s: %d %s", auth, code, body)
		}
	}
	if code, body := do(t, "GET", srv.URL+"/ping", nil); code != http.StatusOK || body != "pong" {
		t.Errorf("/ping: %d %q; Marathon's liveness check is open", code, body)
	}
}

func TestAppsAndTasks(t *testing.T) {
	srv := serve(t, newFixed(t), Options{})
	code, body := do(t, "GET", srv.URL+"/v2/apps/?embed=apps.tasks&embed=apps.lastTaskFailure", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var list struct{ Apps []App }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Apps) != 2 {
		t.Fatalf("apps: %s", body)
	}
	web := list.Apps[0]
	if web.ID != "/shop/web" || len(web.Tasks) != 2 || *web.TasksRunning != 2 || *web.TasksHealthy != 1 || web.LastTaskFailure == nil ||
		web.LastTaskFailure.TaskID != "shop-web.0" || web.LastTaskFailure.State != "TASK_FAILED" {
		t.Errorf("/shop/web: %+v", web)
	}
	if pm := web.Container.PortMappings; len(pm) != 2 || pm[0].ServicePort != 10000 || pm[1].ServicePort != 10001 || pm[0].Labels["metrics"] != "/metrics" {
		t.Errorf("port mappings %+v", pm)
	}
	tk := web.Tasks[0]
	if tk.Host != "10.0.0.5" || tk.SlaveID != "a1" || tk.State != "TASK_RUNNING" || len(tk.Ports) != 2 || tk.Ports[1] != 31002 ||
		len(tk.ServicePorts) != 2 || tk.Zone != "a" || len(tk.HealthCheckResults) != 1 || !tk.HealthCheckResults[0].Alive {
		t.Errorf("task %+v", tk)
	}
	if len(web.Tasks[1].HealthCheckResults) != 0 {
		t.Errorf("a task without a health verdict has results: %+v", web.Tasks[1])
	}
	if worker := list.Apps[1]; len(worker.Deployments) != 1 || *worker.TasksStaged != 1 || worker.Networks[0].Mode != "host" {
		t.Errorf("/worker: %+v", worker)
	}

	code, body = do(t, "GET", srv.URL+"/v2/apps?label=tier==front", nil)
	if code != http.StatusOK || strings.Count(body, `"id":"/`) != 1 || !strings.Contains(body, `"/shop/web"`) {
		t.Errorf("label filter: %s", body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/apps/shop/web/tasks", nil)
	if code != http.StatusOK || strings.Count(body, `"appId":"/shop/web"`) != 2 {
		t.Errorf("/v2/apps/shop/web/tasks: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/apps/nope", nil)
	if code != http.StatusNotFound || !strings.Contains(body, `"message":"App '/nope' does not exist"`) {
		t.Errorf("unknown app: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/tasks?status=staging", nil)
	if code != http.StatusOK || !strings.Contains(body, `"worker.1"`) || strings.Contains(body, "shop-web") {
		t.Errorf("staging tasks: %s", body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/deployments", nil)
	if code != http.StatusOK || !strings.Contains(body, `"affectedApps":["/worker"]`) || !strings.Contains(body, `"action":"ScaleApplication"`) {
		t.Errorf("deployments: %s", body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/groups/shop", nil)
	if code != http.StatusOK || !strings.Contains(body, `"id":"/shop"`) || !strings.Contains(body, `"/shop/web"`) {
		t.Errorf("group /shop: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/leader", nil)
	if code != http.StatusOK || body != `{"leader":"10.0.0.1:8080"}`+"\n" {
		t.Errorf("leader: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/pods", nil)
	if code != http.StatusNotFound || !strings.Contains(body, `"message"`) {
		t.Errorf("unknown endpoint: %d %s", code, body)
	}
}

// TestTasksText is the text/plain list: a line per service port, running
// tasks only, and a host list for apps without service ports.
func TestTasksText(t *testing.T) {
	srv := serve(t, newFixed(t), Options{})
	code, body := do(t, "GET", srv.URL+"/v2/tasks", map[string]string{"Accept": "text/plain"})
	want := "shop_web\t10000\t10.0.0.5:31001\t10.0.0.5:31003\t\n" +
		"shop_web\t10001\t10.0.0.5:31002\t10.0.0.5:31004\t\n" +
		"worker\t \t\n"
	if code != http.StatusOK || body != want {
		t.Errorf("text/plain tasks:\n%q\nwant\n%q", body, want)
	}
}

// TestTaskMatchesTheRAML checks a rendered task and app against Marathon's
// RAML types: every required property is there, and nothing else is.
func TestTaskMatchesTheRAML(t *testing.T) {
	// The peer corpus sits beside the checkout (/work/wt/* worktrees use
	// /work/shared).
	dir := "../../shared/reference/peer/marathon/schema/raml"
	if _, err := os.Stat(dir); err != nil {
		dir = "/work/shared/reference/peer/marathon/schema/raml"
	}
	raml := func(file, typ string) (required, allowed map[string]bool) {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil && os.Getenv("CI") == "" {
			t.Skipf("Marathon's RAML not found: %v", err)
		} else if err != nil {
			t.Fatal(err)
		}
		var lib struct {
			Types map[string]struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"types"`
		}
		if err := yaml.Unmarshal(b, &lib); err != nil {
			t.Fatal(err)
		}
		required, allowed = map[string]bool{}, map[string]bool{}
		for name := range lib.Types[typ].Properties {
			base, optional := strings.CutSuffix(name, "?")
			allowed[base] = true
			required[base] = !optional
		}
		return required, allowed
	}
	check := func(what string, v any, required, allowed map[string]bool) {
		b, _ := json.Marshal(v)
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		var missing, extra []string
		for k, req := range required {
			if _, ok := got[k]; req && !ok {
				missing = append(missing, k)
			}
		}
		for k := range got {
			if !allowed[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s: missing %v, not in the RAML %v", what, missing, extra)
		}
	}
	f := newFixed(t)
	v, err := read(context.Background(), f, t0)
	if err != nil {
		t.Fatal(err)
	}
	web := v.set.App("/shop/web")
	req, allowed := raml("task.raml", "Task")
	check("Task", v.task(f.tasks[0], web), req, allowed)
	req, allowed = raml("task.raml", "TaskFailure")
	check("TaskFailure", v.failure(f.tasks[2]), req, allowed)
	// AppInfo is App plus its own properties.
	req, allowed = raml("app.raml", "App")
	_, info := raml("app.raml", "AppInfo")
	for k := range info {
		allowed[k] = true
	}
	check("AppInfo", v.app(web, embeds{tasks: true, counts: true, deployments: true, readiness: true, lastTaskFailure: true}), req, allowed)
}

// TestEvents follows a tracker through the changes a stream reports.
func TestEvents(t *testing.T) {
	f := newFixed(t)
	view := func(at time.Duration) *view {
		v, err := read(context.Background(), f, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	types := func(evs []Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Type)
			if e.Type == "status_update_event" {
				out[len(out)-1] += ":" + e.Fields["taskId"].(string) + ":" + e.Fields["taskStatus"].(string)
			}
		}
		return out
	}
	tr := newTracker()
	if evs := tr.diff(view(0)); len(evs) != 0 {
		t.Fatalf("the first view is the baseline, got %v", types(evs))
	}
	// The worker's task starts; the second web task turns healthy.
	f.tasks[3].Status.State = cluster.TaskRunning
	f.tasks[1].Status.Health = cluster.HealthHealthy
	f.apps[1].Deploying = false
	got := types(tr.diff(view(time.Second)))
	want := []string{"deployment_step_success", "deployment_success", "health_status_changed_event", "status_update_event:worker.1:TASK_RUNNING"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n%v\nwant\n%v", got, want)
	}
	// A commit scales web to 3 and drops the worker, whose task ends.
	f.set = loadSet(t, strings.Replace(webYAML, "instances: 2", "instances: 3", 1))
	f.apps = []AppStatus{{ID: "/shop/web", Version: "v1", Deploying: true}}
	f.tasks = f.tasks[:3]
	got = types(tr.diff(view(2 * time.Second)))
	want = []string{"api_post_event", "app_terminated_event", "deployment_info", "status_update_event:worker.1:TASK_KILLED"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n%v\nwant\n%v", got, want)
	}
	if evs := tr.diff(view(3 * time.Second)); len(evs) != 0 {
		t.Errorf("nothing changed, got %v", types(evs))
	}
}

// TestAppVersions: the version running now is listed and served, as
// Marathon's /versions endpoints do; an older one is refused with where its
// definition lives (Git).
func TestAppVersions(t *testing.T) {
	srv := serve(t, newFixed(t), Options{})
	code, body := do(t, "GET", srv.URL+"/v2/apps/shop/web/versions", nil)
	if code != http.StatusOK || body != `{"versions":["2026-12-01T10:00:00.000Z"]}`+"\n" {
		t.Errorf("versions: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/apps/shop/web/versions/2026-12-01T10:00:00.000Z", nil)
	var app App
	if err := json.Unmarshal([]byte(body), &app); code != http.StatusOK || err != nil || app.ID != "/shop/web" || app.Version != "2026-12-01T10:00:00.000Z" || app.Instances != 2 {
		t.Errorf("the current version: %d %s (%v)", code, body, err)
	}
	code, body = do(t, "GET", srv.URL+"/v2/apps/shop/web/versions/2026-11-01T10:00:00.000Z", nil)
	if code != http.StatusNotFound || !strings.Contains(body, "Git history of apps.yaml") {
		t.Errorf("an older version: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/v2/apps/nope/versions", nil)
	if code != http.StatusNotFound || !strings.Contains(body, `App '/nope' does not exist`) {
		t.Errorf("versions of an unknown app: %d %s", code, body)
	}
}
