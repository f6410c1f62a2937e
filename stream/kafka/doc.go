// Package kafka moves records between Kafka and casus with at-least-once
// delivery: a Consumer joins a consumer group, reads each assigned partition
// with its own reader, hands batches to a Handler, and commits a partition's
// offset only after the Handler returned, which it does only once every
// output the batch caused has been acknowledged by all in-sync replicas
// (RequiredAcks=all). A Producer publishes those outputs synchronously.
//
// It uses github.com/segmentio/kafka-go and its ConsumerGroup/Generation API,
// which exposes partition assignments: a handler that implements Restorer
// restores its state on each assignment, from a compacted state topic read
// with a StateStore, before any record reaches it; one that implements
// Rebuilder is rebuilt by replaying committed input instead. Idle markers
// (ConsumerConfig.IdleAfter) tell event-time stages that a partition is
// quiet.
//
// NewSecurity builds the TLS configuration and SASL mechanism (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) that Security.Apply sets on the one Dialer
// and Transport every connection copies, and Preflight connects once at
// start-up so that a wrong password or certificate is one clear ConnectError
// rather than clients retrying in a loop.
//
// Metrics (prefix casus_): consumer_lag{topic,partition} (only for partitions this process reads), state_rebuild_records_total, state_rebuild_failures_total,
// offsets_committed_total{topic}, commit_failures_total,
// kafka_writes_total{topic}, kafka_write_errors_total,
// record_to_output_seconds{output}, group_assigned_partitions, group_partial_assignment,
// group_generations_total, state_restores_total, state_restore_failures_total,
// state_restore_seconds, consumer_idle_markers_total{topic},
// state_load_records_total, state_load_seconds.
package kafka
