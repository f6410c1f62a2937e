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
// and the batch's offsets are committed. With ConsumerConfig.IdleAfter set,
// a batch may also hold idle markers (IsIdleMarker), in order with their
// partition's records, or hold only markers; markers are never committed. A non-nil error means the outputs
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
	// RebuildBackoff is the wait after a failed rebuild or restore before
	// the group is rejoined, default 5s.
	RebuildBackoff time.Duration
	// IdleAfter, when positive, makes a partition's reader send one idle
	// marker (see IsIdleMarker) into the record stream after it has waited
	// that long without fetching a record, and no other until it has
	// fetched a record again. 0 sends none.
	IdleAfter time.Duration
	// LagRefresh is how often a partition's reader, while it waits for the
	// processing to take a record, reads the partition's lag from the
	// broker, so that a stalled process reports a growing lag rather than
	// the value of its last fetch. Default 10s.
	LagRefresh time.Duration
	// PartialWarning, when set, is logged (and casus_group_partial_assignment
	// set to 1) while this member holds only some of the topics'
	// partitions: for a role whose work spans partitions.
	PartialWarning string
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
	if cfg.LagRefresh <= 0 {
		cfg.LagRefresh = 10 * time.Second
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
	c.m.assigned.WithLabelValues(c.cfg.GroupID).Set(0)
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
	if c.cfg.PartialWarning != "" {
		c.checkWholeAssignment(ctx, n)
	}

	// The processing goroutine first restores or rebuilds the handler's
	// state, then starts the readers: a Restorer decides where they start,
	// and an idle marker must not count the time spent restoring.
	msgs := make(chan Message, c.cfg.BatchSize)
	var failed error
	var mu sync.Mutex
	done := make(chan struct{})
	gen.Start(func(gctx context.Context) {
		defer close(done)
		assigned := assignments(gen)
		var starts map[TopicPartition]int64
		if rs, isRestorer := h.(Restorer); isRestorer {
			var restored bool
			if starts, restored = c.restoreOrBackOff(ctx, gctx, assigned, rs); !restored {
				return // ends the generation; the next one restores again
			}
		} else if rb, ok := h.(Rebuilder); ok && !c.rebuildOrBackOff(ctx, gctx, gen, rb) {
			return // ends the generation; the next one rebuilds again
		}
		for _, a := range assigned {
			off, ok := starts[a.TopicPartition]
			if !ok {
				off = a.Committed
			}
			gen.Start(func(gctx context.Context) { c.read(ctx, gctx, a.TopicPartition, off, msgs) })
		}
		// Ready only with partitions held and state restored or rebuilt.
		c.assigned.Store(int64(n))
		c.m.assigned.WithLabelValues(c.cfg.GroupID).Set(float64(n))
		err := c.process(ctx, gctx, work, gen, msgs, h)
		mu.Lock()
		failed = err
		mu.Unlock()
	})
	<-done
	c.assigned.Store(0)
	c.m.assigned.WithLabelValues(c.cfg.GroupID).Set(0)
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

// read fetches one partition from offset into msgs until the generation or
// the run ends, adding an idle marker when the partition goes quiet.
func (c *Consumer) read(ctx, gctx context.Context, tp TopicPartition, offset int64, msgs chan<- Message) {
	topic := tp.Topic
	r := c.partitionReader(topic, tp.Partition)
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		c.log.Error("set offset", "topic", topic, "partition", tp.Partition, "offset", offset, "err", err)
		return
	}
	fctx, cancel := context.WithCancel(gctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel) // shutdown: stop fetching at once
	defer stop()
	part := strconv.Itoa(tp.Partition)
	// The partition's lag is this process's to report only while it reads
	// it: after a rebalance the new owner reports it, and a stale series
	// here would count it twice.
	defer c.m.lag.DeleteLabelValues(topic, part)
	setLag := func(lag int64) { c.m.lag.WithLabelValues(topic, part).Set(float64(max(lag, 0))) }
	var wait *time.Timer // see send
	marked := false      // an idle marker was sent since the last record
	for {
		m, err := c.fetch(fctx, r, !marked)
		if errors.Is(err, errIdle) {
			// A slow broker is not an idle partition: only a reader that has
			// returned every record the partition holds marks it idle, else
			// an event-time stage would run ahead of records still to come.
			if lag, lerr := r.ReadLag(fctx); lerr != nil || lag > 0 {
				continue
			}
			marked = true
			c.m.lag.WithLabelValues(topic, part).Set(0)
			c.m.idleMarkers.WithLabelValues(topic).Inc()
			select {
			case msgs <- idleMarker(tp):
			case <-fctx.Done():
				return
			}
			continue
		}
		if err != nil {
			if fctx.Err() != nil {
				return
			}
			c.log.Warn("fetch", "topic", topic, "partition", tp.Partition, "err", err)
			select {
			case <-fctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		marked = false
		c.m.lag.WithLabelValues(topic, part).Set(float64(max(m.HighWaterMark-m.Offset-1, 0)))
		if !c.send(fctx, r, msgs, m, &wait, setLag) {
			return
		}
	}
}

// send hands m to the processing loop and reports false if ctx ends first.
// While it waits the processing is behind, and the reader stops fetching,
// so the partition's lag is read from the broker every LagRefresh: a
// stalled process shows its lag growing, not frozen at the last fetch.
// *wait is the reader's timer, made on its first long wait and reused, so
// the back-pressure of a catch-up allocates nothing per record.
func (c *Consumer) send(ctx context.Context, r *kafkago.Reader, msgs chan<- Message, m Message, wait **time.Timer, setLag func(int64)) bool {
	select {
	case msgs <- m:
		return true
	case <-ctx.Done():
		return false
	default: // the processing is busy
	}
	if *wait == nil {
		*wait = time.NewTimer(c.cfg.LagRefresh)
	} else {
		(*wait).Reset(c.cfg.LagRefresh)
	}
	defer (*wait).Stop()
	for {
		select {
		case msgs <- m:
			return true
		case <-ctx.Done():
			return false
		case <-(*wait).C:
			// Bounded: a broker that never answers must not keep m from
			// the processing once it resumes.
			rctx, cancel := context.WithTimeout(ctx, c.cfg.LagRefresh)
			lag, err := r.ReadLag(rctx)
			cancel()
			if err == nil {
				setLag(lag)
			}
			(*wait).Reset(c.cfg.LagRefresh)
		}
	}
}

// errIdle reports that a fetch found no record within IdleAfter.
var errIdle = errors.New("partition idle")

// fetch returns r's next record. With watchIdle and IdleAfter set it gives
// up after IdleAfter with errIdle. A fetch deadline loses nothing: a
// Reader without a group buffers fetched records in a channel and
// FetchMessage only selects on it and on the context, so a record not
// returned stays for the next call, and the reader's position moves only
// when a record is returned.
func (c *Consumer) fetch(ctx context.Context, r *kafkago.Reader, watchIdle bool) (Message, error) {
	if !watchIdle || c.cfg.IdleAfter <= 0 {
		return r.FetchMessage(ctx)
	}
	ictx, cancel := context.WithTimeout(ctx, c.cfg.IdleAfter)
	defer cancel()
	m, err := r.FetchMessage(ictx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return Message{}, errIdle
	}
	return m, err
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

// commit commits the records of batch; a batch of idle markers commits
// nothing.
func (c *Consumer) commit(gen *kafkago.Generation, batch []Message) error {
	offsets := commitOffsets(batch)
	if len(offsets) == 0 {
		return nil
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		return fmt.Errorf("commit generation %d: %w", gen.ID, err)
	}
	for _, m := range batch {
		if !IsIdleMarker(m) {
			c.m.committed.WithLabelValues(m.Topic).Inc()
		}
	}
	return nil
}

// commitOffsets returns the offsets to commit after batch: per topic and
// partition, the offset after its last record. Idle markers are not
// records and are skipped.
func commitOffsets(batch []Message) map[string]map[int]int64 {
	offsets := map[string]map[int]int64{}
	for _, m := range batch {
		if IsIdleMarker(m) {
			continue
		}
		p := offsets[m.Topic]
		if p == nil {
			p = map[int]int64{}
			offsets[m.Topic] = p
		}
		if next := m.Offset + 1; next > p[m.Partition] {
			p[m.Partition] = next
		}
	}
	return offsets
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

// checkWholeAssignment warns, with ConsumerConfig.PartialWarning, when this
// member holds only some of the input partitions.
func (c *Consumer) checkWholeAssignment(ctx context.Context, held int) {
	t := adminTransport(dialerTransport(c.cfg.Dialer))
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
		c.log.Warn(c.cfg.PartialWarning, "held", held, "partitions", total)
	}
}
