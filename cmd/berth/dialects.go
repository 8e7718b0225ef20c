package main

import (
	"context"
	"net/http"

	"github.com/berthops/berth/chronosapi"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/httpapi"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/marathonapi"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/server"
)

// dialectCluster adapts the reconciler and the cluster state to what the
// read-only Marathon and Chronos APIs read.
type dialectCluster struct {
	rec   *reconciler.Reconciler
	state *cluster.State
	srv   *server.Server
}

func (d dialectCluster) Desired() (*manifests.Set, string) { return d.rec.Desired() }

func (d dialectCluster) Apps() []marathonapi.AppStatus {
	apps := d.rec.Status().Apps
	out := make([]marathonapi.AppStatus, 0, len(apps))
	for _, a := range apps {
		// The same rule as GET /v1/deployments: an app is on its way until
		// it is synced and no longer progressing.
		deploying := a.Sync != rollout.Synced || a.Health == rollout.Progressing
		out = append(out, marathonapi.AppStatus{ID: a.ID, Version: a.Version, Deploying: deploying, Message: a.Message})
	}
	return out
}

func (d dialectCluster) Tasks(ctx context.Context) ([]cluster.Task, error) { return d.state.Tasks(ctx) }
func (d dialectCluster) Agents(ctx context.Context) ([]cluster.Agent, error) {
	return d.state.Agents(ctx)
}
func (d dialectCluster) ServicePorts(ctx context.Context) ([]cluster.ServicePort, error) {
	return d.state.ServicePorts(ctx)
}
func (d dialectCluster) JobStates(ctx context.Context) (map[string]cluster.JobState, error) {
	return d.state.JobStates(ctx)
}
func (d dialectCluster) JobRuns(ctx context.Context, job string) ([]cluster.JobRun, error) {
	return d.state.JobRuns(ctx, job)
}

func (d dialectCluster) Leader(ctx context.Context) (string, string, error) {
	id, addr, _, err := d.srv.LeaderAddress(ctx)
	return id, addr, err
}

// Subscribe turns the reconciler's status stream into bare signals.
func (d dialectCluster) Subscribe(ch chan<- struct{}) (cancel func()) {
	statuses := make(chan reconciler.Status, 1)
	stop := d.rec.Subscribe(statuses)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-statuses:
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return func() { stop(); close(done) }
}

// dialectRoutes are the read-only Marathon (/v2, /ping) and Chronos
// (/scheduler) APIs, with the same token and forwarding as Berth's own.
func (cp *controlPlane) dialectRoutes(srv *server.Server, api httpapi.Options) map[string]http.Handler {
	d := dialectCluster{rec: cp.rec, state: cp.state, srv: srv}
	routes := marathonapi.Routes(d, marathonapi.Options{Repo: cp.flags.repo, Branch: cp.flags.branch, Token: api.Token,
		ProtectReads: api.ProtectReads, Forward: api.Forward, Version: version, Logger: api.Logger})
	for pattern, h := range chronosapi.Routes(d, chronosapi.Options{Repo: cp.flags.repo, Branch: cp.flags.branch, Token: api.Token,
		ProtectReads: api.ProtectReads, Forward: api.Forward, Logger: api.Logger}) {
		routes[pattern] = h
	}
	return routes
}
