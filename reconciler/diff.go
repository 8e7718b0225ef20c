package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/plan"
)

// ErrUnknownRef is a ref the repository does not have.
var ErrUnknownRef = errors.New("unknown ref")

// Diff plans ref (a branch, tag or commit; empty means the followed branch)
// against the live cluster, as `berth diff --server` shows it: the changes
// applying ref would make, with runtime facts next to them and the
// allocator's verdict on whether the new tasks fit. It changes nothing.
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
	applied, appliedCommit := r.Desired()
	h := plan.Header{Base: plan.Revision{Ref: "live", Commit: appliedCommit}, Head: plan.Revision{Ref: ref, Commit: commit}, Path: r.cfg.Path}
	agents, err := r.state.Agents(ctx)
	if err != nil {
		return nil, h, fmt.Errorf("read agents: %w", err)
	}
	tasks, err := r.state.Tasks(ctx)
	if err != nil {
		return nil, h, fmt.Errorf("read tasks: %w", err)
	}
	p := plan.Compute(head, Observed(applied, tasks))
	fit, err := FitOf(p, head, agents, tasks)
	if err != nil {
		return nil, h, err
	}
	p.Fit = fit
	return p, h, nil
}

// Observed is the planner's view of the live cluster: the applied manifest
// set with each app's running and healthy task counts.
func Observed(applied *manifests.Set, tasks []cluster.Task) plan.Observed {
	o := plan.Observed{Applied: applied, Apps: map[string]plan.AppStatus{}}
	for _, t := range tasks {
		if t.Owner != cluster.OwnerApp || t.Kill || t.Status.State != cluster.TaskRunning {
			continue
		}
		s := o.Apps[t.OwnerID]
		s.TasksRunning++
		if t.Status.Health == cluster.HealthHealthy {
			s.TasksHealthy++
		}
		s.Version = t.Version
		o.Apps[t.OwnerID] = s
	}
	return o
}

// FitOf asks the allocator whether the tasks the plan adds fit next to what
// runs now. Tasks of apps the plan deletes are counted as freed; a restarted
// app needs all its instances anew (a rolling restart briefly runs both).
func FitOf(p *plan.Plan, head *manifests.Set, agents []cluster.Agent, tasks []cluster.Task) (*plan.Fit, error) {
	deleted := map[string]bool{}
	var demand []allocator.Group
	for _, c := range p.Changes {
		if c.Kind != manifests.KindApp {
			continue
		}
		app := head.App(c.ID)
		switch {
		case c.Action == plan.ActionDelete:
			deleted[c.ID] = true
		case app == nil:
		case c.Action == plan.ActionCreate || c.Update == plan.UpdateRestart:
			demand = append(demand, allocator.GroupFromApp(*app, app.Instances))
		case c.Update == plan.UpdateScale:
			running := 0
			for _, t := range tasks {
				if t.Owner == cluster.OwnerApp && t.OwnerID == c.ID && !t.Status.State.Terminal() && !t.Kill {
					running++
				}
			}
			if n := app.Instances - running; n > 0 {
				demand = append(demand, allocator.GroupFromApp(*app, n))
			}
		}
	}
	var kept []cluster.Task
	for _, t := range tasks {
		if !deleted[t.OwnerID] {
			kept = append(kept, t)
		}
	}
	v, err := allocator.Fit(allocatorCluster(agents, kept), demand, allocator.Options{Queues: head.Queues})
	if err != nil {
		return nil, err
	}
	f := &plan.Fit{Fits: v.Fits,
		Needed: plan.Resources{CPUs: v.Needed.CPUs, Mem: v.Needed.Mem, Disk: v.Needed.Disk},
		Free:   plan.Resources{CPUs: v.Free.CPUs, Mem: v.Free.Mem, Disk: v.Free.Disk}}
	for _, reason := range v.Reasons {
		f.Unplaced = append(f.Unplaced, plan.UnplacedInstance{Kind: manifests.KindApp, Reason: reason})
	}
	return f, nil
}
