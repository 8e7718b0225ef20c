package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/taskindex"
)

// recordingSink keeps the data of every event a stream writes.
type recordingSink struct {
	header http.Header
	mu     sync.Mutex
	buf    bytes.Buffer
	events chan string
}

func (s *recordingSink) Header() http.Header { return s.header }
func (s *recordingSink) WriteHeader(int)     {}
func (s *recordingSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}
func (s *recordingSink) Flush() {
	s.mu.Lock()
	ev := s.buf.String()
	s.buf.Reset()
	s.mu.Unlock()
	data, ok := strings.CutPrefix(ev, "event: status\ndata: ")
	if ok {
		s.events <- strings.TrimSuffix(data, "\n\n")
	}
}

type eventStream struct {
	t    *testing.T
	sink *recordingSink
}

// openStream starts GET /v1/events?query on mux until the test ends.
func openStream(t *testing.T, mux *http.ServeMux, feed *statusFeed, query string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sink := &recordingSink{header: http.Header{}, events: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mux.ServeHTTP(sink, httptest.NewRequest("GET", "/v1/events"+query, nil).WithContext(ctx))
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-feed.subscribed
	return &eventStream{t: t, sink: sink}
}

// next is the next event's status.
func (s *eventStream) next() reconciler.Status {
	s.t.Helper()
	select {
	case data := <-s.sink.events:
		var st reconciler.Status
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			s.t.Fatalf("event %q: %v", data, err)
		}
		return st
	case <-time.After(30 * time.Second):
		s.t.Fatal("no event")
	}
	return reconciler.Status{}
}

func appIDs(st reconciler.Status) string {
	var ids []string
	for _, a := range st.Apps {
		ids = append(ids, a.ID)
	}
	for _, j := range st.Jobs {
		ids = append(ids, "job:"+j.Name)
	}
	return strings.Join(ids, " ")
}

// The event stream sends a status when what the stream shows changed, and
// only then: a pass that changes nothing, or changes only apps a filter
// leaves out, sends nothing. ?app= takes apps and groups, ?agent= the apps
// and jobs with tasks on that agent.
func TestEventStreamFilters(t *testing.T) {
	st := reconciler.Status{Head: "c1", Desired: "c1", Apps: []reconciler.AppStatus{
		{ID: "/db", Healthy: 1}, {ID: "/web/a", Healthy: 1}, {ID: "/web/b", Healthy: 1}, {ID: "/webhooks", Healthy: 1}},
		Jobs: []decide.JobOutcome{{Name: "backup"}, {Name: "report"}}}
	x := &taskindex.Index{}
	task := func(id, agent, owner string) cluster.Task {
		return cluster.Task{Assignment: cluster.Assignment{TaskID: id, AgentID: agent, OwnerID: owner}}
	}
	x.Update([]cluster.Task{task("web_a.1", "agent-1", "/web/a"), task("db.1", "agent-2", "/db"),
		task("backup.1", "agent-1", "backup"), task("web_b.1", "agent-2", "/web/b")}, nil, time.Now())
	feed := newStatusFeed(st)
	mux := http.NewServeMux()
	for p, h := range Routes(feed, nil, Options{Index: x}) {
		mux.Handle(p, h)
	}
	all := openStream(t, mux, feed, "")
	group := openStream(t, mux, feed, "?app=/web/")
	agent := openStream(t, mux, feed, "?agent=agent-1")
	for _, tc := range []struct {
		s    *eventStream
		want string
	}{
		{all, "/db /web/a /web/b /webhooks job:backup job:report"},
		{group, "/web/a /web/b"},
		{agent, "/web/a job:backup"},
	} {
		if got := appIDs(tc.s.next()); got != tc.want {
			t.Errorf("first event: %s, want %s", got, tc.want)
		}
	}

	change := func(app string, healthy int) {
		next := feed.Status()
		next.LastSync = next.LastSync.Add(time.Second)
		next.Apps = append([]reconciler.AppStatus(nil), next.Apps...)
		for i := range next.Apps {
			if next.Apps[i].ID == app {
				next.Apps[i].Healthy = healthy
			}
		}
		feed.publish(next)
	}
	change("/none", 0) // a pass that changed nothing but its time
	change("/db", 2)   // outside /web/ and agent-1
	if got := all.next(); got.Apps[0].Healthy != 2 {
		t.Errorf("unfiltered: %+v, want /db's change first", got.Apps)
	}
	change("/web/a", 3)
	if got := all.next(); got.Apps[1].Healthy != 3 {
		t.Errorf("unfiltered: %+v, want /web/a's change", got.Apps)
	}
	for name, s := range map[string]*eventStream{"?app=/web/": group, "?agent=agent-1": agent} {
		if got := s.next(); got.Apps[0].ID != "/web/a" || got.Apps[0].Healthy != 3 {
			t.Errorf("%s: %+v, want /web/a's change and nothing before it", name, got.Apps)
		}
	}

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/v1/events?app=web", nil))
	if w.Code != http.StatusBadRequest {
		t.Errorf("?app=web: %d %s, want 400", w.Code, w.Body)
	}
}
