package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// gatedWriter records every batch written; while gated, a write tells
// entered and waits for release, then fails if fail says so.
type gatedWriter struct {
	mu      sync.Mutex
	batches [][]cluster.TaskStatus // the ones that succeeded
	tries   int
	gate    bool
	entered chan struct{}
	release chan error
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{gate: true, entered: make(chan struct{}), release: make(chan error)}
}

func (w *gatedWriter) write(ctx context.Context, sts []cluster.TaskStatus) error {
	w.mu.Lock()
	w.tries++
	gated := w.gate
	w.mu.Unlock()
	if gated {
		w.entered <- struct{}{}
		if err := <-w.release; err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, slices.Clone(sts))
	return nil
}

func (w *gatedWriter) open() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gate = false
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func status(task string, s cluster.TaskState) cluster.TaskStatus {
	return cluster.TaskStatus{TaskID: task, AgentID: "n", State: s}
}

func summary(batches [][]cluster.TaskStatus) [][]string {
	var out [][]string
	for _, b := range batches {
		var s []string
		for _, st := range b {
			s = append(s, st.TaskID+"="+string(st.State))
		}
		out = append(out, s)
	}
	return out
}

// While a write is in flight, further reports wait; each task's latest one
// only is written next, all in one batch, in the order the tasks reported.
func TestStatusBatchCoalesces(t *testing.T) {
	w := newGatedWriter()
	b := newStatusBatcher(w.write, quietLog())
	b.window = 0
	ctx := context.Background()
	b.add(ctx, status("a", cluster.TaskStaging))
	<-w.entered
	b.add(ctx, status("a", cluster.TaskStarting))
	b.add(ctx, status("b", cluster.TaskStaging))
	b.add(ctx, status("a", cluster.TaskRunning))
	b.add(ctx, status("c", cluster.TaskStaging))
	b.add(ctx, status("b", cluster.TaskFailed))
	w.open()
	w.release <- nil
	b.wait()
	want := [][]string{{"a=STAGING"}, {"a=RUNNING", "b=FAILED", "c=STAGING"}}
	if got := summary(w.batches); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// A failed write is retried; a status reported meanwhile for the same task
// replaces the failed one, and none is lost.
func TestStatusBatchRetriesKeepingTheLatest(t *testing.T) {
	w := newGatedWriter()
	b := newStatusBatcher(w.write, quietLog())
	b.window = 0
	ctx := context.Background()
	b.add(ctx, status("a", cluster.TaskRunning))
	b.add(ctx, status("b", cluster.TaskRunning))
	<-w.entered
	b.add(ctx, status("a", cluster.TaskFailed))
	w.release <- errors.New("connection loss")
	<-w.entered // the retry
	w.open()
	w.release <- nil
	b.wait()
	if w.tries != 2 {
		t.Errorf("%d writes tried, want 2", w.tries)
	}
	want := [][]string{{"b=RUNNING", "a=FAILED"}}
	if got := summary(w.batches); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// Once the agent is stopping, what is pending still gets one write (on a
// context of its own); a closed store drops the batch instead of retrying.
func TestStatusBatchStopping(t *testing.T) {
	w := newGatedWriter()
	w.open()
	b := newStatusBatcher(w.write, quietLog())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.add(ctx, status("a", cluster.TaskKilled))
	b.wait()
	want := [][]string{{"a=KILLED"}}
	if got := summary(w.batches); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}

	closed := 0
	b = newStatusBatcher(func(context.Context, []cluster.TaskStatus) error { closed++; return cluster.ErrClosed }, quietLog())
	b.window = 0
	b.add(context.Background(), status("a", cluster.TaskRunning))
	b.wait()
	if closed != 1 {
		t.Errorf("%d writes to a closed store, want 1", closed)
	}
}

// flakyCluster fails the first n status writes.
type flakyCluster struct {
	*fakeCluster
	failures int
}

func (f *flakyCluster) ReportStatuses(ctx context.Context, sts []cluster.TaskStatus) error {
	if f.failures > 0 {
		f.failures--
		return errors.New("connection loss")
	}
	return f.fakeCluster.ReportStatuses(ctx, sts)
}

// A task's report goes through its agent's batcher and survives failed
// writes.
func TestReportRetries(t *testing.T) {
	for _, failures := range []int{0, 2} {
		fc := &flakyCluster{fakeCluster: newFakeCluster(), failures: failures}
		ag, err := New(Config{Node: Node{ID: "n", Address: "127.0.0.2"}, Runtime: dockerrt.New((*client.Client)(nil), dockerrt.Options{}), Cluster: fc,
			Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		newTask(ag, cluster.Assignment{TaskID: "t.1"}).report(context.Background(), cluster.TaskRunning, nil)
		ag.statuses.wait()
		if got := fc.states("t.1"); !slices.Equal(got, []cluster.TaskState{cluster.TaskRunning}) {
			t.Errorf("%d failures: states stored %v, want one RUNNING", failures, got)
		}
	}
}

// outageCluster refuses every status write while down, as ZooKeeper does
// without quorum, and counts the RUNNING reports it refused.
type outageCluster struct {
	*fakeCluster
	down           atomic.Bool
	refusedRunning atomic.Int32
}

func (o *outageCluster) ReportStatuses(ctx context.Context, sts []cluster.TaskStatus) error {
	if o.down.Load() {
		for _, st := range sts {
			if st.State == cluster.TaskRunning {
				o.refusedRunning.Add(1)
			}
		}
		return errors.New("not connected")
	}
	return o.fakeCluster.ReportStatuses(ctx, sts)
}

// TestStatusLostInAnOutageIsWrittenLater: a task that starts while the
// cluster refuses every write, and whose state does not change again (no
// health checks), still reaches RUNNING on the server once the cluster is
// back, through a real container. The agent used to give up after four
// attempts (about 5 s), and the server saw such a task STARTING for ever:
// the first 30-minute soak's stuck /api task.
func TestStatusLostInAnOutageIsWrittenLater(t *testing.T) {
	h := newHarness(t)
	oc := &outageCluster{fakeCluster: h.fc}
	oc.down.Store(true)
	h.configure = func(c *Config) { c.Cluster = oc }
	node := h.node("127.0.0.2")
	h.start(node, nil)
	h.fc.put(webTask(node, "quiet.1", testenv.FreePort(t, "127.0.0.2")))
	// RUNNING refused several times: past the four attempts the agent
	// used to make.
	deadline := time.Now().Add(time.Minute)
	for oc.refusedRunning.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("RUNNING refused only %d times in a minute", oc.refusedRunning.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.fc.states("quiet.1"); len(got) != 0 {
		t.Fatalf("states %v stored while the cluster was down", got)
	}
	oc.down.Store(false)
	h.fc.waitState(t, "quiet.1", cluster.TaskRunning)
}
