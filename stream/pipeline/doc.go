// Package pipeline is the classify role's per-record path, shared by
// `casus run` and `casus classify`: decode a record into a canonical event
// and run the rules, giving signals and the record's event time. It knows
// nothing of Kafka: the caller hands it records and publishes what it
// returns. Incidents and escalations are the later roles' work
// (classify/correlate, classify/campaign).
//
// A record that cannot be decoded becomes a dead letter with a reason; the
// pipeline never stops on one.
//
// Metrics (all prefixed casus_): records_consumed_total{topic},
// decode_failures_total{topic,reason}, timestamp_fallbacks_total{topic,reason},
// signals_total{class,level}, state_entries{kind}, state_evictions_total{kind}
// (shared with the stateful roles, which use their own kinds),
// rule_evaluation_seconds.
package pipeline
