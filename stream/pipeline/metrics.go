package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the pipeline's collectors.
type Metrics struct {
	consumed           *prometheus.CounterVec
	decodeFailures     *prometheus.CounterVec
	decoded            *prometheus.CounterVec
	timestampFallbacks *prometheus.CounterVec
	signals            *prometheus.CounterVec
	// StateEntries and StateEvictions are shared with the stateful stages,
	// which label them with their own kinds.
	StateEntries   *prometheus.GaugeVec
	StateEvictions *prometheus.CounterVec
	ruleSeconds    prometheus.Histogram
}

// NewMetrics creates the collectors and registers them with reg; a nil reg
// leaves them unregistered (tests, offline use).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		consumed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_records_consumed_total", Help: "Telemetry records read, by topic.",
		}, []string{"topic"}),
		decodeFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_decode_failures_total", Help: "Records that could not be decoded, by topic and reason.",
		}, []string{"topic", "reason"}),
		decoded: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_records_decoded_total", Help: "Records decoded, by topic and the format they were decoded as (configured, named by content-type, or sniffed).",
		}, []string{"topic", "format"}),
		timestampFallbacks: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_timestamp_fallbacks_total", Help: "Events whose own time was missing or in the future, given the record's time instead, by topic and reason.",
		}, []string{"topic", "reason"}),
		signals: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_signals_total", Help: "Rule matches, by activity class and rule level.",
		}, []string{"class", "level"}),
		StateEntries: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_state_entries", Help: "Entries of correlation state held in memory, by kind.",
		}, []string{"kind"}),
		StateEvictions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_state_evictions_total", Help: "Entries of correlation state evicted to keep memory bounded, by kind.",
		}, []string{"kind"}),
		ruleSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name: "casus_rule_evaluation_seconds", Help: "Time to evaluate the rules against one event.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
	}
}

// withoutCounters returns Metrics that share m's gauges but count into
// unregistered counters, for replays that must not be counted twice.
func (m *Metrics) withoutCounters() *Metrics {
	q := NewMetrics(nil)
	q.StateEntries, q.StateEvictions = m.StateEntries, m.StateEvictions
	return q
}
