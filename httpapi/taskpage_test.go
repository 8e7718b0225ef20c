package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/taskindex"
)

// taskCluster writes apps x perApp tasks spread over agents into a memstore
// and returns its state, with every third task RUNNING and healthy.
func taskCluster(tb testing.TB, agents, apps, perApp int, env map[string]string) *cluster.State {
	tb.Helper()
	ctx := context.Background()
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	lead, err := tree.Client().Campaign(ctx, cluster.DirLeader, "test")
	if err != nil {
		tb.Fatal(err)
	}
	var batch cluster.Batch
	var statuses []cluster.TaskStatus
	n := 0
	for a := range apps {
		for i := range perApp {
			agent := fmt.Sprintf("agent-%04d", n%agents)
			id := fmt.Sprintf("app-%04d.%08x", a, i)
			batch.PutAssignment(cluster.Assignment{TaskID: id, Owner: cluster.OwnerApp, OwnerID: fmt.Sprintf("/app-%04d", a), AgentID: agent,
				Spec: cluster.TaskSpec{Image: "registry.example/app:1", Resources: cluster.Resources{CPUs: 0.1, Mem: 32}, Env: env}})
			if n%3 == 0 {
				statuses = append(statuses, cluster.TaskStatus{TaskID: id, AgentID: agent, State: cluster.TaskRunning, Health: cluster.HealthHealthy})
			}
			n++
			if batch.Len() >= 5000 {
				if _, err := st.Commit(ctx, lead, &batch); err != nil {
					tb.Fatal(err)
				}
				batch = cluster.Batch{}
			}
		}
	}
	if _, err := st.Commit(ctx, lead, &batch); err != nil {
		tb.Fatal(err)
	}
	if err := st.PutStatuses(ctx, statuses...); err != nil {
		tb.Fatal(err)
	}
	return st
}

func taskMux(tb testing.TB, st *cluster.State, index *taskindex.Index) *http.ServeMux {
	tb.Helper()
	mux := http.NewServeMux()
	for p, h := range Routes(reconciler.New(reconciler.Config{}, nil, st), st, Options{Token: "tok", Index: index}) {
		mux.Handle(p, h)
	}
	return mux
}

func builtIndex(tb testing.TB, st *cluster.State) *taskindex.Index {
	tb.Helper()
	tasks, err := st.Tasks(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	x := &taskindex.Index{}
	x.Update(tasks, nil, time.Now())
	return x
}

// walk follows the next cursors of query from its first page and returns
// every task id seen, failing on a duplicate, a page over the limit or a
// total that changes.
func walk(t *testing.T, mux *http.ServeMux, query string, limit int) (ids []string, total int) {
	t.Helper()
	seen := map[string]bool{}
	q, _ := url.ParseQuery(query)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	for page := 0; ; page++ {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks?"+q.Encode(), nil))
		if rec.Code != 200 {
			t.Fatalf("GET /v1/tasks?%s = %d: %s", q.Encode(), rec.Code, rec.Body)
		}
		var tasks []cluster.Task
		if err := json.Unmarshal(rec.Body.Bytes(), &tasks); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(rec.Header().Get("X-Total-Count"))
		if page > 0 && n != total {
			t.Fatalf("page %d: total %d, was %d", page, n, total)
		}
		total = n
		want := limit
		if want == 0 {
			want = defaultPageLimit
		}
		if len(tasks) > want {
			t.Fatalf("page %d: %d tasks, limit %d", page, len(tasks), want)
		}
		for _, tk := range tasks {
			if seen[tk.TaskID] {
				t.Fatalf("task %s on two pages", tk.TaskID)
			}
			seen[tk.TaskID] = true
			ids = append(ids, tk.TaskID)
		}
		next := rec.Header().Get("X-Next-Cursor")
		if next == "" {
			return ids, total
		}
		if link := rec.Header().Get("Link"); !strings.Contains(link, "cursor="+next) || !strings.HasSuffix(link, `; rel="next"`) {
			t.Fatalf("Link %q does not lead to cursor %s", link, next)
		}
		q.Set("cursor", next)
	}
}

// TestTaskPagesCoverEveryTaskOnce walks GET /v1/tasks page by page, with
// and without the index, filtered and not: every matching task comes once,
// the total is the count of matches, and no page passes its limit.
func TestTaskPagesCoverEveryTaskOnce(t *testing.T) {
	st := taskCluster(t, 20, 30, 20, nil) // 600 tasks
	for _, indexed := range []bool{true, false} {
		var index *taskindex.Index
		if indexed {
			index = builtIndex(t, st)
		}
		mux := taskMux(t, st, index)
		for _, c := range []struct {
			query       string
			limit       int
			want, total int
		}{
			{"", 0, 600, 600},
			{"", 9, 600, 600},
			{"app=/app-0003", 0, 20, 20},
			{"app=/app-0003", 3, 20, 20},
			{"agent=agent-0005", 11, 30, 30},
			{"state=RUNNING", 50, 200, 200},
			{"state=STAGING&app=/app-0001", 4, 13, 13},
			{"health=healthy&agent=agent-0003", 0, 10, 10},
			{"app=/app-0002&agent=agent-0000", 0, 1, 1},
			{"app=/nope", 0, 0, 0},
			{"offset=590", 0, 10, 600},
			{"offset=5000", 0, 0, 600},
			{"app=/app-0003&offset=15", 0, 5, 20},
			{"state=RUNNING&offset=190", 0, 10, 200},
		} {
			t.Run(fmt.Sprintf("indexed=%v/%s/limit=%d", indexed, c.query, c.limit), func(t *testing.T) {
				ids, total := walk(t, mux, c.query, c.limit)
				if len(ids) != c.want || total != c.total {
					t.Errorf("%d tasks, total %d; want %d of %d", len(ids), total, c.want, c.total)
				}
			})
		}
	}
}

// TestTaskPageStaysUnderItsByteBudget gives tasks a large env: a page
// closes before maxPageBytes and the next one carries on.
func TestTaskPageStaysUnderItsByteBudget(t *testing.T) {
	env := map[string]string{"BLOB": strings.Repeat("x", 8<<10)}
	st := taskCluster(t, 4, 2, 150, env) // 300 tasks of over 8 kB
	mux := taskMux(t, st, builtIndex(t, st))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks", nil))
	if rec.Code != 200 || rec.Body.Len() > maxPageBytes || rec.Header().Get("X-Next-Cursor") == "" {
		t.Fatalf("first page: %d, %d bytes, next %q; want under %d bytes with a next cursor", rec.Code, rec.Body.Len(), rec.Header().Get("X-Next-Cursor"), maxPageBytes)
	}
	if ids, total := walk(t, mux, "", 0); len(ids) != 300 || total != 300 {
		t.Errorf("walked %d tasks, total %d; want 300", len(ids), total)
	}
}

func TestTaskQueryErrors(t *testing.T) {
	st := taskCluster(t, 1, 1, 1, nil)
	mux := taskMux(t, st, builtIndex(t, st))
	for _, q := range []string{"limit=501", "limit=-1", "limit=x", "offset=-2", "cursor=!!!", "cursor=" + encodeOffsetCursor(3)} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks?"+q, nil))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "?") {
			t.Errorf("?%s = %d %s; want 400 naming the parameter", q, rec.Code, rec.Body)
		}
	}
}

