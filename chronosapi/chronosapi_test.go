package chronosapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// fixed is a Cluster over fixed values (cmd/berth tests the whole over a
// real state).
type fixed struct {
	set    *manifests.Set
	states map[string]cluster.JobState
	runs   map[string][]cluster.JobRun
}

func (f *fixed) Desired() (*manifests.Set, string) { return f.set, "c0ffee" }
func (f *fixed) JobStates(context.Context) (map[string]cluster.JobState, error) {
	return f.states, nil
}
func (f *fixed) JobRuns(_ context.Context, job string) ([]cluster.JobRun, error) {
	return f.runs[job], nil
}

const jobsYAML = `kind: Job
name: load
schedule: R/2026-01-01T02:00:00Z/P1D
command: load.sh
shell: true
cpus: 0.1
mem: 32
owner: data@example.com
container: {type: DOCKER, image: berth/job:dev}
---
kind: Job
name: report
parents: [load]
command: report.sh
shell: true
cpus: 0.1
mem: 32
---
kind: Job
name: archive
cron: "0 3 * * *"
command: archive.sh
shell: true
cpus: 0.1
mem: 32
`

var t0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	set, err := manifests.LoadBytes("jobs.yaml", []byte(jobsYAML))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixed{set: set,
		states: map[string]cluster.JobState{
			"load":   {Job: "load", SuccessCount: 3, ErrorCount: 2, LastSuccess: t0.Add(-24 * time.Hour), LastError: t0},
			"report": {Job: "report", SuccessCount: 3, LastSuccess: t0.Add(-23 * time.Hour)},
		},
		runs: map[string][]cluster.JobRun{
			"load": {{Job: "load", State: cluster.JobRunSucceeded}, {Job: "load", State: cluster.JobRunFailed},
				{Job: "load", State: cluster.JobRunFailed}, {Job: "load", State: cluster.JobRunRunning}},
		},
	}
	mux := http.NewServeMux()
	for p, h := range Routes(f, Options{Repo: "https://bot:pw@git.example.com/ops/cluster.git", Branch: "main"}) {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestJobs(t *testing.T) {
	srv := serve(t)
	for _, prefix := range []string{"", "/v1"} {
		code, body := get(t, "GET", srv.URL+prefix+"/scheduler/jobs")
		var jobs []Job
		if err := json.Unmarshal([]byte(body), &jobs); code != http.StatusOK || err != nil || len(jobs) != 3 {
			t.Fatalf("%s/scheduler/jobs: %d %s", prefix, code, body)
		}
		load := jobs[1]
		if load.Name != "load" || load.SuccessCount != 3 || load.ErrorCount != 2 || load.LastError != "2026-12-01T02:00:00.000Z" ||
			load.ErrorsSinceLastSuccess != 2 || load.Container == nil || load.Container.Network != "HOST" || load.Epsilon != "PT60S" {
			t.Errorf("load: %+v", load)
		}
		if archive := jobs[0]; archive.Schedule != "" || archive.Description != "cron: 0 3 * * *" {
			t.Errorf("a cron job shows no Chronos schedule but says its cron: %+v", archive)
		}
	}
	code, body := get(t, "GET", srv.URL+"/scheduler/job/report")
	if code != http.StatusOK || !strings.Contains(body, `"parents":["load"]`) {
		t.Errorf("job report: %d %s", code, body)
	}
	if code, _ := get(t, "GET", srv.URL+"/scheduler/job/nope"); code != http.StatusNotFound {
		t.Errorf("unknown job: %d", code)
	}
	code, body = get(t, "GET", srv.URL+"/scheduler/jobs/search?any=SH&limit=2&offset=1")
	if code != http.StatusOK || strings.Count(body, `"name"`) != 2 || strings.Contains(body, `"name":"archive"`) {
		t.Errorf("search: %s", body)
	}
	code, body = get(t, "GET", srv.URL+"/scheduler/graph/csv")
	want := "node,load,failure,running\nnode,report,success,idle\nnode,archive,fresh,idle\nlink,load,report\n"
	if sortedLines(body) != sortedLines(want) || code != http.StatusOK {
		t.Errorf("graph:\n%s\nwant\n%s", body, want)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestWritesAreRefused(t *testing.T) {
	srv := serve(t)
	for _, w := range [][2]string{{"POST", "/scheduler/iso8601"}, {"POST", "/scheduler/dependency"}, {"PUT", "/scheduler/job/load"},
		{"DELETE", "/scheduler/job/load"}, {"DELETE", "/v1/scheduler/task/kill/load"}} {
		code, body := get(t, w[0], srv.URL+w[1])
		if code != http.StatusForbidden || !strings.Contains(body, "follows Git") || !strings.Contains(body, "branch main of https://git.example.com/ops/cluster.git") ||
			strings.Contains(body, "pw") {
			t.Errorf("%s %s: %d %s", w[0], w[1], code, body)
		}
	}
}
