package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func TestBalancerToPartition(t *testing.T) {
	b := partitionBalancer{keyed: &kafkago.Murmur2Balancer{}}
	four := []int{0, 1, 2, 3}
	for _, tc := range []struct {
		name  string
		p     int
		parts []int
		want  int
	}{
		{"asked partition", 2, four, 2},
		{"first", 0, four, 0},
		{"last", 3, four, 3},
		{"beyond the count wraps", 6, four, 2},
		{"far beyond wraps", 13, four, 1},
		{"negative wraps into range", -1, four, 3},
		{"single partition", 5, []int{0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ToPartition(Message{Topic: "t", Key: []byte("key that hashes elsewhere")}, tc.p)
			if got := b.Balance(m, tc.parts...); got != tc.want {
				t.Errorf("Balance(ToPartition(m, %d), %v) = %d, want %d", tc.p, tc.parts, got, tc.want)
			}
		})
	}
}

func TestBalancerKeepsMurmur2(t *testing.T) {
	b := partitionBalancer{keyed: &kafkago.Murmur2Balancer{}}
	ref := &kafkago.Murmur2Balancer{}
	parts := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	seen := map[int]bool{}
	for i := range 200 {
		m := Message{Topic: "t", Key: fmt.Appendf(nil, "org-%d", i)}
		got, want := b.Balance(m, parts...), ref.Balance(m, parts...)
		if got != want {
			t.Fatalf("key %q: partition %d, murmur2 says %d", m.Key, got, want)
		}
		seen[got] = true
	}
	if len(seen) < len(parts)/2 {
		t.Errorf("200 keys reached only %d of %d partitions", len(seen), len(parts))
	}
	// The Java client's murmur2 mapping, so other clients agree.
	if got := b.Balance(Message{Key: []byte("foo")}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9); got != ref.Balance(Message{Key: []byte("foo")}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) {
		t.Errorf("foo: %d", got)
	}
}

func TestToPartitionLeavesRecordAlone(t *testing.T) {
	m := Message{Topic: "t", Key: []byte("k"), Value: []byte("v"), Headers: []Header{{Key: "h", Value: []byte("x")}}}
	got := ToPartition(m, 3)
	if got.Topic != "t" || string(got.Key) != "k" || string(got.Value) != "v" || len(got.Headers) != 1 {
		t.Errorf("ToPartition changed the record: %+v", got)
	}
	if m.WriterData != nil {
		t.Error("ToPartition changed its argument")
	}
	if IsIdleMarker(got) {
		t.Error("an addressed record reads as an idle marker")
	}
}

func TestIsIdleMarker(t *testing.T) {
	tp := TopicPartition{Topic: "in", Partition: 4}
	mk := idleMarker(tp)
	for _, tc := range []struct {
		name string
		m    Message
		want bool
	}{
		{"marker", mk, true},
		{"record at offset 0", Message{Topic: "in", Partition: 4, Offset: 0}, false},
		{"zero message", Message{}, false},
		{"offset -1 without the mark", Message{Topic: "in", Partition: 4, Offset: -1}, false},
		{"mark with a real offset", Message{Topic: "in", Partition: 4, Offset: 7, WriterData: idleMark{}}, false},
		{"addressed record", ToPartition(Message{Topic: "in", Offset: -1}, 4), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsIdleMarker(tc.m); got != tc.want {
				t.Errorf("IsIdleMarker(%+v) = %v, want %v", tc.m, got, tc.want)
			}
		})
	}
	if mk.Topic != "in" || mk.Partition != 4 || mk.Offset != -1 || mk.Key != nil || mk.Value != nil {
		t.Errorf("marker = %+v", mk)
	}
	if time.Since(mk.Time) > time.Minute || mk.Time.IsZero() {
		t.Errorf("marker time %v is not now", mk.Time)
	}
}

func TestCommitOffsetsSkipsMarkers(t *testing.T) {
	rec := func(topic string, p int, off int64) Message { return Message{Topic: topic, Partition: p, Offset: off} }
	mk := func(topic string, p int) Message { return idleMarker(TopicPartition{topic, p}) }
	for _, tc := range []struct {
		name  string
		batch []Message
		want  map[string]map[int]int64
	}{
		{"only markers commit nothing", []Message{mk("a", 0), mk("a", 1), mk("b", 0)}, map[string]map[int]int64{}},
		{"records and markers", []Message{rec("a", 0, 4), rec("a", 0, 5), mk("a", 0), mk("a", 1), rec("b", 2, 9)},
			map[string]map[int]int64{"a": {0: 6}, "b": {2: 10}}},
		{"marker between records", []Message{rec("a", 1, 0), mk("a", 1), rec("a", 1, 1)}, map[string]map[int]int64{"a": {1: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := commitOffsets(tc.batch)
			if !maps.EqualFunc(got, tc.want, func(x, y map[int]int64) bool { return maps.Equal(x, y) }) {
				t.Errorf("commitOffsets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAssignmentsSorted(t *testing.T) {
	gen := &kafkago.Generation{Assignments: map[string][]kafkago.PartitionAssignment{
		"b": {{ID: 2, Offset: 7}, {ID: 0, Offset: kafkago.FirstOffset}},
		"a": {{ID: 1, Offset: 3}},
	}}
	got := assignments(gen)
	want := []Assignment{
		{TopicPartition{"a", 1}, 3},
		{TopicPartition{"b", 0}, FirstOffset},
		{TopicPartition{"b", 2}, 7},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("assignments = %v, want %v", got, want)
	}
}

func TestStateTopicConfigs(t *testing.T) {
	c := StateTopicConfigs()
	if c["cleanup.policy"] != "compact" {
		t.Errorf("cleanup.policy = %q, want compact", c["cleanup.policy"])
	}
	for _, k := range []string{"min.compaction.lag.ms", "segment.ms", "min.cleanable.dirty.ratio"} {
		if c[k] == "" {
			t.Errorf("%s is not set", k)
		}
	}
}

func TestNewStateStoreValidates(t *testing.T) {
	if _, err := NewStateStore(StateConfig{Topic: "s"}); err == nil {
		t.Error("no brokers accepted")
	}
	if _, err := NewStateStore(StateConfig{Brokers: []string{"x:9092"}}); err == nil {
		t.Error("no topic accepted")
	}
	if s, err := NewStateStore(StateConfig{Brokers: []string{"x:9092"}, Topic: "s"}); err != nil || s.Topic() != "s" {
		t.Errorf("NewStateStore = %v, %v", s, err)
	}
}

func TestRetryTemporary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		errs  []error
		calls int
		want  error
	}{
		{"success", []error{nil}, 1, nil},
		{"not leader, then success", []error{kafkago.NotLeaderForPartition, kafkago.LeaderNotAvailable, nil}, 3, nil},
		{"permanent at once", []error{kafkago.TopicAuthorizationFailed}, 1, kafkago.TopicAuthorizationFailed},
		{"wrapped temporary then other", []error{fmt.Errorf("x: %w", kafkago.NotLeaderForPartition), io.EOF}, 2, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryTemporary(context.Background(), func() error {
				e := tc.errs[calls]
				calls++
				return e
			})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) || calls != tc.calls {
				t.Errorf("err %v after %d calls, want %v after %d", err, calls, tc.want, tc.calls)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := retryTemporary(ctx, func() error { return kafkago.NotLeaderForPartition }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled retry: %v", err)
	}
}