func FuzzTaskCursor(f *testing.F) {
	f.Add("agent-1", "web.1", "dDEAYQBi")
	f.Add("a\x00b", "", "")
	f.Fuzz(func(t *testing.T, agent, task, raw string) {
		if _, err := decodeTaskCursor(raw); err != nil && !strings.Contains(err.Error(), "?cursor=") {
			t.Fatalf("error %v does not name the parameter", err)
		}
		if agent == "" || task == "" || strings.Contains(agent, "\x00") {
			return
		}
		r := cluster.TaskRef{AgentID: agent, TaskID: task}
		got, err := decodeTaskCursor(encodeTaskCursor(r))
		if err != nil || got != r {
			t.Fatalf("round trip of %+v = %+v, %v", r, got, err)
		}
	})
}

func FuzzOffsetCursor(f *testing.F) {
	f.Add(0, "bzE6MTA")
	f.Fuzz(func(t *testing.T, n int, raw string) {
		_, _ = decodeOffsetCursor(raw)
		if n < 0 {
			return
		}
		if got, err := decodeOffsetCursor(encodeOffsetCursor(n)); err != nil || got != n {
			t.Fatalf("round trip of %d = %d, %v", n, got, err)
		}
	})
}

// BenchmarkTasksFiltered150k reads one app's tasks (100 of 150,000 on
// 5,000 agents) and one page of all tasks, through the index and, for
// comparison, by reading every task as before the index.
func BenchmarkTasksFiltered150k(b *testing.B) {
	st := taskCluster(b, 5000, 1500, 100, map[string]string{"LOG_LEVEL": "info"})
	index := builtIndex(b, st)
	var cached *http.ServeMux // the leader's API, with its cache (filled on first use)
	leaderMux := func() *http.ServeMux {
		if cached == nil {
			ctx, cancel := context.WithCancel(context.Background())
			m := mirror.New(st.Store(), mirror.Options{})
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			b.Cleanup(func() { cancel(); <-done })
			if err := m.WaitFresh(ctx); err != nil {
				b.Fatal(err)
			}
			cached = http.NewServeMux()
			for p, h := range Routes(leading{reconciler.New(reconciler.Config{}, nil, st), m}, st, Options{Token: "tok", Index: index}) {
				cached.Handle(p, h)
			}
		}
		return cached
	}
	page := "limit=500&cursor=" + encodeTaskCursor(cluster.TaskRef{AgentID: "agent-2500", TaskID: "a"})
	for _, c := range []struct {
		name   string
		index  *taskindex.Index
		query  string
		leader bool // with the leader's cache
	}{
		{"app/indexed", index, "app=/app-0742", false},
		{"app/cached", index, "app=/app-0742", true},
		{"app/walk", nil, "app=/app-0742", false},
		{"agent", index, "agent=agent-0042", false},
		{"page/indexed", index, page, false},
		{"page/cached", index, page, true},
		{"offset/indexed", index, "limit=50&offset=100000", false},
	} {
		mux := taskMux(b, st, c.index)
		if c.leader {
			mux = leaderMux()
		}
		b.Run(c.name, func(b *testing.B) {
			failed := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks?"+c.query, nil))
				switch {
				case rec.Code == http.StatusServiceUnavailable && c.index == nil:
					failed++ // the read of every task ran past the API's store-read limit
				case rec.Code != 200:
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(failed)/float64(b.N), "503/op")
		})
	}
}
