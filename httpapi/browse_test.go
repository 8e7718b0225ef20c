package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/reconcilertest"
)

// TestBrowseParameters checks the web UI's paging, filters and joins over a
// leading loop that runs /web x2 on one played agent.
func TestBrowseParameters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, st, r, _ := reconcilertest.StartLoop(ctx, t, nil)
	reconcilertest.WaitFor(t, ctx, "converged", func() bool { s := r.Status(); return s.Converged && len(s.Apps) == 1 })
	mux := http.NewServeMux()
	for p, h := range Routes(r, st, Options{Token: "tok"}) {
		mux.Handle(p, h)
	}
	get := func(path string, want int, v any) http.Header {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Fatalf("GET %s = %d (%s), want %d", path, rec.Code, rec.Body, want)
		}
		if v != nil {
			if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		return rec.Header()
	}

	var tasks []cluster.Task
	if h := get("/v1/tasks?app=/web&limit=1&offset=1", 200, &tasks); len(tasks) != 1 || h.Get("X-Total-Count") != "2" {
		t.Errorf("a page of 1 from 1: %d tasks, total %q; want 1 of 2", len(tasks), h.Get("X-Total-Count"))
	}
	if get("/v1/tasks?agent=a1&state=RUNNING", 200, &tasks); len(tasks) != 2 {
		t.Errorf("?agent=a1&state=RUNNING: %d tasks, want 2", len(tasks))
	}
	if get("/v1/tasks?agent=nope", 200, &tasks); len(tasks) != 0 {
		t.Errorf("?agent=nope: %d tasks, want 0", len(tasks))
	}
	if h := get("/v1/tasks", 200, &tasks); len(tasks) != 2 || h.Get("X-Total-Count") != "2" || h.Get("X-Next-Cursor") != "" {
		t.Errorf("no paging asked: %d tasks, X-Total-Count %q, next %q; want the first (and only) page of 2", len(tasks), h.Get("X-Total-Count"), h.Get("X-Next-Cursor"))
	}
	if h := get("/v1/tasks?app=/web&limit=1", 200, &tasks); len(tasks) != 1 || h.Get("X-Next-Cursor") == "" || !strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("a page of 1 of 2: %d tasks, headers %v; want a next cursor and link", len(tasks), h)
	} else if get("/v1/tasks?app=/web&limit=1&cursor="+h.Get("X-Next-Cursor"), 200, &tasks); len(tasks) != 1 {
		t.Errorf("the second page: %d tasks, want 1", len(tasks))
	}
	if get("/v1/tasks?health=healthy&state=RUNNING", 200, &tasks); len(tasks) != 2 {
		t.Errorf("?health=healthy&state=RUNNING: %d tasks, want 2", len(tasks))
	}
	get("/v1/tasks?cursor=bm90LWEtY3Vyc29y", 400, nil)
	get("/v1/tasks?limit=501", 400, nil)
	get("/v1/tasks?offset=-1", 400, nil)

	var apps []AppRow
	get("/v1/apps?q=WE&counts=1", 200, &apps)
	if len(apps) != 1 || apps[0].Running == nil || *apps[0].Running != 2 || *apps[0].Staged != 0 {
		t.Errorf("?q=WE&counts=1 = %+v, want /web with 2 running, 0 staged", apps)
	}
	if get("/v1/apps?health=Degraded", 200, &apps); len(apps) != 0 {
		t.Errorf("?health=Degraded = %+v, want none", apps)
	}

	var agents []AgentRow
	get("/v1/agents?usage=1&q=a1", 200, &agents)
	if len(agents) != 1 || agents[0].Tasks == nil || *agents[0].Tasks != 2 || agents[0].Used.CPUs < 0.19 {
		t.Errorf("?usage=1 = %+v, want a1 with 2 tasks using 0.2 cpus", agents)
	}

	var plain []AgentRow
	if get("/v1/agents", 200, &plain); len(plain) != 1 || plain[0].Used != nil || plain[0].Tasks != nil {
		t.Errorf("/v1/agents without ?usage=1 = %+v, want no usage", plain)
	}

	var sum StatusSummary
	get("/v1/sync?summary=1", 200, &sum)
	if sum.AppCount != 1 || sum.AppsBySync["Synced"] != 1 || sum.AppsByHealth["Healthy"] != 1 || len(sum.Apps) != 0 {
		t.Errorf("summary = %+v, want 1 app, synced and healthy, and no list", sum)
	}

	var mf struct {
		Commit, File, Source string
		Line                 int
	}
	get("/v1/manifest?app=/web", 200, &mf)
	if _, commit := r.Desired(); mf.File != "apps/web.yaml" || mf.Line != 1 || mf.Commit != commit || !strings.Contains(mf.Source, "id: /web") {
		t.Errorf("manifest = %+v", mf)
	}
	get("/v1/manifest?app=/nope", 404, nil)
	get("/v1/manifest", 400, nil)
}

