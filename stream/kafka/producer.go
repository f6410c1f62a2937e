package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Header is a record header.
type Header = kafkago.Header

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	Brokers   []string
	Transport *kafkago.Transport
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Producer publishes records synchronously with RequiredAcks=all: Publish
// returns only when every record is acknowledged by all in-sync replicas.
// Keys are partitioned with the Java client's murmur2 hash so consumers in
// other languages see the same key → partition mapping; a record addressed
// with ToPartition goes to the partition it names instead.
type Producer struct {
	w   *kafkago.Writer
	log *slog.Logger
	m   *Metrics
}

// NewProducer returns a Producer.
func NewProducer(cfg ProducerConfig) *Producer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	w := &kafkago.Writer{
		Addr:         kafkago.TCP(cfg.Brokers...),
		Balancer:     partitionBalancer{keyed: &kafkago.Murmur2Balancer{}},
		RequiredAcks: kafkago.RequireAll, // a literal Writer defaults to no acks at all
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    1000,
		// Below the brokers' default message.max.bytes (1 MiB + 12 B per
		// batch) so an oversize batch fails here, clearly, not at the broker.
		BatchBytes:  1_000_000,
		MaxAttempts: 5,
		ErrorLogger: kafkaLogger(cfg.Logger, slog.LevelWarn),
	}
	if cfg.Transport != nil {
		w.Transport = cfg.Transport
	}
	return &Producer{w: w, log: cfg.Logger.With("component", "producer"), m: cfg.Metrics}
}

// partitionTarget is the WriterData of a message addressed with ToPartition.
// Being unexported, no other code can set it by accident.
type partitionTarget struct{ partition int }

// ToPartition returns m addressed to partition p of its topic, bypassing key
// hashing: state snapshots of input partition p go to partition p of the
// state topic whatever their key. If the topic has no partition p, the
// record goes to p modulo the topic's partition count (callers check the
// counts at start-up with Partitions). It uses m.WriterData, which the
// Producer therefore reserves for itself.
func ToPartition(m Message, p int) Message {
	m.WriterData = partitionTarget{partition: p}
	return m
}

// partitionBalancer honours ToPartition and hashes every other record's key
// with keyed.
type partitionBalancer struct{ keyed kafkago.Balancer }

// Balance implements kafkago.Balancer. The writer passes the topic's
// partition ids, 0 to n-1.
func (b partitionBalancer) Balance(m Message, partitions ...int) int {
	t, ok := m.WriterData.(partitionTarget)
	if !ok || len(partitions) == 0 {
		return b.keyed.Balance(m, partitions...)
	}
	if slices.Contains(partitions, t.partition) {
		return t.partition
	}
	n := len(partitions)
	return partitions[((t.partition%n)+n)%n]
}

// MaxRecordBytes bounds a record casus writes (key, value and headers),
// below the producer's batch limit; dead letters of larger records carry a
// truncated copy, and an output above it is replaced by a dead letter.
const MaxRecordBytes = 960 << 10

// PermanentError is a publish failure that retrying cannot cure: a record
// too large for the client or the broker, or a broker error that is not
// retriable (authorisation, an invalid topic).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent publish failure: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// permanent reports whether err cannot succeed on retry.
func permanent(err error) bool {
	var tooLarge kafkago.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil && permanent(e) {
				return true
			}
		}
		return false
	}
	var kerr kafkago.Error
	return errors.As(err, &kerr) && !kerr.Temporary()
}

// Publish writes msgs and waits for their acknowledgement, retrying the
// whole batch with backoff while ctx allows: a broker outage delays a batch,
// it does not drop it. Retrying everything rather than only what failed
// keeps the records of one key in order; the duplicates it may cause carry
// the same ids. A permanent failure returns at once as *PermanentError.
func (p *Producer) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 200 * time.Millisecond
	for {
		err := p.w.WriteMessages(ctx, msgs...)
		if err == nil {
			p.count(msgs)
			return nil
		}
		p.m.writeErrors.Inc()
		if permanent(err) {
			return &PermanentError{Err: fmt.Errorf("publish %d records: %w", len(msgs), err)}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish %d records: %w", len(msgs), errors.Join(ctx.Err(), err))
		}
		p.log.Warn("publish, will retry", "records", len(msgs), "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %d records: %w", len(msgs), errors.Join(ctx.Err(), err))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (p *Producer) count(msgs []Message) {
	for _, m := range msgs {
		p.m.writes.WithLabelValues(m.Topic).Inc()
	}
}

// Close flushes and closes the writer.
func (p *Producer) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
