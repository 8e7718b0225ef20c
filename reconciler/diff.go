package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/preview"
)

// ErrUnknownRef is a ref the repository does not have.
var ErrUnknownRef = errors.New("unknown ref")

// Diff plans ref (a branch, tag or commit; empty means the followed branch)
// against the live cluster, as `berth diff --server` shows it: the changes
// applying ref would make, with runtime facts next to them and the decision
// engine's verdict on whether they can be carried out (the same Decide the
// loop runs, played forward). It changes nothing.
func (r *Reconciler) Diff(ctx context.Context, ref string) (*plan.Plan, plan.Header, error) {
	if ref == "" {
		ref = r.cfg.Branch
	}
	if err := r.src.Fetch(ctx); err != nil {
		return nil, plan.Header{}, fmt.Errorf("fetch: %w", err)
	}
	commit, err := r.src.Resolve(ref)
	if err != nil {
		return nil, plan.Header{}, fmt.Errorf("%w: %w", ErrUnknownRef, err)
	}
	head, err := r.load(commit)
	if err != nil {
		return nil, plan.Header{}, err
	}
	_, appliedCommit := r.Desired()
	h := plan.Header{Base: plan.Revision{Ref: "live", Commit: appliedCommit}, Head: plan.Revision{Ref: ref, Commit: commit}, Path: r.cfg.Path}
	if r.cfg.Signatures != nil {
		if h.Head.Signature, err = r.cfg.Signatures(commit); err != nil {
			return nil, h, err
		}
		if appliedCommit != "" {
			if h.Base.Signature, err = r.cfg.Signatures(appliedCommit); err != nil {
				return nil, h, err
			}
		}
	}
	snap, err := r.Snapshot(ctx)
	if err != nil {
		return nil, h, err
	}
	p := plan.Compute(head, snap.Observed)
	if snap.HasCluster() {
		v := decide.Simulate(snap.Input(head), r.cfg.Pass, 0)
		p.Fit = v.Fit()
		p.Templates = preview.Templates(ctx, snap.Applied, head,
			preview.Catalog(preview.Cluster{Agents: snap.Agents, Tasks: snap.Tasks}, preview.Options{}),
			preview.Catalog(preview.Cluster{Agents: v.End.Agents, Tasks: v.End.Tasks}, preview.Options{}), preview.Options{})
	}
	return p, h, nil
}

// directReadTimeout bounds a snapshot read from the store by a replica
// that does not lead (no cache): a read of every task, which at 150,000
// must fail rather than hold a request and the store for long.
const directReadTimeout = 30 * time.Second

// Snapshot reads the live cluster as a decision sees it, with the planner's
// view of it: what GET /v1/observed returns and GET /v1/diff plans against.
// While this replica leads it is the leader's cache (no read of the
// cluster's tasks, agents or records, only of the job records); otherwise
// one direct read of the store, bounded by directReadTimeout.
func (r *Reconciler) Snapshot(ctx context.Context) (decide.Snapshot, error) {
	applied, commit := r.Desired()
	set := applied
	if set == nil {
		set = &manifests.Set{}
	}
	var in decide.Input
	if m := r.Mirror(); m != nil {
		snap, err := freshSnapshot(ctx, m)
		if err != nil {
			return decide.Snapshot{}, err
		}
		in = InputFromSnapshot(snap, set)
	} else {
		rctx, cancel := context.WithTimeout(ctx, directReadTimeout)
		defer cancel()
		var err error
		if in, err = ReadInput(rctx, r.state, set); err != nil {
			return decide.Snapshot{}, err
		}
	}
	var err error
	if in.JobStates, in.JobRuns, err = readJobRecords(ctx, r.state, set); err != nil {
		return decide.Snapshot{}, err
	}
	in.Commit, in.Now = commit, r.cfg.Now()
	return decide.SnapshotOf(in, applied), nil
}
