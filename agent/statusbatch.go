package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
)

// statusWindow is how long an agent gathers status reports before writing
// them. A task's STAGING, STARTING and RUNNING come milliseconds apart, and
// one assignment batch starts many tasks on an agent at once: within the
// window they become one store transaction per agent holding each task's
// latest state only (three writes per task became about one per agent and
// batch in the cluster benchmark). It is also the longest any state,
// terminal ones included, waits before its write starts.
const statusWindow = 100 * time.Millisecond

// statusRetry is the first wait after a failed status write; it triples up
// to statusRetryMax. Writes are retried until they succeed or the agent
// stops: a lost report could leave the server believing a dead task runs.
const (
	statusRetry    = 200 * time.Millisecond
	statusRetryMax = 5 * time.Second
)

// statusLastWrite bounds the one write of what is still pending once the
// agent is stopping (its context is cancelled).
const statusLastWrite = 5 * time.Second

// statusBatcher coalesces an agent's status reports: the latest status per
// task, written together at most window after the oldest of them was
// reported. A flusher goroutine runs while anything is pending and ends
// when nothing is, so an idle agent holds no timer.
type statusBatcher struct {
	write  func(context.Context, []cluster.TaskStatus) error
	log    *slog.Logger
	window time.Duration

	mu      sync.Mutex
	pending map[string]cluster.TaskStatus // by task id: the latest only
	order   []string                      // pending task ids, oldest report first
	since   time.Time                     // when the oldest pending report came
	running bool                          // a flusher goroutine is running
	idle    *sync.Cond                    // signalled when the flusher ends
}

func newStatusBatcher(write func(context.Context, []cluster.TaskStatus) error, log *slog.Logger) *statusBatcher {
	b := &statusBatcher{write: write, log: log, window: statusWindow, pending: map[string]cluster.TaskStatus{}}
	b.idle = sync.NewCond(&b.mu)
	return b
}

// add queues st, replacing a pending status of the same task, and returns
// at once; the write happens within the window. ctx is the reporting
// task's: once it ends, what is pending gets one last bounded write.
func (b *statusBatcher) add(ctx context.Context, st cluster.TaskStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		b.since = time.Now()
	}
	if _, ok := b.pending[st.TaskID]; !ok {
		b.order = append(b.order, st.TaskID)
	}
	b.pending[st.TaskID] = st
	if !b.running {
		b.running = true
		go b.flush(ctx)
	}
}

// take removes and returns everything pending, oldest first; with nothing
// pending it marks the flusher ended.
func (b *statusBatcher) take() []cluster.TaskStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		b.running = false
		b.order = nil
		b.idle.Broadcast()
		return nil
	}
	out := make([]cluster.TaskStatus, 0, len(b.pending))
	for _, id := range b.order {
		if st, ok := b.pending[id]; ok {
			out = append(out, st)
			delete(b.pending, id)
		}
	}
	b.order = b.order[:0]
	return out
}

// putBack re-queues a batch whose write failed, except the tasks that
// reported a newer status meanwhile, ahead of those.
func (b *statusBatcher) putBack(batch []cluster.TaskStatus, since time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	back := make([]string, 0, len(batch))
	for _, st := range batch {
		if _, newer := b.pending[st.TaskID]; !newer {
			b.pending[st.TaskID] = st
			back = append(back, st.TaskID)
		}
	}
	b.order = append(back, b.order...)
	b.since = since
}

// oldest is when the oldest pending report came (zero: none pending).
func (b *statusBatcher) oldest() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return time.Time{}
	}
	return b.since
}

// flush writes what is pending, window after its oldest report, until
// nothing is.
func (b *statusBatcher) flush(ctx context.Context) {
	delay := statusRetry
	for {
		if since := b.oldest(); !since.IsZero() && ctx.Err() == nil {
			if wait := time.Until(since.Add(b.window)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
		}
		since := b.oldest()
		batch := b.take()
		if batch == nil {
			return
		}
		if ctx.Err() != nil {
			b.last(ctx, batch)
			continue
		}
		err := b.write(ctx, batch)
		if err == nil {
			delay = statusRetry
			continue
		}
		if errors.Is(err, cluster.ErrClosed) {
			b.log.Warn("report task statuses: the store is closed; dropping them", "statuses", len(batch), "err", err)
			continue
		}
		b.log.Warn("report task statuses; retrying", "statuses", len(batch), "retry_in", delay, "err", err)
		b.putBack(batch, since)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		delay = min(delay*3, statusRetryMax)
	}
}

// last makes one bounded attempt at a batch once the agent is stopping.
func (b *statusBatcher) last(ctx context.Context, batch []cluster.TaskStatus) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusLastWrite)
	defer cancel()
	if err := b.write(wctx, batch); err != nil {
		b.log.Warn("report task statuses while stopping; giving up", "statuses", len(batch), "err", err)
	}
}

// wait blocks until nothing is pending or being written.
func (b *statusBatcher) wait() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.running {
		b.idle.Wait()
	}
}
