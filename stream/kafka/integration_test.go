package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// testBrokers returns the real Apache Kafka broker the test script started.
func testBrokers(t *testing.T) []string { return kafkatest.Brokers(t) }

// uniqueName returns a topic or group name no other test run uses.
func uniqueName(t *testing.T, what string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("it-%s-%s-%d-%x", name, what, time.Now().UnixNano(), rand.Uint32())
}

func createTopic(ctx context.Context, t *testing.T, brokers []string, partitions int, configs map[string]string) string {
	t.Helper()
	topic := uniqueName(t, "topic")
	if err := EnsureTopics(ctx, brokers, nil, []TopicSpec{{Name: topic, Partitions: partitions, ReplicationFactor: 1, Configs: configs}}); err != nil {
		t.Fatal(err)
	}
	return topic
}

func publish(ctx context.Context, t *testing.T, brokers []string, msgs ...Message) {
	t.Helper()
	p := NewProducer(ProducerConfig{Brokers: brokers})
	defer p.Close()
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
}

// toPartition returns n records for partition p of topic, keyed k0, k1...
func toPartition(topic string, p, n int) []Message {
	var out []Message
	for i := range n {
		out = append(out, ToPartition(Message{Topic: topic, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)}, p))
	}
	return out
}

// counterValue returns the value of a counter (summed over its labels) in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// eventually polls cond until it holds or ctx ends.
func eventually(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runConsumer runs a consumer until the returned stop is called, which
// waits for Run to return and fails the test on its error.
func runConsumer(t *testing.T, cfg ConsumerConfig, h Handler) (stop func()) {
	t.Helper()
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("consumer run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("consumer did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestToPartitionIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 4, nil)

	// Each record names the partition it must land on; 6 and -3 wrap to 2
	// and 1. The same key goes to different partitions, which key hashing
	// would never do, and unaddressed keys still hash.
	want := map[int][]string{}
	var msgs []Message
	for i, p := range []int{0, 1, 2, 3, 3, 6, -3, 0} {
		land := ((p % 4) + 4) % 4
		key := "same-key"
		msgs = append(msgs, ToPartition(Message{Topic: topic, Key: []byte(key), Value: fmt.Appendf(nil, "addressed-%d", i)}, p))
		want[land] = append(want[land], fmt.Sprintf("addressed-%d", i))
	}
	hashed := Message{Topic: topic, Key: []byte("hashed-key"), Value: []byte("hashed")}
	hp := (&kafkago.Murmur2Balancer{}).Balance(hashed, 0, 1, 2, 3)
	want[hp] = append(want[hp], "hashed")
	msgs = append(msgs, hashed)
	publish(ctx, t, brokers, msgs...)

	st, err := NewStateStore(StateConfig{Brokers: brokers, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	for p := range 4 {
		var got []string
		if _, err := st.Load(ctx, p, "", func(_ string, v []byte) error {
			got = append(got, string(v))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[p]) {
			t.Errorf("partition %d holds %q, want %q", p, got, want[p])
		}
	}
	if n, err := Partitions(ctx, brokers, nil, topic); err != nil || n != 4 {
		t.Errorf("Partitions = %d, %v; want 4", n, err)
	}
	if _, err := Partitions(ctx, brokers, nil, topic+"-missing"); err == nil || !strings.Contains(err.Error(), topic+"-missing") {
		t.Errorf("Partitions of a missing topic: %v, want an error naming it", err)
	}
}

type loaded struct {
	key   string
	value string
	tomb  bool
}

func loadAll(ctx context.Context, t *testing.T, st *StateStore, p int, prefix string) ([]loaded, int) {
	t.Helper()
	var got []loaded
	n, err := st.Load(ctx, p, prefix, func(k string, v []byte) error {
		got = append(got, loaded{k, string(v), v == nil})
		return nil
	})
	if err != nil {
		t.Fatalf("load partition %d: %v", p, err)
	}
	return got, n
}

func TestStateStoreLoadIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 3, StateTopicConfigs())
	reg := prometheus.NewRegistry()
	st, err := NewStateStore(StateConfig{Brokers: brokers, Topic: topic, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}

	rec := func(p int, k, v string) Message {
		m := Message{Topic: topic, Key: []byte(k)}
		if v != "" {
			m.Value = []byte(v)
		}
		return ToPartition(m, p)
	}
	publish(ctx, t, brokers,
		rec(0, "correlate/0/org-a", "a1"),
		rec(0, "correlate/0/org-b", "b1"),
		rec(0, "campaign/0/actor-x", "x1"),
		rec(0, "correlate/0/org-a", "a2"),
		rec(0, "correlate/0/org-b", ""), // tombstone
		rec(2, "correlate/2/org-c", "c1"),
	)

	for _, tc := range []struct {
		name      string
		partition int
		prefix    string
		want      []loaded
		read      int
	}{
		{"prefix, updates and tombstone in offset order", 0, "correlate/", []loaded{
			{"correlate/0/org-a", "a1", false},
			{"correlate/0/org-b", "b1", false},
			{"correlate/0/org-a", "a2", false},
			{"correlate/0/org-b", "", true},
		}, 5},
		{"other prefix", 0, "campaign/", []loaded{{"campaign/0/actor-x", "x1", false}}, 5},
		{"no match", 0, "nothing/", nil, 5},
		{"empty partition", 1, "", nil, 0},
		{"other partition", 2, "", []loaded{{"correlate/2/org-c", "c1", false}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := loadAll(ctx, t, st, tc.partition, tc.prefix)
			if !slices.Equal(got, tc.want) {
				t.Errorf("loaded %+v, want %+v", got, tc.want)
			}
			if n != tc.read {
				t.Errorf("read %d records, want %d", n, tc.read)
			}
		})
	}

	boom := errors.New("boom")
	if _, err := st.Load(ctx, 0, "", func(string, []byte) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("an error from fn gave %v", err)
	}
	// An unknown partition may be one that is being created, so Load
	// retries for a while; the context bounds the wait.
	bctx, bcancel := context.WithTimeout(ctx, time.Second)
	defer bcancel()
	if _, err := st.Load(bctx, 7, "", func(string, []byte) error { return nil }); !errors.Is(err, kafkago.UnknownTopicOrPartition) {
		t.Errorf("loading a partition the topic does not have: %v, want unknown topic or partition", err)
	}
	if got := counterValue(t, reg, "casus_state_load_records_total"); got < 5+5+5+1 {
		t.Errorf("casus_state_load_records_total = %v, want at least 16", got)
	}
	if got := counterValue(t, reg, "casus_state_load_seconds"); got < 5 {
		t.Errorf("casus_state_load_seconds has %v observations, want at least 5", got)
	}
}

// TestStateStoreLoadCompactedIntegration has the broker compact a partition
// so its offsets have gaps, and loads the newest value of every key.
func TestStateStoreLoadCompactedIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Segments roll at every write after 100 ms and are cleaned at once.
	topic := createTopic(ctx, t, brokers, 1, map[string]string{
		"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
		"min.compaction.lag.ms": "0", "delete.retention.ms": "0",
	})
	st, err := NewStateStore(StateConfig{Brokers: brokers, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	write := func(msgs ...Message) {
		publish(ctx, t, brokers, msgs...)
		written += len(msgs)
	}
	for round := range 3 {
		var msgs []Message
		for k := range 5 {
			msgs = append(msgs, ToPartition(Message{Topic: topic, Key: fmt.Appendf(nil, "s/k%d", k), Value: fmt.Appendf(nil, "r%d", round)}, 0))
		}
		write(msgs...)
		time.Sleep(150 * time.Millisecond) // let the segment roll at the next write
	}
	// The newest record of each key; k0 is deleted.
	write(ToPartition(Message{Topic: topic, Key: []byte("s/k0")}, 0))
	newest := map[string]string{"s/k1": "r2", "s/k2": "r2", "s/k3": "r2", "s/k4": "r2"}

	// The cleaner wakes every 15 s by default; keep writing so the active
	// segment keeps rolling, until a load reads fewer records than written.
	deadline := time.Now().Add(60 * time.Second)
	for {
		state := map[string]string{}
		n, err := st.Load(ctx, 0, "s/", func(k string, v []byte) error {
			if v == nil {
				delete(state, k)
			} else {
				state[k] = string(v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(state) != fmt.Sprint(newest) {
			t.Fatalf("state after loading %d records = %v, want %v", n, state, newest)
		}
		if n < written {
			t.Logf("compacted: read %d of %d records written", n, written)
			return
		}
		if time.Now().After(deadline) {
			t.Skipf("the broker did not compact within 60s (read %d of %d records); Load on an uncompacted partition passed", n, written)
		}
		time.Sleep(time.Second)
		write(ToPartition(Message{Topic: topic, Key: []byte("other"), Value: []byte("x")}, 0))
	}
}

// restorer records restores and batches, and starts partitions where told.
type restorer struct {
	mu       sync.Mutex
	restores [][]Assignment
	fail     int // restores to fail before succeeding
	starts   map[TopicPartition]int64
	handled  []Message
	early    bool // Handle ran before any Restore
	rebuilt  bool // Reset or Rebuild ran
}

func (r *restorer) Restore(ctx context.Context, assigned []Assignment) (map[TopicPartition]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restores = append(r.restores, slices.Clone(assigned))
	if r.fail > 0 {
		r.fail--
		return nil, errors.New("state topic unavailable")
	}
	return r.starts, nil
}

func (r *restorer) Handle(_ context.Context, batch []Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.restores) == 0 {
		r.early = true
	}
	r.handled = append(r.handled, batch...)
	return nil
}

func (r *restorer) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebuilt = true
}

func (r *restorer) Rebuild([]Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebuilt = true
}

func (r *restorer) snapshot() (restores [][]Assignment, handled []Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.restores), slices.Clone(r.handled)
}

var (
	_ Restorer  = (*restorer)(nil)
	_ Rebuilder = (*restorer)(nil)
)

func TestConsumerRestoreIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 2, nil)
	group := uniqueName(t, "group")
	publish(ctx, t, brokers, toPartition(topic, 0, 10)...)
	p0, p1 := TopicPartition{topic, 0}, TopicPartition{topic, 1}
	cfg := ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic}, BatchSize: 4, BatchTimeout: 20 * time.Millisecond, RebuildBackoff: 100 * time.Millisecond}

	// First member: the group has committed nothing; restore says to skip
	// the first 5 records of partition 0.
	h := &restorer{starts: map[TopicPartition]int64{p0: 5}}
	stop := runConsumer(t, cfg, h)
	eventually(ctx, t, "5 records handled", func() bool { _, got := h.snapshot(); return len(got) >= 5 })
	eventually(ctx, t, "offset 10 committed on partition 0", func() bool {
		c, err := Committed(ctx, brokers, nil, group, topic, []int{0})
		return err == nil && c[0] == 10
	})
	stop()
	restores, handled := h.snapshot()
	if h.early || h.rebuilt {
		t.Errorf("handled before restore: %v; rebuilt a restorer: %v", h.early, h.rebuilt)
	}
	if len(restores) == 0 || fmt.Sprint(restores[0]) != fmt.Sprint([]Assignment{{p0, FirstOffset}, {p1, FirstOffset}}) {
		t.Errorf("restores = %v, want first [{%v -2} {%v -2}]", restores, p0, p1)
	}
	var offsets []int64
	for _, m := range handled {
		if m.Partition != 0 || IsIdleMarker(m) {
			t.Errorf("unexpected message %+v", m)
		}
		offsets = append(offsets, m.Offset)
	}
	if !slices.Equal(offsets, []int64{5, 6, 7, 8, 9}) {
		t.Errorf("handled offsets %v, want 5..9", offsets)
	}
	if c, err := Committed(ctx, brokers, nil, group, topic, []int{0, 1}); err != nil || c[0] != 10 || c[1] != -1 {
		t.Errorf("committed = %v, %v; want 10 on partition 0 and nothing on 1", c, err)
	}

	// Second member of the same group: the first restore fails, which ends
	// the generation; the next one restores from the committed offsets and
	// reads what was written since.
	publish(ctx, t, brokers, toPartition(topic, 1, 3)...)
	reg := prometheus.NewRegistry()
	cfg.Metrics = NewMetrics(reg)
	h2 := &restorer{fail: 1}
	stop = runConsumer(t, cfg, h2)
	eventually(ctx, t, "3 records of partition 1 handled", func() bool { _, got := h2.snapshot(); return len(got) >= 3 })
	eventually(ctx, t, "offset 3 committed on partition 1", func() bool {
		c, err := Committed(ctx, brokers, nil, group, topic, []int{1})
		return err == nil && c[1] == 3
	})
	stop()
	restores, handled = h2.snapshot()
	if len(restores) < 2 {
		t.Fatalf("restores = %v, want a failed one and a successful one", restores)
	}
	for _, r := range restores {
		if fmt.Sprint(r) != fmt.Sprint([]Assignment{{p0, 10}, {p1, FirstOffset}}) {
			t.Errorf("restore got %v, want [{%v 10} {%v -2}]", r, p0, p1)
		}
	}
	for _, m := range handled {
		if m.Partition != 1 {
			t.Errorf("handled %s/%d@%d again", m.Topic, m.Partition, m.Offset)
		}
	}
	if h2.early || h2.rebuilt {
		t.Errorf("handled before restore: %v; rebuilt a restorer: %v", h2.early, h2.rebuilt)
	}
	if got := counterValue(t, reg, "casus_state_restore_failures_total"); got != 1 {
		t.Errorf("casus_state_restore_failures_total = %v, want 1", got)
	}
	if got := counterValue(t, reg, "casus_state_restores_total"); got < 1 {
		t.Errorf("casus_state_restores_total = %v, want at least 1", got)
	}
	if c, err := Committed(ctx, brokers, nil, group, topic, []int{0, 1}); err != nil || c[0] != 10 || c[1] != 3 {
		t.Errorf("committed = %v, %v; want 10 and 3", c, err)
	}
}

// recorder keeps every message handed to it, per partition, and the batches.
type recorder struct {
	mu      sync.Mutex
	byPart  map[int][]Message
	batches [][]Message
}

func (r *recorder) Handle(_ context.Context, batch []Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byPart == nil {
		r.byPart = map[int][]Message{}
	}
	r.batches = append(r.batches, slices.Clone(batch))
	for _, m := range batch {
		r.byPart[m.Partition] = append(r.byPart[m.Partition], m)
	}
	return nil
}

// sequence describes partition p's stream: offsets, and "M" for a marker.
func (r *recorder) sequence(p int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, m := range r.byPart[p] {
		if IsIdleMarker(m) {
			s = append(s, "M")
		} else {
			s = append(s, fmt.Sprint(m.Offset))
		}
	}
	return strings.Join(s, " ")
}

func TestConsumerIdleMarkersIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 3, nil)
	group := uniqueName(t, "group")
	publish(ctx, t, brokers, toPartition(topic, 0, 5)...)
	const idle = 600 * time.Millisecond
	reg := prometheus.NewRegistry()
	h := &recorder{}
	stop := runConsumer(t, ConsumerConfig{
		Brokers: brokers, GroupID: group, Topics: []string{topic},
		BatchSize: 10, BatchTimeout: 20 * time.Millisecond, IdleAfter: idle, Metrics: NewMetrics(reg),
	}, h)

	want := map[int]string{0: "0 1 2 3 4 M", 1: "M", 2: "M"}
	eventually(ctx, t, "a marker on every partition", func() bool {
		return h.sequence(0) == want[0] && h.sequence(1) == want[1] && h.sequence(2) == want[2] ||
			h.sequence(0) == "M "+want[0]
	})
	if h.sequence(0) == "M "+want[0] {
		// The first fetch of partition 0 took longer than the idle interval
		// (a slow broker): a marker before its records is right too.
		want[0] = "M " + want[0]
		eventually(ctx, t, "a marker on partitions 1 and 2", func() bool { return h.sequence(1) == want[1] && h.sequence(2) == want[2] })
	}
	// One marker per quiet spell: nothing more after several idle periods.
	time.Sleep(3 * idle)
	for p, w := range want {
		if got := h.sequence(p); got != w {
			t.Errorf("partition %d: %q, want %q", p, got, w)
		}
	}

	// A record ends the quiet spell; the partition then goes quiet again.
	publish(ctx, t, brokers, toPartition(topic, 1, 1)...)
	eventually(ctx, t, "a new marker on partition 1 after its record", func() bool { return h.sequence(1) == "M 0 M" })
	stop()

	h.mu.Lock()
	onlyMarkers := 0
	for _, b := range h.batches {
		if !slices.ContainsFunc(b, func(m Message) bool { return !IsIdleMarker(m) }) {
			onlyMarkers++
		}
		for _, m := range b {
			if IsIdleMarker(m) && (m.Topic != topic || m.Offset != -1 || m.Key != nil || m.Value != nil) {
				t.Errorf("marker %+v", m)
			}
		}
	}
	h.mu.Unlock()
	if onlyMarkers == 0 {
		t.Error("no batch consisted only of markers")
	}
	// Markers are never committed: partition 2 has only markers.
	c, err := Committed(ctx, brokers, nil, group, topic, []int{0, 1, 2})
	if err != nil || c[0] != 5 || c[1] != 1 || c[2] != -1 {
		t.Errorf("committed = %v, %v; want 5, 1 and nothing", c, err)
	}
	if got, want := counterValue(t, reg, "casus_consumer_idle_markers_total"), float64(strings.Count(want[0], "M")+3); got != want {
		t.Errorf("casus_consumer_idle_markers_total = %v, want %v", got, want)
	}
	if got := counterValue(t, reg, "casus_offsets_committed_total"); got != 6 {
		t.Errorf("casus_offsets_committed_total = %v, want 6 (markers are not counted)", got)
	}
}

