package kafka

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Rebuilder is implemented by handlers whose state derives from the records
// already committed. On every new assignment the consumer resets it and
// replays the committed part of each assigned partition through Rebuild,
// whose outputs are discarded: they were published before the offsets were
// committed. This keeps a restarted or rebalanced process's incidents whole
// without a state store, at the cost of reading the retained input again.
type Rebuilder interface {
	Reset()
	Rebuild(batch []Message)
}

// rebuild replays [start of retention, committed offset) of every assigned
// partition, in topic and partition order.
func (c *Consumer) rebuild(ctx context.Context, gen *kafkago.Generation, rb Rebuilder) error {
	rb.Reset()
	type part struct {
		topic string
		a     kafkago.PartitionAssignment
	}
	var parts []part
	for topic, as := range gen.Assignments {
		for _, a := range as {
			if a.Offset > 0 {
				parts = append(parts, part{topic, a})
			}
		}
	}
	slices.SortFunc(parts, func(x, y part) int {
		return cmp.Or(cmp.Compare(x.topic, y.topic), cmp.Compare(x.a.ID, y.a.ID))
	})
	start := time.Now()
	total := 0
	for _, p := range parts {
		n, err := c.replay(ctx, p.topic, p.a, rb)
		total += n
		if err != nil {
			return err
		}
	}
	if total > 0 {
		c.m.rebuilt.Add(float64(total))
		c.log.Info("rebuilt state from committed records", "records", total, "partitions", len(parts), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (c *Consumer) replay(ctx context.Context, topic string, a kafkago.PartitionAssignment, rb Rebuilder) (int, error) {
	// Retention or compaction may have removed everything below the
	// committed offset: then there is nothing to replay, and a fetch from
	// the log start would wait for records that are not committed yet.
	start, err := startOffset(ctx, c.cfg.Brokers, c.cfg.Dialer, topic, a.ID)
	if err != nil {
		return 0, fmt.Errorf("rebuild %s/%d: %w", topic, a.ID, err)
	}
	if start >= a.Offset {
		return 0, nil
	}
	r := c.partitionReader(topic, a.ID)
	defer r.Close()
	if err := r.SetOffset(kafkago.FirstOffset); err != nil {
		return 0, fmt.Errorf("rebuild %s/%d: %w", topic, a.ID, err)
	}
	n := 0
	batch := make([]Message, 0, c.cfg.BatchSize)
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return n, fmt.Errorf("rebuild %s/%d at %d of %d: %w", topic, a.ID, n, a.Offset, err)
		}
		// Compaction can leave a gap where the last committed record was:
		// a record at or past the committed offset is not replayed.
		beyond := m.Offset >= a.Offset
		if !beyond {
			batch = append(batch, m)
		}
		last := beyond || m.Offset+1 >= a.Offset
		if len(batch) == cap(batch) || (last && len(batch) > 0) {
			rb.Rebuild(batch)
			n += len(batch)
			batch = batch[:0]
		}
		if last {
			return n, nil
		}
	}
}

// startOffset is the first offset a partition still holds.
func startOffset(ctx context.Context, brokers []string, dialer *kafkago.Dialer, topic string, partition int) (int64, error) {
	var base *kafkago.Transport
	if dialer != nil {
		base = &kafkago.Transport{ClientID: dialer.ClientID, TLS: dialer.TLS, SASL: dialer.SASLMechanism}
	}
	t := adminTransport(base)
	defer t.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: t}
	lo, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.FirstOffsetOf(partition)}}})
	if err != nil {
		return 0, fmt.Errorf("log start offset: %w", err)
	}
	for _, p := range lo.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				return 0, fmt.Errorf("log start offset: %w", p.Error)
			}
			return p.FirstOffset, nil
		}
	}
	return 0, fmt.Errorf("log start offset of %s/%d: no answer", topic, partition)
}
