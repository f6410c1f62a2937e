package kafka

import "time"

// idleMark is the WriterData of an idle marker. A record read from Kafka
// never carries WriterData, and no other package can create this type, so
// a marker cannot be mistaken for a record nor a record for a marker.
type idleMark struct{}

// idleMarker returns the marker saying that tp has had no record for the
// consumer's IdleAfter.
func idleMarker(tp TopicPartition) Message {
	return Message{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, Time: time.Now(), WriterData: idleMark{}}
}

// IsIdleMarker reports whether m is an idle marker rather than a record. A
// marker (sent when ConsumerConfig.IdleAfter is set) has Topic and
// Partition set, Offset -1, Time set to the wall time it was made, and no
// key, value or headers. It says that the partition's reader fetched no
// record for IdleAfter, so a stage ordering records by event time may
// advance its watermark without waiting for that partition. Markers come
// in order with the partition's records, are never committed, and must not
// be published.
func IsIdleMarker(m Message) bool {
	_, ok := m.WriterData.(idleMark)
	return ok && m.Offset == -1
}
