package kafka

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int
}

// Assignment is a partition assigned to this member in a generation.
type Assignment struct {
	TopicPartition
	// Committed is the group's committed offset of the partition: the next
	// record to read. It is FirstOffset (-2) when the group has committed
	// nothing for the partition yet.
	Committed int64
}

// FirstOffset is the Committed value of a partition the group has never
// committed: reading starts at the oldest retained record.
const FirstOffset = kafkago.FirstOffset

// Restorer is implemented by handlers that keep durable state. On each new
// assignment, before any record of the generation reaches Handle, the
// consumer calls Restore with every assigned partition (sorted by topic,
// then partition); it returns where to start reading each partition. A
// missing entry starts at the committed offset; an entry for a partition
// that is not assigned is ignored. An error ends the generation like a
// failed rebuild: the consumer waits RebuildBackoff and rejoins the group,
// which restores again. A handler that implements Restorer is not rebuilt
// by replay even if it also implements Rebuilder.
//
// Restore's context ends with the generation (a rebalance) or the run.
type Restorer interface {
	Restore(ctx context.Context, assigned []Assignment) (map[TopicPartition]int64, error)
}

// assignments lists gen's partitions sorted by topic, then partition.
func assignments(gen *kafkago.Generation) []Assignment {
	var out []Assignment
	for topic, as := range gen.Assignments {
		for _, a := range as {
			out = append(out, Assignment{TopicPartition: TopicPartition{Topic: topic, Partition: a.ID}, Committed: a.Offset})
		}
	}
	slices.SortFunc(out, func(x, y Assignment) int {
		return cmp.Or(cmp.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition))
	})
	return out
}

// restoreOrBackOff asks rs where to start each assigned partition. It
// returns false when the generation must end: on shutdown, at the end of
// the generation, or after a failure, which it follows with a backoff so a
// broker outage does not become a storm of rebalances that each restore.
func (c *Consumer) restoreOrBackOff(ctx, gctx context.Context, assigned []Assignment, rs Restorer) (map[TopicPartition]int64, bool) {
	rctx, cancel := context.WithCancel(gctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	start := time.Now()
	offsets, err := rs.Restore(rctx, assigned)
	if err == nil {
		c.m.restores.Inc()
		c.m.restoreSeconds.Observe(time.Since(start).Seconds())
		held := map[TopicPartition]bool{}
		for _, a := range assigned {
			held[a.TopicPartition] = true
		}
		for tp, off := range offsets {
			if !held[tp] {
				c.log.Warn("restore returned an offset for a partition not assigned; ignored", "topic", tp.Topic, "partition", tp.Partition, "offset", off)
			}
		}
		c.log.Info("restored state", "partitions", len(assigned), "took", time.Since(start).Round(time.Millisecond))
		return offsets, true
	}
	if rctx.Err() != nil {
		return nil, false
	}
	c.m.restoreFailures.Inc()
	c.log.Error("restore state; retrying with the next generation", "err", fmt.Errorf("restore %d partitions: %w", len(assigned), err), "backoff", c.cfg.RebuildBackoff)
	select {
	case <-rctx.Done():
	case <-time.After(c.cfg.RebuildBackoff):
	}
	return nil, false
}
