package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// StateConfig configures a StateStore.
type StateConfig struct {
	Brokers []string
	Dialer  *kafkago.Dialer
	Topic   string // the compacted state topic
	Logger  *slog.Logger
	Metrics *Metrics
}

// StateStore reads the compacted state topic, in which partition p holds
// the state of input partition p. Writes are ordinary Producer.Publish
// calls with ToPartition, made once the outputs they account for are
// acknowledged, so a crash between the two replays the batch rather than
// skipping it.
type StateStore struct {
	cfg StateConfig
	log *slog.Logger
	m   *Metrics
}

// NewStateStore validates cfg and returns a StateStore.
func NewStateStore(cfg StateConfig) (*StateStore, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("kafka state store: brokers and topic are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &StateStore{cfg: cfg, log: cfg.Logger.With("component", "state", "topic", cfg.Topic), m: cfg.Metrics}, nil
}

// Topic returns the state topic's name.
func (s *StateStore) Topic() string { return s.cfg.Topic }

// loadStall bounds how long Load waits for the next record below the end
// offset it captured. The records are there, so only a broker in trouble
// (or a gap no reader can cross, such as transaction markers, which casus
// does not write) makes it wait that long.
const loadStall = 30 * time.Second

// Load reads partition p of the state topic from its first offset to its
// end as of the call, and calls fn for each record whose key starts with
// prefix, in offset order; value is nil for a tombstone. It returns the
// number of records read (matching prefix or not). Records written after
// the call began are not read.
//
// kafka-go reads an empty value as nil, so an empty value is a tombstone
// here: never write an empty snapshot. A compacted partition holds only the
// newest record of each key among its older segments, but older values of
// a key may still precede the newest in the active segment: fn must let a
// later record of a key replace an earlier one. An error from fn ends the
// load and is returned wrapped. Temporary broker errors while finding the
// partition's bounds (including an unknown partition, which a topic being
// created reports for a moment) are retried for up to 10 s within ctx.
func (s *StateStore) Load(ctx context.Context, partition int, prefix string, fn func(key string, value []byte) error) (int, error) {
	start := time.Now()
	first, end, err := s.bounds(ctx, partition)
	if err != nil {
		return 0, err
	}
	n, err := s.read(ctx, partition, first, end, prefix, fn)
	s.m.stateLoaded.Add(float64(n))
	if err != nil {
		return n, err
	}
	took := time.Since(start)
	s.m.stateLoadSecs.Observe(took.Seconds())
	s.log.Debug("loaded state partition", "partition", partition, "prefix", prefix, "records", n, "from", first, "to", end, "took", took.Round(time.Millisecond))
	return n, nil
}

func (s *StateStore) read(ctx context.Context, partition int, first, end int64, prefix string, fn func(string, []byte) error) (int, error) {
	if first >= end {
		return 0, nil
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:        s.cfg.Brokers,
		Dialer:         s.cfg.Dialer,
		Topic:          s.cfg.Topic,
		Partition:      partition,
		MinBytes:       1,
		MaxBytes:       8 << 20,
		MaxWait:        250 * time.Millisecond,
		IsolationLevel: kafkago.ReadCommitted,
		ErrorLogger:    kafkaLogger(s.log, slog.LevelWarn),
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return 0, fmt.Errorf("load state %s/%d: %w", s.cfg.Topic, partition, err)
	}
	n := 0
	next := first
	for {
		// A deadline on FetchMessage loses no record (see Consumer.fetch).
		fctx, cancel := context.WithTimeout(ctx, loadStall)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no record for %s", loadStall)
			}
			return n, fmt.Errorf("load state %s/%d at offset %d of [%d, %d): %w", s.cfg.Topic, partition, next, first, end, err)
		}
		// Compaction may have removed records before the end: a record at
		// or past the end was written after the call began.
		if m.Offset >= end {
			return n, nil
		}
		n++
		next = m.Offset + 1
		if strings.HasPrefix(string(m.Key), prefix) {
			value := m.Value
			if len(value) == 0 {
				value = nil
			}
			if err := fn(string(m.Key), value); err != nil {
				return n, fmt.Errorf("load state %s/%d at offset %d: %w", s.cfg.Topic, partition, m.Offset, err)
			}
		}
		if next >= end {
			return n, nil
		}
	}
}

