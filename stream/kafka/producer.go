package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// other languages see the same key → partition mapping.
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
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, // a literal Writer defaults to no acks at all
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    1000,
		BatchBytes:   MaxRecordBytes + 64<<10,
		MaxAttempts:  5,
		ErrorLogger:  kafkaLogger(cfg.Logger, slog.LevelWarn),
	}
	if cfg.Transport != nil {
		w.Transport = cfg.Transport
	}
	return &Producer{w: w, log: cfg.Logger.With("component", "producer"), m: cfg.Metrics}
}

// MaxRecordBytes bounds a record value casus writes, below the broker's
// default message.max.bytes (1 MiB plus overhead); dead letters of larger
// records carry a truncated copy.
const MaxRecordBytes = 960 << 10

// Publish writes msgs and waits for their acknowledgement, retrying with
// backoff while ctx allows: a broker outage delays a batch, it does not drop
// it. It returns an error only when ctx ends first.
func (p *Producer) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := 200 * time.Millisecond
	pending := msgs
	for {
		err := p.w.WriteMessages(ctx, pending...)
		if err == nil {
			p.count(pending)
			return nil
		}
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(pending) {
			// Retry only what failed; the rest is acknowledged.
			var again []Message
			var ok []Message
			for i, e := range werrs {
				if e != nil {
					again = append(again, pending[i])
				} else {
					ok = append(ok, pending[i])
				}
			}
			p.count(ok)
			pending = again
		}
		p.m.writeErrors.Inc()
		if ctx.Err() != nil {
			return fmt.Errorf("publish %d records: %w", len(pending), errors.Join(ctx.Err(), err))
		}
		p.log.Warn("publish, will retry", "records", len(pending), "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %d records: %w", len(pending), errors.Join(ctx.Err(), err))
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
