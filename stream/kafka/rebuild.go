package kafka

import (
	"cmp"
	"context"
	"errors"
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

// rebuild resets rb and replays the committed records of every assigned
// partition (within the rebuild window), in topic and partition order.
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
	first, end, since, err := c.bounds(ctx, topic, a.ID)
	if err != nil {
		return 0, fmt.Errorf("rebuild %s/%d: %w", topic, a.ID, err)
	}
	if a.Offset > end {
		c.log.Warn("committed offset is beyond the end of the partition; records were truncated", "topic", topic, "partition", a.ID, "committed", a.Offset, "end", end)
	}
	// Replay [start, stop): from the log start (or the oldest record inside
	// the rebuild window) to the committed offset (or the end of the log,
	// whichever is lower). Retention or compaction may have left nothing.
	start, stop := max(first, since), min(a.Offset, end)
	if start >= stop {
		return 0, nil
	}
	r := c.partitionReader(topic, a.ID)
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return 0, fmt.Errorf("rebuild %s/%d: %w", topic, a.ID, err)
	}
	n := 0
	batch := make([]Message, 0, c.cfg.BatchSize)
	for {
		// Nothing may be readable below stop (transaction markers, a
		// compaction gap at the end of an idle partition): a fetch that
		// finds nothing for a while ends the replay instead of waiting for
		// the next record to be produced.
		fctx, cancel := context.WithTimeout(ctx, replayIdle)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			if len(batch) > 0 {
				rb.Rebuild(batch)
				n += len(batch)
			}
			c.log.Warn("rebuild found no more records before the committed offset", "topic", topic, "partition", a.ID, "at", r.Offset(), "stop", stop)
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("rebuild %s/%d at offset %d of [%d, %d): %w", topic, a.ID, start+int64(n), start, stop, err)
		}
		// Compaction can leave a gap where the last committed record was:
		// a record at or past the committed offset is never replayed.
		beyond := m.Offset >= stop
		if !beyond {
			batch = append(batch, m)
		}
		last := beyond || m.Offset+1 >= stop
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

// replayIdle is how long a replay fetch may find nothing before the
// replay of that partition is taken as complete.
const replayIdle = 5 * time.Second

// bounds returns a partition's log start, its end (the next offset to be
// written) and the first offset inside the rebuild window (-1 without one).
func (c *Consumer) bounds(ctx context.Context, topic string, partition int) (first, end, since int64, err error) {
	t := adminTransport(dialerTransport(c.cfg.Dialer))
	defer t.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.cfg.Brokers...), Timeout: 10 * time.Second, Transport: t}
	reqs := []kafkago.OffsetRequest{kafkago.FirstOffsetOf(partition), kafkago.LastOffsetOf(partition)}
	since = -1
	if c.cfg.RebuildWindow > 0 {
		reqs = append(reqs, kafkago.TimeOffsetOf(partition, time.Now().Add(-c.cfg.RebuildWindow)))
	}
	lo, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("list offsets: %w", err)
	}
	for _, p := range lo.Topics[topic] {
		if p.Partition != partition {
			continue
		}
		if p.Error != nil {
			return 0, 0, 0, fmt.Errorf("list offsets: %w", p.Error)
		}
		first, end = p.FirstOffset, p.LastOffset
		if c.cfg.RebuildWindow > 0 {
			// No record at or after the window's start: nothing to replay.
			since = end
			for off := range p.Offsets {
				if off >= 0 && off < since {
					since = off
				}
			}
		}
		return first, end, since, nil
	}
	return 0, 0, 0, fmt.Errorf("list offsets of %s/%d: no answer", topic, partition)
}