// TestBrowsePagesStayUnderAMegabyte is the web UI's size target: every
// request its pages make stays under 1 MB whatever the cluster's size. The
// paged answers do not grow with it, so 15,000 tasks of 500 apps on 500
// agents show it; at 150,000 every full read of the tasks from the store
// takes seconds on a loaded 2-core machine (the scale issue's business),
// which would make this test a minute long.
func TestBrowsePagesStayUnderAMegabyte(t *testing.T) {
	if testing.Short() {
		t.Skip("15,000 tasks: skipped with -short")
	}
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	const agents, apps, perApp = 500, 500, 30
	var batch cluster.Batch
	for i := range agents {
		if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%04d", i), Hostname: fmt.Sprintf("node-%04d.example", i),
			Address: "10.0.0.1", Resources: cluster.Resources{CPUs: 32, Mem: 131072, Disk: 1e6}, Ports: []cluster.PortRange{{Begin: 31000, End: 32000}},
			Attributes: map[string]string{"rack": fmt.Sprint(i % 40), "zone": "eu-1"}, Reachable: true}); err != nil {
			t.Fatal(err)
		}
	}
	r := &fixedStatus{Reconciler: reconciler.New(reconciler.Config{}, nil, st)}
	for j := range 10000 {
		job := decide.JobOutcome{Name: fmt.Sprintf("job-%05d", j), Schedule: "R/2026-01-01T02:00:00Z/PT1H", LastRun: "20261125T020000.000Z-schedule",
			LastState: "SUCCEEDED", SuccessCount: 120, LastSuccess: time.Now()}
		if j%10 != 0 {
			job.Schedule, job.Parents = "", []string{fmt.Sprintf("job-%05d", j-j%10)}
		}
		r.st.Jobs = append(r.st.Jobs, job)
	}
	for a := range apps {
		id := fmt.Sprintf("/team-%02d/app-%04d", a%50, a)
		r.st.Apps = append(r.st.Apps, reconciler.AppStatus{ID: id, Version: "0123456789ab", Sync: "Synced", Health: "Healthy",
			Message: fmt.Sprintf("%d/%d healthy", perApp, perApp), Instances: perApp, Healthy: perApp})
		for i := range perApp {
			batch.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("team-%02d_app-%04d.%012x", a%50, a, i), Owner: cluster.OwnerApp, OwnerID: id,
				Version: "0123456789ab", AgentID: fmt.Sprintf("agent-%04d", (a*perApp+i)%agents), CreatedAt: time.Now(),
				Spec: cluster.TaskSpec{Image: "registry.example/team/app:1.2.3", Resources: cluster.Resources{CPUs: 0.5, Mem: 512},
					Env: map[string]string{"PORT": "8080", "LOG_LEVEL": "info"}}})
		}
	}
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, lead, &batch); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range Routes(r, st, Options{Token: "tok"}) {
		mux.Handle(p, h)
	}
	for _, path := range []string{
		"/v1/sync?summary=1",
		"/v1/apps?counts=1&limit=50&offset=450",
		"/v1/apps?q=app-01&sync=Synced&counts=1&limit=50",
		"/v1/tasks?app=/team-07/app-0007&limit=100",
		"/v1/tasks?agent=agent-0042&limit=50",
		"/v1/tasks?limit=500&offset=14000",
		"/v1/agents?usage=1&limit=48&offset=96",
		"/v1/deployments",
		"/v1/jobs?next=3&limit=50&offset=9950",
		"/v1/jobs?family=job-00042&next=5",
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d: %s", path, rec.Code, rec.Body)
		}
		if n := rec.Body.Len(); n > 1<<20 {
			t.Errorf("GET %s: %d bytes, over 1 MB", path, n)
		} else {
			t.Logf("GET %s: %d bytes", path, n)
		}
	}
}

// fixedStatus is a reconciler whose status is set by the test.
type fixedStatus struct {
	*reconciler.Reconciler
	st reconciler.Status
}

func (f *fixedStatus) Status() reconciler.Status { return f.st }

func TestJobFamily(t *testing.T) {
	jobs := []decide.JobOutcome{{Name: "a"}, {Name: "b", Parents: []string{"a"}}, {Name: "c", Parents: []string{"b", "x"}},
		{Name: "x"}, {Name: "lone"}, {Name: "d", Parents: []string{"gone"}}}
	names := func(js []decide.JobOutcome) string {
		var out []string
		for _, j := range js {
			out = append(out, j.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct{ name, want string }{
		{"b", "a,b,c,x"}, {"x", "a,b,c,x"}, {"lone", "lone"}, {"d", "d"}, {"nope", ""},
	} {
		if got := names(family(jobs, tt.name)); got != tt.want {
			t.Errorf("family(%s) = %s, want %s", tt.name, got, tt.want)
		}
	}
}
