package metrics

import "github.com/prometheus/client_golang/prometheus"

// Agent are a node agent's Prometheus metrics (berth agent
// --metrics-listen): what its watch-driven copy of its assignments missed,
// and how many tasks it supervises. Every method is safe on a nil *Agent.
type Agent struct {
	reg     prometheus.Registerer
	drift   prometheus.Counter
	resyncs *prometheus.CounterVec
}

// NewAgent creates the agent's metrics and registers them with reg.
func NewAgent(reg prometheus.Registerer) *Agent {
	m := &Agent{
		reg: reg,
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_agent_cache_drift_total",
			Help: "Assignments a full re-read found different from the agent's watch-driven copy (missed or lost watch events; after a lost session some are expected)."}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_agent_cache_resyncs_total",
			Help: "Full re-reads of the agent's assignments, by reason (start, timer, watches lost)."}, []string{"reason"}),
	}
	reg.MustRegister(m.drift, m.resyncs)
	return m
}

// CacheResync records a full re-read of the agent's assignments and the
// drift it found.
func (m *Agent) CacheResync(reason string, drift int) {
	if m == nil {
		return
	}
	m.resyncs.WithLabelValues(reason).Inc()
	m.drift.Add(float64(drift))
}

// Supervised exports berth_agent_tasks, read from count at each scrape: the
// agent's own count is the truth, so it is not copied into a gauge.
func (m *Agent) Supervised(count func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "berth_agent_tasks",
		Help: "Tasks this agent supervises (assigned and not yet stopped)."}, func() float64 { return float64(count()) }))
}
