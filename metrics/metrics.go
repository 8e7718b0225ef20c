// Package metrics exports Berth's Prometheus metrics. Metrics are the
// control plane's: it is the reconcile loop's Observer
// (reconciler.Observer), so the loop itself knows nothing of Prometheus.
// Agent are a node agent's, fed by the agent's hooks. Every method is safe
// on a nil receiver; serving the registry is the command's job.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

// Metrics are the reconciler's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	syncSeconds      prometheus.Histogram
	placementSeconds prometheus.Histogram
	planSize         prometheus.Gauge
	tasks            *prometheus.GaugeVec
	storeErrors      prometheus.Counter
	gitErrors        prometheus.Counter
	rejected         prometheus.Gauge
	converged        prometheus.Gauge
	leader           prometheus.Gauge
	passErrors       prometheus.Counter
	degraded         prometheus.Gauge
	cache            cacheMetrics
}

// NewMetrics creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_sync_duration_seconds", Help: "Time of one reconcile pass: read the cluster, decide, commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		placementSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_placement_duration_seconds", Help: "Time the allocator took to place the new tasks of one pass.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}),
		planSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_plan_size", Help: "Cluster-state writes the last reconcile pass made."}),
		tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_tasks", Help: "Tasks by state, as of the last reconcile pass."}, []string{"state"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_store_errors_total", Help: "Failed reads or writes of the cluster state (ZooKeeper)."}),
		gitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_git_errors_total", Help: "Failed fetches or reads of the Git repository."}),
		rejected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_commit_rejected", Help: "1 while the head commit is invalid and the cluster stays on the last good one."}),
		converged: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_converged", Help: "1 when the cluster runs the head of the branch exactly as declared (or the head is rejected) and the last pass succeeded."}),
		passErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_pass_errors_total", Help: "Reconcile passes that failed to read the cluster or commit their decision."}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_apps_degraded", Help: "Apps the last pass could not decide (a service port clash) or place (no agent has room or allows them); the others proceed."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_leader", Help: "1 while this replica leads and runs the reconcile loop; the other berth_* gauges are current only where it is 1."}),
	}
	m.cache = newCacheMetrics(reg)
	reg.MustRegister(m.syncSeconds, m.placementSeconds, m.planSize, m.tasks, m.storeErrors, m.gitErrors, m.rejected, m.converged, m.leader, m.passErrors, m.degraded)
	return m
}

func (m *Metrics) Pass(d time.Duration, out decide.Result, tasks [][]cluster.Task) {
	if m == nil {
		return
	}
	m.syncSeconds.Observe(d.Seconds())
	m.planSize.Set(float64(len(out.Changes)))
	counts := map[cluster.TaskState]int{}
	for _, part := range tasks {
		for i := range part {
			s := part[i].Status.State
			if s == "" {
				s = cluster.TaskStaging
			}
			counts[s]++
		}
	}
	for _, s := range []cluster.TaskState{cluster.TaskStaging, cluster.TaskStarting, cluster.TaskRunning, cluster.TaskFinished,
		cluster.TaskFailed, cluster.TaskKilling, cluster.TaskKilled, cluster.TaskLost, cluster.TaskUnreachable} {
		m.tasks.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
}

// Placement runs the allocator's work and records how long it took.
func (m *Metrics) Placement(place func()) {
	began := time.Now()
	place()
	if m != nil {
		m.placementSeconds.Observe(time.Since(began).Seconds())
	}
}

func (m *Metrics) PassError() {
	if m != nil {
		m.passErrors.Inc()
	}
}

func (m *Metrics) Degraded(n int) {
	if m != nil {
		m.degraded.Set(float64(n))
	}
}

func (m *Metrics) Converged(b bool) {
	if m != nil {
		m.converged.Set(boolFloat(b))
	}
}

func (m *Metrics) StoreError() {
	if m != nil {
		m.storeErrors.Inc()
	}
}

func (m *Metrics) GitError() {
	if m != nil {
		m.gitErrors.Inc()
	}
}

func (m *Metrics) Rejected(b bool) {
	if m != nil {
		m.rejected.Set(boolFloat(b))
	}
}

func (m *Metrics) Leader(b bool) {
	if m != nil {
		m.leader.Set(boolFloat(b))
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