func TestConsumerGroupRestoresOwnPartitionsIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 6, nil)
	group := uniqueName(t, "group")
	cfg := ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic}, BatchTimeout: 20 * time.Millisecond}
	a, b := &restorer{}, &restorer{}
	runConsumer(t, cfg, a)
	runConsumer(t, cfg, b)

	latest := func(r *restorer) []int {
		restores, _ := r.snapshot()
		if len(restores) == 0 {
			return nil
		}
		var ps []int
		for _, as := range restores[len(restores)-1] {
			ps = append(ps, as.Partition)
		}
		return ps
	}
	// The first member may hold all six until the second joins; after the
	// rebalance each restores its own share.
	eventually(ctx, t, "disjoint restores covering all 6 partitions", func() bool {
		pa, pb := latest(a), latest(b)
		if len(pa) == 0 || len(pb) == 0 || len(pa)+len(pb) != 6 {
			return false
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(pa), pb...)))
		return slices.Equal(all, []int{0, 1, 2, 3, 4, 5})
	})
	for _, r := range []*restorer{a, b} {
		restores, _ := r.snapshot()
		for _, as := range restores {
			if !slices.IsSortedFunc(as, func(x, y Assignment) int { return x.Partition - y.Partition }) {
				t.Errorf("restore assignments not sorted: %v", as)
			}
		}
	}
	t.Logf("member a restored %v, member b %v", latest(a), latest(b))
}

