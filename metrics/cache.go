package metrics

import "github.com/prometheus/client_golang/prometheus"

// cacheMetrics follow the leader's in-memory mirror of the cluster state
// (package mirror) and the passes it lets the loop skip.
type cacheMetrics struct {
	drift   prometheus.Counter
	resyncs *prometheus.CounterVec
	idle    prometheus.Counter
}

func newCacheMetrics(reg prometheus.Registerer) cacheMetrics {
	c := cacheMetrics{
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_cache_drift_total",
			Help: "Nodes a full re-read of the cluster state found different from the leader's watch-driven cache (missed or lost watch events; after a lost session some are expected)."}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_cache_resyncs_total",
			Help: "Full re-reads of the cluster state into the leader's cache, by reason (start, timer, new term, watches lost)."}, []string{"reason"}),
		idle: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_passes_idle_total",
			Help: "Reconcile passes that found nothing changed since the last one (same cache epoch, commit and no timer due) and reused its decision."}),
	}
	reg.MustRegister(c.drift, c.resyncs, c.idle)
	return c
}

// CacheResync records a full re-read of the cluster state and the drift it
// found.
func (m *Metrics) CacheResync(reason string, drift int) {
	if m == nil {
		return
	}
	m.cache.resyncs.WithLabelValues(reason).Inc()
	m.cache.drift.Add(float64(drift))
}

// IdlePass records a pass that reused the last decision.
func (m *Metrics) IdlePass() {
	if m != nil {
		m.cache.idle.Inc()
	}
}
