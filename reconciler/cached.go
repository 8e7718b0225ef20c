package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
)

// mirrorInput is ReadInput from the cluster cache. A cache whose watches
// were lost (a session expired) or that a failed commit left unsure is
// re-read in full first: deciding on it could undo what it missed.
func (r *Reconciler) mirrorInput(ctx context.Context, m *mirror.Mirror, desired *manifests.Set) (decide.Input, error) {
	snap, err := freshSnapshot(ctx, m)
	if err != nil {
		return decide.Input{}, err
	}
	r.inputEpoch = snap.Epoch
	return InputFromSnapshot(snap, desired), nil
}

// freshSnapshot is the cache's snapshot, waiting for a stale cache's
// resync: the mirror's own Run resyncs it, and waiting for that is
// cheaper than reading everything a second time.
func freshSnapshot(ctx context.Context, m *mirror.Mirror) (mirror.Snapshot, error) {
	snap, err := m.Snapshot()
	if errors.Is(err, mirror.ErrStale) {
		if err := m.WaitFresh(ctx); err != nil {
			return mirror.Snapshot{}, fmt.Errorf("read the cluster: %w", err)
		}
		snap, err = m.Snapshot()
	}
	if err != nil {
		return mirror.Snapshot{}, fmt.Errorf("read the cluster: %w", err)
	}
	return snap, nil
}

// InputFromSnapshot is ReadInput over a cache snapshot: the same fields,
// in the same order. The snapshot's slices are shared with the cache; a
// decision only reads them.
func InputFromSnapshot(s mirror.Snapshot, desired *manifests.Set) decide.Input {
	return decide.Input{Desired: desired, Agents: s.Agents, TaskParts: s.TaskParts, ServicePorts: s.ServicePorts,
		Templates: s.Templates, Applied: s.Applied.Commit, Launches: s.Launches, Lost: s.Lost, Residences: s.Residences, Deployments: s.Deployments}
}

// commit writes a decision's changes fenced by lead and tells the cache
// what was written. A commit that failed half way leaves the cache unsure
// of the store, so it is re-read before the next decision.
func (r *Reconciler) commit(ctx context.Context, lead cluster.Leadership, changes []decide.Change) error {
	b, err := batchOf(changes, r.cfg.Branch)
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	m := r.Mirror()
	if _, err := r.state.Commit(ctx, lead, b); err != nil {
		if m != nil {
			m.Invalidate()
		}
		return fmt.Errorf("commit %d changes: %w", len(changes), err)
	}
	if m != nil {
		m.Apply(b.Ops())
	}
	return nil
}

// lastPass is what an idle pass reuses: the last decision of this term and
// what it was decided over.
type lastPass struct {
	epoch   uint64
	desired *manifests.Set
	commit  string
	out     decide.Result
}

// remember keeps a decision that changed nothing, for the next passes to
// reuse while nothing changes.
func (r *Reconciler) remember(in decide.Input, desired *manifests.Set, commit string, out decide.Result) {
	r.last = nil
	if r.Mirror() == nil || len(out.Changes) > 0 || len(in.ManualRuns) > 0 {
		return
	}
	r.last = &lastPass{epoch: r.inputEpoch, desired: desired, commit: commit, out: out}
}

// idle returns the last decision when deciding again would give the same:
// the cache is at the same epoch (no agent, task, status or record
// changed: the leader's own writes move it too), the desired state is the
// same commit, no one asked for a job run, and no timer the last decision
// named (RequeueAt: a backoff ending, a job coming due, a lost agent's
// clock) has come. Decide is a function of exactly those inputs and the
// time, and the time matters only at RequeueAt; TestIdlePassDecidesAsAFullPass
// checks that claim over random histories.
func (r *Reconciler) idle(desired *manifests.Set, commit string, manual int) (decide.Result, bool) {
	l, m := r.last, r.Mirror()
	if l == nil || m == nil || manual > 0 || l.desired != desired || l.commit != commit {
		return decide.Result{}, false
	}
	if !m.Fresh() || m.Epoch() != l.epoch {
		return decide.Result{}, false
	}
	if !reusable(l.out, r.cfg.Now()) {
		return decide.Result{}, false
	}
	return l.out, true
}

// reusable reports whether a decision that changed nothing still holds at
// now, the inputs being equal.
func reusable(out decide.Result, now time.Time) bool {
	return len(out.Changes) == 0 && (out.RequeueAt.IsZero() || now.Before(out.RequeueAt))
}

// Mirror returns the leader's cache of the cluster state for this term;
// nil when not leading (or with DirectReads). Reads that must not touch the
// store at this scale (the API's task lists) may use its Snapshot.
func (r *Reconciler) Mirror() *mirror.Mirror {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mirror
}

// Standby keeps the cluster cache filled while this replica follows, so
// that a failover's first pass need not read the whole cluster (at 150,000
// tasks most of a failover), until ctx ends. Run takes the cache over for
// each term. It does nothing with DirectReads or ColdStandby.
func (r *Reconciler) Standby(ctx context.Context) {
	if r.cfg.DirectReads || r.cfg.ColdStandby {
		return
	}
	m := r.newMirror()
	r.setMirror(&r.standby, m)
	defer r.setMirror(&r.standby, nil)
	if err := m.Run(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("standby cluster cache stopped", "err", err)
	}
}

// standbyMirror is Standby's cache, once it runs; nil otherwise.
func (r *Reconciler) standbyMirror() *mirror.Mirror {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.standby
}

func (r *Reconciler) newMirror() *mirror.Mirror {
	return mirror.New(r.state.Store(), mirror.Options{ResyncEvery: r.cfg.CacheResync, Logger: r.log,
		OnResync: r.cfg.Observer.CacheResync})
}

// startMirror fills and follows this term's cache until the returned stop
// is called.
func (r *Reconciler) startMirror(ctx context.Context) (stop func()) {
	m := r.newMirror()
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(mctx)
	}()
	r.setMirror(&r.mirror, m)
	return func() {
		r.setMirror(&r.mirror, nil)
		cancel()
		<-done
	}
}

// setMirror sets the term's or the standby's cache (field), under mu.
func (r *Reconciler) setMirror(field **mirror.Mirror, m *mirror.Mirror) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*field = m
}
