package kafka

import (
	"context"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// adminTransport returns a transport for one administrative call. kafka-go's
// Transport routes requests by a metadata cache that lives 6 s by default,
// so a shared one reports topics created through another client as unknown
// for that long; a fresh transport fetches the metadata on first use. Its
// TTL is also the time kafka-go allows each metadata fetch, so it must not
// be short: at 100 ms, a broker slowed by load or far away made every
// administrative call fail with "context deadline exceeded".
func adminTransport(base *kafkago.Transport) *kafkago.Transport {
	t := &kafkago.Transport{DialTimeout: 10 * time.Second, MetadataTTL: 2 * time.Second}
	if base != nil {
		t.ClientID, t.TLS, t.SASL, t.Dial = base.ClientID, base.TLS, base.SASL, base.Dial
		if base.DialTimeout > 0 {
			t.DialTimeout = base.DialTimeout
		}
	}
	return t
}

// EndOffsets returns the next offset to be written of every partition of
// topic. It fails unless every partition the metadata lists answers: a fresh
// broker may answer for none, and an empty answer must not read as "empty".
func EndOffsets(ctx context.Context, brokers []string, base *kafkago.Transport, topic string) (map[int]int64, error) {
	t := adminTransport(base)
	defer t.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: t}
	md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %v", topic, md.Topics)
	}
	var reqs []kafkago.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafkago.LastOffsetOf(p.ID))
	}
	lo, err := c.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := map[int]int64{}
	for _, p := range lo.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		ends[p.Partition] = p.LastOffset
	}
	if len(reqs) == 0 || len(ends) != len(reqs) {
		return nil, fmt.Errorf("end offsets of %s: %d of %d partitions answered", topic, len(ends), len(reqs))
	}
	return ends, nil
}

// Committed returns group's committed offsets for the given partitions of
// topic; a partition without a commit has -1.
func Committed(ctx context.Context, brokers []string, base *kafkago.Transport, group, topic string, partitions []int) (map[int]int64, error) {
	t := adminTransport(base)
	defer t.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: t}
	of, err := c.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
	if err != nil {
		return nil, fmt.Errorf("committed offsets of %s on %s: %w", group, topic, err)
	}
	if of.Error != nil {
		return nil, fmt.Errorf("committed offsets of %s on %s: %w", group, topic, of.Error)
	}
	out := map[int]int64{}
	for _, p := range of.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("committed offset of %s on %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	if len(out) != len(partitions) {
		return nil, fmt.Errorf("committed offsets of %s on %s: %d of %d partitions answered", group, topic, len(out), len(partitions))
	}
	return out, nil
}

// CaughtUp reports whether group has committed every record topic holds now.
func CaughtUp(ctx context.Context, brokers []string, base *kafkago.Transport, group, topic string) (bool, error) {
	ends, err := EndOffsets(ctx, brokers, base, topic)
	if err != nil {
		return false, err
	}
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	committed, err := Committed(ctx, brokers, base, group, topic, parts)
	if err != nil {
		return false, err
	}
	for p, end := range ends {
		// A partition that never held a record is caught up without a
		// commit (the group commits nothing for it: -1).
		if max(committed[p], 0) < end {
			return false, nil
		}
	}
	return true, nil
}
