package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Message is a record read from Kafka.
type Message = kafkago.Message

// Handler processes a batch of records in order. It must return only when
// every output the batch caused is acknowledged; its return ends the batch
// and the batch's offsets are committed. A non-nil error means the outputs
// were not all acknowledged (shutdown or a broker outage that outlived the
// grace period): nothing of the batch is committed and it is read again by
// whoever owns the partition next.
type Handler interface {
	Handle(ctx context.Context, batch []Message) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, batch []Message) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, batch []Message) error { return f(ctx, batch) }

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers      []string
	GroupID      string
	Topics       []string
	BatchSize    int           // records per batch, default 500
	BatchTimeout time.Duration // how long to wait to fill a batch, default 200ms
	MaxBytes     int           // fetch size per partition, default 8 MiB
	// Grace bounds the work after the run context is cancelled: the batch in
	// flight is finished, its outputs flushed and its offsets committed
	// within it, else abandoned uncommitted.
	Grace   time.Duration
	Dialer  *kafkago.Dialer
	Logger  *slog.Logger
	Metrics *Metrics
	// RebuildWindow bounds the replay that rebuilds state after an
	// assignment to records younger than it (by record timestamp); 0
	// replays all the retained committed records.
	RebuildWindow time.Duration
	// RebuildBackoff is the wait after a failed rebuild before the group is
	// rejoined, default 5s.
	RebuildBackoff time.Duration
}

// Consumer reads the telemetry topics as a member of a consumer group.
type Consumer struct {
	cfg      ConsumerConfig
	log      *slog.Logger
	m        *Metrics
	assigned atomic.Int64 // partitions assigned in the current generation; -1 before joining
}

// NewConsumer validates cfg and returns a Consumer.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if len(cfg.Brokers) == 0 || cfg.GroupID == "" || len(cfg.Topics) == 0 {
		return nil, errors.New("kafka consumer: brokers, group id and topics are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 200 * time.Millisecond
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 8 << 20
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.RebuildBackoff <= 0 {
		cfg.RebuildBackoff = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	c := &Consumer{cfg: cfg, log: cfg.Logger.With("component", "consumer"), m: cfg.Metrics}
	c.assigned.Store(-1)
	return c, nil
}

// Ready reports whether the consumer has joined its group and holds at
// least one partition.
func (c *Consumer) Ready() bool { return c.assigned.Load() > 0 }

// Run consumes until ctx is cancelled, then finishes the batch in flight
// within the grace period, commits it and leaves the group. It returns nil
// after a clean shutdown.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	// Work in flight outlives the cancellation of ctx by at most the grace
	// period, so SIGTERM does not cut a batch between its writes and its commit.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(c.cfg.Grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stopGrace()

	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                    c.cfg.GroupID,
		Brokers:               c.cfg.Brokers,
		Dialer:                c.cfg.Dialer,
		Topics:                c.cfg.Topics,
		StartOffset:           kafkago.FirstOffset,
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      time.Second,
		WatchPartitionChanges: true,
		Logger:                kafkaLogger(c.log, slog.LevelDebug),
		ErrorLogger:           kafkaLogger(c.log, slog.LevelWarn),
	})
	if err != nil {
		return fmt.Errorf("kafka consumer group %s: %w", c.cfg.GroupID, err)
	}
	defer func() {
		if err := cg.Close(); err != nil {
			c.log.Warn("leave consumer group", "err", err)
		}
	}()

	var failed error
	for ctx.Err() == nil && failed == nil {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn("join consumer group", "group", c.cfg.GroupID, "err", err)
			continue
		}
		c.m.generations.Inc()
		failed = c.runGeneration(ctx, work, gen, h)
	}
	c.assigned.Store(0)
	c.m.assigned.Set(0)
	return failed
}

func (c *Consumer) runGeneration(ctx, work context.Context, gen *kafkago.Generation, h Handler) error {
	n := 0
	var parts []string
	for topic, as := range gen.Assignments {
		for _, a := range as {
			n++
			parts = append(parts, topic+"/"+strconv.Itoa(a.ID))
		}
	}
	sort.Strings(parts)
	c.log.Info("joined consumer group", "group", gen.GroupID, "generation", gen.ID, "member", gen.MemberID, "partitions", parts)
	c.checkWholeAssignment(ctx, n)

	// Readers start at once and block when the channel is full; the
	// processing goroutine first rebuilds the handler's state.
	msgs := make(chan Message, c.cfg.BatchSize)
	for topic, as := range gen.Assignments {
		for _, a := range as {
			gen.Start(func(gctx context.Context) { c.read(ctx, gctx, topic, a, msgs) })
		}
	}
	var failed error
	var mu sync.Mutex
	done := make(chan struct{})
	gen.Start(func(gctx context.Context) {
		defer close(done)
		if rb, ok := h.(Rebuilder); ok && !c.rebuildOrBackOff(ctx, gctx, gen, rb) {
			return // ends the generation; the next one rebuilds again
		}
		// Ready only with partitions held and state rebuilt.
		c.assigned.Store(int64(n))
		c.m.assigned.Set(float64(n))
		err := c.process(ctx, gctx, work, gen, msgs, h)
		mu.Lock()
		failed = err
		mu.Unlock()
	})
	<-done
	c.assigned.Store(0)
	c.m.assigned.Set(0)
	mu.Lock()
	defer mu.Unlock()
	return failed
}