// stalling is a Handler whose first batch blocks until released.
type stalling struct {
	entered, release chan struct{}
	once             sync.Once
}

func (s *stalling) Handle(ctx context.Context, _ []Message) error {
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return nil
}

// A process whose processing stalls keeps reporting the partition's lag as
// it grows, not the value of its last fetch, so the lag alert sees a stall.
func TestConsumerLagWhileStalledIntegration(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := createTopic(ctx, t, brokers, 1, nil)
	publish(ctx, t, brokers, toPartition(topic, 0, 20)...)
	reg := prometheus.NewRegistry()
	h := &stalling{entered: make(chan struct{}), release: make(chan struct{})}
	stop := runConsumer(t, ConsumerConfig{
		Brokers: brokers, GroupID: uniqueName(t, "group"), Topics: []string{topic},
		BatchSize: 1, BatchTimeout: 20 * time.Millisecond, LagRefresh: 200 * time.Millisecond, Metrics: NewMetrics(reg),
	}, h)
	defer func() {
		close(h.release)
		stop()
	}()
	select {
	case <-h.entered:
	case <-ctx.Done():
		t.Fatal("the first batch never reached the handler")
	}
	lag := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "casus_consumer_lag" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "topic" && l.GetValue() == topic {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		return -1
	}
	eventually(ctx, t, "a lag series while the handler is stalled", func() bool { return lag() >= 0 })
	before := lag()
	// The handler holds one record and the buffer another: everything
	// published now waits, and the lag must say so.
	publish(ctx, t, brokers, toPartition(topic, 0, 300)...)
	eventually(ctx, t, "the lag to count the records published during the stall", func() bool { return lag() >= 300 })
	t.Logf("lag %v before the stall's records, %v after", before, lag())
}
