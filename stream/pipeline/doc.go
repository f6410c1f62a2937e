// Package pipeline is the per-record path shared by `casus run` and
// `casus classify`: decode a record into a canonical event, run the rules,
// fold the signals into incidents, and decide escalations. It knows nothing of
// Kafka: the caller hands it records and publishes what it returns, so the
// offline command and the service give the same escalations for the same
// input.
//
// A record that cannot be decoded becomes a dead letter with a reason; the
// pipeline never stops on one.
//
// Metrics (all prefixed casus_): records_consumed_total{topic},
// decode_failures_total{topic,reason}, timestamp_fallbacks_total{topic,reason},
// signals_total{class,level}, escalations_total{level,candidacy},
// incidents_open{level}, state_entries{kind}, state_evictions_total{kind},
// rule_evaluation_seconds.
package pipeline