// bounds returns the log start and the end (the next offset to be written,
// below any open transaction) of a partition of the state topic. A topic
// created moments ago may answer "not leader" for a while: temporary broker
// errors are retried for up to retryTemporaryFor.
func (s *StateStore) bounds(ctx context.Context, partition int) (first, end int64, err error) {
	err = retryTemporary(ctx, func() error {
		var err error
		first, end, err = s.boundsOnce(ctx, partition)
		return err
	})
	return first, end, err
}

// retryTemporaryFor bounds the retries of temporary broker errors.
const retryTemporaryFor = 10 * time.Second

// retryTemporary calls f until it returns nil or an error that is not a
// temporary Kafka error, or until it has failed for retryTemporaryFor.
func retryTemporary(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(retryTemporaryFor)
	backoff := 100 * time.Millisecond
	for {
		err := f()
		var kerr kafkago.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (s *StateStore) boundsOnce(ctx context.Context, partition int) (first, end int64, err error) {
	t := adminTransport(dialerTransport(s.cfg.Dialer))
	defer t.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(s.cfg.Brokers...), Timeout: 10 * time.Second, Transport: t}
	lo, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{
		Topics:         map[string][]kafkago.OffsetRequest{s.cfg.Topic: {kafkago.FirstOffsetOf(partition), kafkago.LastOffsetOf(partition)}},
		IsolationLevel: kafkago.ReadCommitted,
	})
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of state %s/%d: %w", s.cfg.Topic, partition, err)
	}
	for _, p := range lo.Topics[s.cfg.Topic] {
		if p.Partition != partition {
			continue
		}
		if p.Error != nil {
			return 0, 0, fmt.Errorf("offsets of state %s/%d: %w", s.cfg.Topic, partition, p.Error)
		}
		return p.FirstOffset, p.LastOffset, nil
	}
	return 0, 0, fmt.Errorf("offsets of state %s/%d: no answer", s.cfg.Topic, partition)
}

// Partitions returns topic's partition count, or an error naming the topic
// if it does not exist. Stages whose state partition p belongs to input
// partition p check at start-up that the state topic has at least as many
// partitions as their inputs.
func Partitions(ctx context.Context, brokers []string, dialer *kafkago.Dialer, topic string) (int, error) {
	t := adminTransport(dialerTransport(dialer))
	defer t.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: t}
	var md *kafkago.MetadataResponse
	err := retryTransient(ctx, func() (err error) {
		if md, err = cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}}); err != nil {
			return fmt.Errorf("metadata of topic %s: %w", topic, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, tm := range md.Topics {
		if tm.Name != topic {
			continue
		}
		if tm.Error != nil {
			return 0, fmt.Errorf("topic %s: %w", topic, tm.Error)
		}
		if len(tm.Partitions) == 0 {
			return 0, fmt.Errorf("topic %s has no partitions", topic)
		}
		return len(tm.Partitions), nil
	}
	return 0, fmt.Errorf("topic %s: %w", topic, kafkago.UnknownTopicOrPartition)
}

// StateTopicConfigs returns the settings casus creates the state topic
// with.
func StateTopicConfigs() map[string]string {
	return map[string]string{
		// Only the newest snapshot of each key matters; a tombstone deletes
		// the key.
		"cleanup.policy": "compact",
		// The active segment is never compacted, so with the 7-day default
		// a restore would read a week of superseded snapshots; rolling
		// hourly makes them cleanable within the hour.
		"segment.ms": "3600000",
		// Snapshots are rewritten often: clean once a tenth of the log is
		// superseded (default half), so a restore reads little more than
		// the live state, at the cost of more cleaner I/O.
		"min.cleanable.dirty.ratio": "0.1",
		// A reader less than a minute behind (an operator or an audit
		// consumer) sees every intermediate snapshot; a minute costs a
		// restore nothing noticeable.
		"min.compaction.lag.ms": "60000",
		// Tombstones outlive compaction by a day, so a restore that began
		// before a key was deleted still reads the deletion instead of
		// keeping the old value (Kafka's default, stated so it is kept).
		"delete.retention.ms": "86400000",
	}
}

// dialerTransport returns a transport with d's identity and security, or
// nil for the defaults.
func dialerTransport(d *kafkago.Dialer) *kafkago.Transport {
	if d == nil {
		return nil
	}
	return &kafkago.Transport{ClientID: d.ClientID, TLS: d.TLS, SASL: d.SASLMechanism}
}
