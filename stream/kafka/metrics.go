package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the Kafka layer's collectors.
type Metrics struct {
	lag             *prometheus.GaugeVec
	committed       *prometheus.CounterVec
	commitFailures  prometheus.Counter
	writes          *prometheus.CounterVec
	writeErrors     prometheus.Counter
	assigned        *prometheus.GaugeVec
	generations     prometheus.Counter
	rebuilt         prometheus.Counter
	rebuildFailures prometheus.Counter
	partial         prometheus.Gauge
	restores        prometheus.Counter
	restoreFailures prometheus.Counter
	restoreSeconds  prometheus.Histogram
	idleMarkers     *prometheus.CounterVec
	stateLoaded     prometheus.Counter
	stateLoadSecs   prometheus.Histogram
	// Latency is the wall time from a record's Kafka timestamp to the
	// acknowledgement of an output it caused, by output kind.
	Latency *prometheus.HistogramVec
}

// NewMetrics creates the collectors on reg; nil leaves them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		lag: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_consumer_lag", Help: "Records between the last fetched offset and the partition's high-water mark.",
		}, []string{"topic", "partition"}),
		committed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_offsets_committed_total", Help: "Records whose offsets were committed after their outputs were acknowledged, by topic.",
		}, []string{"topic"}),
		commitFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_commit_failures_total", Help: "Offset commits refused, mostly by a rebalance; the records are read again.",
		}),
		writes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_kafka_writes_total", Help: "Records acknowledged by the brokers, by topic.",
		}, []string{"topic"}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_kafka_write_errors_total", Help: "Publish attempts that failed and were retried.",
		}),
		assigned: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_group_assigned_partitions", Help: "Partitions assigned to this member in the current generation, by consumer group (one per role).",
		}, []string{"group"}),
		generations: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_group_generations_total", Help: "Consumer group generations joined.",
		}),
		rebuilt: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_state_rebuild_records_total", Help: "Committed records replayed to rebuild correlation state after an assignment.",
		}),
		partial: f.NewGauge(prometheus.GaugeOpts{
			Name: "casus_group_partial_assignment", Help: "1 while this member's classify role holds only some input partitions (another instance shares the group), so Sigma correlation rules count within its partitions only, else 0.",
		}),
		rebuildFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_state_rebuild_failures_total", Help: "Rebuilds of correlation state that failed; the group is rejoined after a backoff.",
		}),
		restores: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_state_restores_total", Help: "Restores of durable state after an assignment that succeeded.",
		}),
		restoreFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_state_restore_failures_total", Help: "Restores of durable state that failed; the group is rejoined after a backoff.",
		}),
		restoreSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name: "casus_state_restore_seconds", Help: "Time from an assignment's restore call to its successful return.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
		}),
		idleMarkers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_consumer_idle_markers_total", Help: "Idle markers sent for partitions that had no record for the idle interval, by topic.",
		}, []string{"topic"}),
		stateLoaded: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_state_load_records_total", Help: "Records read from the state topic to restore state.",
		}),
		stateLoadSecs: f.NewHistogram(prometheus.HistogramOpts{
			Name: "casus_state_load_seconds", Help: "Time to read one partition of the state topic to its end.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
		}),
		Latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "casus_record_to_output_seconds", Help: "Wall time from a record's timestamp to the acknowledgement of an output it caused.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}, []string{"output"}),
	}
}
