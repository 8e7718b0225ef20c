package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/taskindex"
)

// countingStore counts the reads that reach the store.
type countingStore struct {
	cluster.Store
	reads atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, p string) (cluster.Node, error) {
	s.reads.Add(1)
	return s.Store.Get(ctx, p)
}

func (s *countingStore) Children(ctx context.Context, p string) ([]string, error) {
	s.reads.Add(1)
	return s.Store.Children(ctx, p)
}

// echoLogs answers a task's logs with the task and the agent asked.
type echoLogs struct{}

func (echoLogs) Logs(_ context.Context, ag cluster.Agent, taskID string, _ launch.LogOptions, w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s on %s (reachable %v)", taskID, ag.ID, ag.Reachable)
	return err
}

// leading is a reconciler that leads with the cache m.
type leading struct {
	*reconciler.Reconciler
	m *mirror.Mirror
}

func (l leading) Mirror() *mirror.Mirror { return l.m }

// The task lookup behind GET /v1/tasks/{id}/logs reads no task but the one
// asked for: none at all on a leader with its cache, two of them and the
// agent with only the index, and one read per agent at most on a replica
// that has neither, where it used to read every task and every agent.
func TestTaskLogsLookupReadsOneTask(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const agents, tasks = 5, 200
	st := taskCluster(t, agents, 10, tasks/10, nil)
	for i := range agents {
		if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%04d", i), Address: "127.0.0.2"}); err != nil {
			t.Fatal(err)
		}
	}
	m := mirror.New(st.Store(), mirror.Options{})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := m.WaitFresh(ctx); err != nil {
		t.Fatal(err)
	}
	counted := &countingStore{Store: st.Store()}
	api := cluster.NewState(counted)
	rec := reconciler.New(reconciler.Config{}, nil, api)
	for _, tt := range []struct {
		name     string
		r        Reconciler
		index    *taskindex.Index
		maxReads int64
	}{
		{"leader with its cache", leading{rec, m}, builtIndex(t, st), 0},
		{"leader without a cache", rec, builtIndex(t, st), 4},
		{"replica without index", rec, nil, 1 + agents + 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			for p, h := range Routes(tt.r, api, Options{Index: tt.index, Logs: echoLogs{}}) {
				mux.Handle(p, h)
			}
			for _, id := range []string{"app-0003.00000005", "app-0009.00000013"} {
				want, err := st.FindTask(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				counted.reads.Store(0)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, httptest.NewRequest("GET", "/v1/tasks/"+id+"/logs", nil))
				if w.Code != 200 || w.Body.String() != fmt.Sprintf("%s on %s (reachable true)", id, want.AgentID) {
					t.Fatalf("logs of %s: %d %q, want it on %s", id, w.Code, w.Body, want.AgentID)
				}
				if n := counted.reads.Load(); n > tt.maxReads {
					t.Errorf("logs of %s read the store %d times, want at most %d", id, n, tt.maxReads)
				}
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest("GET", "/v1/tasks/no-such.1/logs", nil))
			if w.Code != 404 {
				t.Fatalf("logs of an unknown task: %d %s", w.Code, w.Body)
			}
		})
	}
}

// GET /v1/agents and /v1/queues list every agent (and task) from the
// leader's cache while the replica leads, and the tasks of an indexed page
// of GET /v1/tasks come from it: no store read, the same answer as a
// replica that reads the store.
func TestListsReadTheLeadersCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := taskCluster(t, 5, 4, 10, nil)
	for i := range 5 {
		if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%04d", i), Address: "127.0.0.2"}); err != nil {
			t.Fatal(err)
		}
	}
	m := mirror.New(st.Store(), mirror.Options{})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := m.WaitFresh(ctx); err != nil {
		t.Fatal(err)
	}
	counted := &countingStore{Store: st.Store()}
	api := cluster.NewState(counted)
	rec := reconciler.New(reconciler.Config{}, nil, api)
	serve := func(r Reconciler, target string) (string, int64) {
		index := (*taskindex.Index)(nil)
		if strings.HasPrefix(target, "/v1/tasks") {
			index = builtIndex(t, st)
		}
		mux := http.NewServeMux()
		for p, h := range Routes(r, api, Options{Token: "tok", Index: index}) {
			mux.Handle(p, h)
		}
		counted.reads.Store(0)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		return w.Body.String(), counted.reads.Load()
	}
	for _, target := range []string{"/v1/agents", "/v1/agents?usage=1", "/v1/queues", "/v1/tasks?app=/app-0002",
		"/v1/tasks?limit=7&offset=3", "/v1/tasks?state=RUNNING"} {
		fromStore, _ := serve(rec, target)
		fromCache, reads := serve(leading{rec, m}, target)
		if strings.Count(fromStore, `"id"`)+strings.Count(fromStore, `"taskId"`) == 0 && target != "/v1/queues" {
			t.Errorf("GET %s: nothing listed: %s", target, fromStore)
		}
		if fromCache != fromStore {
			t.Errorf("GET %s from the cache:\n%s\nfrom the store:\n%s", target, fromCache, fromStore)
		}
		if reads != 0 {
			t.Errorf("GET %s on the leader read the store %d times", target, reads)
		}
	}
}