// rebuildOrBackOff rebuilds the handler's state, stopping early on shutdown
// or the end of the generation. After a failure it waits before returning
// false, so a broker outage does not turn into a storm of rebalances that
// each replay the retained input.
func (c *Consumer) rebuildOrBackOff(ctx, gctx context.Context, gen *kafkago.Generation, rb Rebuilder) bool {
	rctx, cancel := context.WithCancel(gctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	err := c.rebuild(rctx, gen, rb)
	if err == nil {
		return true
	}
	if rctx.Err() != nil {
		return false
	}
	c.m.rebuildFailures.Inc()
	c.log.Error("rebuild state; retrying with the next generation", "err", err, "backoff", c.cfg.RebuildBackoff)
	select {
	case <-rctx.Done():
	case <-time.After(c.cfg.RebuildBackoff):
	}
	return false
}

// read fetches one partition into msgs until the generation or the run ends.
func (c *Consumer) read(ctx, gctx context.Context, topic string, a kafkago.PartitionAssignment, msgs chan<- Message) {
	r := c.partitionReader(topic, a.ID)
	defer r.Close()
	if err := r.SetOffset(a.Offset); err != nil {
		c.log.Error("set offset", "topic", topic, "partition", a.ID, "offset", a.Offset, "err", err)
		return
	}
	fctx, cancel := context.WithCancel(gctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel) // shutdown: stop fetching at once
	defer stop()
	part := strconv.Itoa(a.ID)
	for {
		m, err := r.FetchMessage(fctx)
		if err != nil {
			if fctx.Err() != nil {
				return
			}
			c.log.Warn("fetch", "topic", topic, "partition", a.ID, "err", err)
			select {
			case <-fctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		c.m.lag.WithLabelValues(topic, part).Set(float64(max(m.HighWaterMark-m.Offset-1, 0)))
		select {
		case msgs <- m:
		case <-fctx.Done():
			return
		}
	}
}

// process batches records, hands them to h and commits what h finished.
func (c *Consumer) process(ctx, gctx, work context.Context, gen *kafkago.Generation, msgs <-chan Message, h Handler) error {
	batch := make([]Message, 0, c.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		batch = batch[:0]
		// Wait for the first record of a batch, then fill it until full or
		// the batch timeout.
		select {
		case <-ctx.Done():
			return nil
		case <-gctx.Done():
			return nil
		case f := <-msgs:
			batch = append(batch, f)
		}
		timer.Reset(c.cfg.BatchTimeout)
	fill:
		for len(batch) < c.cfg.BatchSize {
			select {
			case f := <-msgs:
				batch = append(batch, f)
			case <-timer.C:
				break fill
			case <-ctx.Done():
				break fill
			case <-gctx.Done():
				break fill
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if err := h.Handle(work, batch); err != nil {
			// Not acknowledged: commit nothing; the records are read again.
			return fmt.Errorf("handle batch of %d records: %w", len(batch), err)
		}
		if err := c.commit(gen, batch); err != nil {
			// The generation ended under us (rebalance): the new owner
			// reads these records again; their outputs have deterministic ids.
			c.m.commitFailures.Inc()
			c.log.Warn("commit offsets", "err", err)
			return nil
		}
	}
}

func (c *Consumer) commit(gen *kafkago.Generation, batch []Message) error {
	offsets := map[string]map[int]int64{}
	for _, m := range batch {
		p := offsets[m.Topic]
		if p == nil {
			p = map[int]int64{}
			offsets[m.Topic] = p
		}
		if next := m.Offset + 1; next > p[m.Partition] {
			p[m.Partition] = next
		}
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		return fmt.Errorf("commit generation %d: %w", gen.ID, err)
	}
	for _, m := range batch {
		c.m.committed.WithLabelValues(m.Topic).Inc()
	}
	return nil
}

func kafkaLogger(l *slog.Logger, level slog.Level) kafkago.LoggerFunc {
	return func(format string, args ...any) {
		l.Log(context.Background(), level, fmt.Sprintf(format, args...), "source", "kafka-go")
	}
}

// partitionReader reads one partition outside the group protocol: the
// consumer group assigns partitions, each reader only fetches.
func (c *Consumer) partitionReader(topic string, partition int) *kafkago.Reader {
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Dialer:    c.cfg.Dialer,
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  c.cfg.MaxBytes,
		MaxWait:   250 * time.Millisecond,
		// Records of aborted transactions were never meant to be seen.
		IsolationLevel: kafkago.ReadCommitted,
		ErrorLogger:    kafkaLogger(c.log, slog.LevelWarn),
	})
}

// checkWholeAssignment warns when this member holds only some of the input
// partitions: correlation state lives in one process, so another member
// would build partial incidents that share ids with this one's.
func (c *Consumer) checkWholeAssignment(ctx context.Context, held int) {
	var base *kafkago.Transport
	if d := c.cfg.Dialer; d != nil {
		base = &kafkago.Transport{ClientID: d.ClientID, TLS: d.TLS, SASL: d.SASLMechanism}
	}
	t := adminTransport(base)
	defer t.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.cfg.Brokers...), Timeout: 10 * time.Second, Transport: t}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: c.cfg.Topics})
	if err != nil {
		return
	}
	total := 0
	for _, tp := range md.Topics {
		total += len(tp.Partitions)
	}
	partial := held < total
	c.m.partial.Set(map[bool]float64{true: 1, false: 0}[partial])
	if partial {
		c.log.Error("this member holds only some input partitions; casus correlates within one process, so run one instance per consumer group",
			"held", held, "partitions", total)
	}
}
