// Package embedded runs an in-process Kafka-compatible broker (franz-go's
// kfake) on 127.0.0.1, for `casus demo` and fast unit tests. It is not Apache
// Kafka: no replication, acknowledgements are immediate. Behaviour that
// matters for delivery is proven against a real broker in the integration
// tests, never here alone.
package embedded
