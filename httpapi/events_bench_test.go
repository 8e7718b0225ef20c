package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/taskindex"
)

// statusFeed is a Reconciler that publishes the statuses a test hands it
// to its subscribers, waiting until each subscriber took it (so every
// status reaches the stream, as with a reader that keeps up).
type statusFeed struct {
	mu   sync.Mutex
	st   reconciler.Status
	subs map[chan<- reconciler.Status]bool
	// subscribed is told of each new subscriber.
	subscribed chan struct{}
}

func newStatusFeed(st reconciler.Status) *statusFeed {
	return &statusFeed{st: st, subs: map[chan<- reconciler.Status]bool{}, subscribed: make(chan struct{}, 16)}
}

func (f *statusFeed) publish(st reconciler.Status) {
	f.mu.Lock()
	f.st = st
	subs := make([]chan<- reconciler.Status, 0, len(f.subs))
	for ch := range f.subs {
		subs = append(subs, ch)
	}
	f.mu.Unlock()
	for _, ch := range subs {
		ch <- st
	}
}

func (f *statusFeed) Status() reconciler.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *statusFeed) Subscribe(ch chan<- reconciler.Status) func() {
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	f.subscribed <- struct{}{}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
	}
}

func (f *statusFeed) Desired() (*manifests.Set, string) { return nil, "" }
func (f *statusFeed) Sync() uint64                      { return 0 }
func (f *statusFeed) RunJob(string) error               { return nil }
func (f *statusFeed) Diff(context.Context, string) (*plan.Plan, plan.Header, error) {
	return nil, plan.Header{}, fmt.Errorf("no diffs here")
}
func (f *statusFeed) Snapshot(context.Context) (decide.Snapshot, error) {
	return decide.Snapshot{}, fmt.Errorf("no snapshots here")
}
func (f *statusFeed) ReadFile(string, string) ([]byte, error) {
	return nil, fmt.Errorf("no files here")
}

// eventSink is a stream's ResponseWriter: it tells each event written on
// events (at its Flush), true for the benchmark's last one (head c2). It
// keeps no event: 100 streams of 300 statuses of 1,500 apps would be 6 GB.
type eventSink struct {
	header http.Header
	events chan bool
	last   bool
}

func (s *eventSink) Header() http.Header { return s.header }
func (s *eventSink) WriteHeader(int)     {}
func (s *eventSink) Flush() {
	s.events <- s.last
	s.last = false
}
func (s *eventSink) Write(p []byte) (int, error) {
	// The head comes first in a status document.
	s.last = s.last || bytes.Contains(p[:min(len(p), 64)], []byte(`"head":"c2"`))
	return len(p), nil
}

// bigStatus is the status of a 150,000-task cluster: 1,500 apps of 100
// instances, 200 jobs.
func bigStatus() reconciler.Status {
	st := reconciler.Status{Head: "c1", Desired: "c1", Decided: "c1", Converged: true}
	for i := range 1500 {
		st.Apps = append(st.Apps, reconciler.AppStatus{ID: fmt.Sprintf("/app-%04d", i), Version: "fe04cff9ccb5",
			Sync: rollout.Synced, Health: rollout.Healthy, Message: "100/100 healthy", Instances: 100, Healthy: 100})
	}
	for i := range 200 {
		st.Jobs = append(st.Jobs, decide.JobOutcome{Name: fmt.Sprintf("job-%03d", i), Schedule: "R/2026-01-01T00:00:00Z/PT1H",
			Next: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), LastState: "FINISHED", SuccessCount: i})
	}
	return st
}

func procCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEventStream150k is one subscriber of GET /v1/events on a
// 150,000-task cluster (1,500 apps, 200 jobs, the task index built): the
// cost to the server of one pass for one stream (or 100). "idle" passes change
// nothing but the time of the pass; "changed" passes change one app's
// health count; "app" and "agent" streams are filtered (?app=, ?agent=)
// to apps that the passes do not change. It reports CPU per pass
// (cpu-us/pass) and the events written per pass.
//
//	go test -run '^$' -bench EventStream150k -benchtime 2000x ./httpapi/
func BenchmarkEventStream150k(b *testing.B) {
	x := &taskindex.Index{}
	var tasks []cluster.Task
	for i := range 150000 {
		app := i / 100
		tasks = append(tasks, cluster.Task{Assignment: cluster.Assignment{TaskID: fmt.Sprintf("app-%04d.%08x", app, i),
			AgentID: fmt.Sprintf("agent-%04d", i%5000), OwnerID: fmt.Sprintf("/app-%04d", app)},
			Status: cluster.TaskStatus{State: cluster.TaskRunning}})
	}
	x.Update(tasks, nil, time.Now())
	tasks = nil
	for _, tc := range []struct {
		name, query string
		change      bool
		streams     int
	}{
		{"idle", "", false, 1},
		{"changed", "", true, 1},
		{"changed/streams=100", "", true, 100},
		{"summary/changed", "?summary=1", true, 1},
		{"app/changed-elsewhere", "?app=/app-0742", true, 1},
		{"agent/changed-elsewhere", "?agent=agent-0042", true, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st := bigStatus()
			feed := newStatusFeed(st)
			mux := http.NewServeMux()
			for p, h := range Routes(feed, nil, Options{Index: x}) {
				mux.Handle(p, h)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }()
			sinks := make([]*eventSink, tc.streams)
			for i := range sinks {
				sink := &eventSink{header: http.Header{}, events: make(chan bool, 1<<16)}
				sinks[i] = sink
				wg.Add(1)
				go func() {
					defer wg.Done()
					mux.ServeHTTP(sink, httptest.NewRequest("GET", "/v1/events"+tc.query, nil).WithContext(ctx))
				}()
				<-feed.subscribed
				<-sink.events // the first event: the status now
			}
			b.ResetTimer()
			cpu0 := procCPU(b)
			for i := range b.N {
				next := st
				next.LastSync = time.Unix(int64(i), 0)
				if tc.change {
					next.Apps = append([]reconciler.AppStatus(nil), st.Apps...)
					next.Apps[7].Healthy = i % 100
				}
				feed.publish(next)
				if tc.change && tc.streams > 1 {
					// A pass at a time, as the loop publishes them (passes
					// are far apart next to an event): streams that drift
					// several passes apart would not share an encoding.
					for _, sink := range sinks {
						<-sink.events
					}
				}
			}
			// A last change everyone sees, so the stream has taken
			// every pass before the clock stops.
			last := st
			last.Head = "c2"
			feed.publish(last)
			events := 0
			if tc.change && tc.streams > 1 {
				events = b.N * len(sinks)
			}
			for _, sink := range sinks {
				for last := range sink.events {
					events++
					if last {
						break
					}
				}
			}
			cpu := procCPU(b) - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/pass")
			b.ReportMetric(float64(events-len(sinks))/float64(b.N), "events/pass")
		})
	}
}
