package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// brokers returns the real Apache Kafka broker the test script started.
func brokers(t *testing.T) []string { return kafkatest.Brokers(t) }

type env struct {
	t       *testing.T
	brokers []string
	prefix  string
}

func newEnv(t *testing.T) *env {
	return &env{t: t, brokers: brokers(t), prefix: fmt.Sprintf("it-%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano())}
}

func (e *env) config(inputTopic string) config.Config {
	cfg := config.Defaults()
	cfg.Brokers = e.brokers
	cfg.Inputs = []config.Input{{Topic: inputTopic, Format: "ecs"}}
	cfg.Group.ID = e.prefix + "-group"
	cfg.Signals = e.prefix + "-signals"
	cfg.Incidents = e.prefix + "-incidents"
	cfg.Escalations = e.prefix + "-escalations"
	cfg.Deadletter = e.prefix + "-deadletter"
	cfg.State = e.prefix + "-state"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.BatchSize = 200
	cfg.BatchTimeout = 50 * time.Millisecond
	cfg.GracePeriod = 10 * time.Second
	// Input partitions fall idle quickly, so the end of a test's input
	// releases what the watermark holds without a long wait.
	cfg.IdleAfter = 500 * time.Millisecond
	return cfg
}

// scenarioTopic creates the test's telemetry topic and loads the scenario's
// knowledge.
func (e *env) scenarioTopic(partitions int, configs map[string]string) (string, *Knowledge) {
	e.t.Helper()
	topic := e.prefix + "-telemetry"
	e.createTopic(topic, partitions, configs)
	know, err := ScenarioKnowledge()
	if err != nil {
		e.t.Fatal(err)
	}
	return topic, know
}

func (e *env) createTopic(name string, partitions int, configs map[string]string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, e.brokers, nil, []kafka.TopicSpec{{Name: name, Partitions: partitions, ReplicationFactor: 1, Configs: configs}}); err != nil {
		e.t.Fatalf("create topic %s: %v", name, err)
	}
}

func (e *env) produce(topic string, msgs []kafkago.Message) {
	e.t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, BatchBytes: 8 << 20,
		// Its own transport: the shared default caches metadata for 6 s and
		// would not yet know the topic just created.
		Transport: &kafkago.Transport{MetadataTTL: time.Second}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		e.t.Fatalf("produce to %s: %v", topic, err)
	}
}

// start runs a service until the returned stop is called; stop returns Run's error.
func (e *env) start(cfg config.Config, know *Knowledge) (svc *Service, stop func() error) {
	e.t.Helper()
	svc, err := NewService(cfg, know, testLogger(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				runErr = fmt.Errorf("service did not stop within 60s")
			}
		})
		return runErr
	}
	e.t.Cleanup(func() { _ = stop() })
	return svc, stop
}

// waitCommitted waits until the group committed every record of topic.
func (e *env) waitCommitted(group, topic string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done, err := kafka.CaughtUp(ctx, e.brokers, nil, group, topic)
		cancel()
		if err == nil && done {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("group %s did not commit all of %s within %s", group, topic, timeout)
}

// settle waits until every role has committed everything of its input and
// stayed caught up for a while: the end of the input turns the partitions
// idle, which releases what the watermarks held, which writes more records
// to the next roles.
func (e *env) settle(cfg config.Config, timeout time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := WaitSettled(ctx, e.brokers, cfg, 4*cfg.IdleAfter+time.Second, nil); err != nil {
		e.t.Fatal(err)
	}
}

// committed returns the group's committed offsets of topic's partitions.
func (e *env) committed(group, topic string, partitions int) int64 {
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	offsets, err := kafka.Committed(context.Background(), e.brokers, nil, group, topic, ps)
	if err != nil {
		return -1
	}
	var n int64
	for _, o := range offsets {
		n += max(o, 0)
	}
	return n
}

// readAll reads every record of topic up to its current end.
func (e *env) readAll(topic string) []kafkago.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := kafka.EndOffsets(ctx, e.brokers, nil, topic)
	if err != nil {
		e.t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var out []kafkago.Message
	for p, end := range ends {
		if end == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: e.brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond, MaxBytes: 16 << 20})
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				r.Close()
				e.t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return out
}

func scenarioMessages(cfg scenario.Config) []kafkago.Message {
	recs := scenario.Generate(cfg)
	msgs := make([]kafkago.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafkago.Message{Key: r.Key, Value: r.Value}
	}
	return msgs
}

// offlineEscalations runs the same records through `casus classify`'s path.
func offlineEscalations(t *testing.T, know *Knowledge, msgs []kafkago.Message, topic string) map[string]string {
	t.Helper()
	var in strings.Builder
	for _, m := range msgs {
		in.Write(m.Value)
		in.WriteByte('\n')
	}
	var out, errw strings.Builder
	if _, err := Classify(strings.NewReader(in.String()), know, ClassifyOptions{Format: "ecs", Source: topic, MinLevel: 1, Stdout: &out, Stderr: &errw}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var e escalate.Escalation
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("offline escalation: %v", err)
		}
		if e.Type != escalate.EventType {
			continue
		}
		got[e.ID] = summary(e)
	}
	return got
}

func summary(e escalate.Escalation) string {
	return fmt.Sprintf("%s L%d %s", e.Data.Targets.Organisation, e.Data.Level, e.Data.Candidacy)
}

// escalationsByID decodes an escalations topic, checking that records
// sharing an id are byte-identical (replays are idempotent for consumers).
func escalationsByID(t *testing.T, msgs []kafkago.Message) (map[string]string, int) {
	t.Helper()
	bodies := map[string][]byte{}
	got := map[string]string{}
	dups := 0
	for _, m := range msgs {
		var e escalate.Escalation
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("escalation at %d/%d is not JSON: %v", m.Partition, m.Offset, err)
		}
		if e.Type != escalate.EventType {
			continue // a closing event
		}
		if string(m.Key) != e.Data.IncidentID {
			t.Errorf("escalation %s keyed %q, want its incident id %q", e.ID, m.Key, e.Data.IncidentID)
		}
		if prev, ok := bodies[e.ID]; ok {
			dups++
			if string(prev) != string(m.Value) {
				t.Errorf("escalation %s published twice with different bodies:\n%s\n%s", e.ID, prev, m.Value)
			}
			continue
		}
		bodies[e.ID] = m.Value
		got[e.ID] = summary(e)
	}
	return got, dups
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// wantScenario is what the bundled scenario must escalate, whatever the
// record order within the stated levels: the final level and candidacy of
// each incident that escalates.
var wantScenario = map[string]string{
	"Northgrid Energy": "L4 armed-attack-candidate",
	"Harbor Bank":      "L4 armed-attack-candidate",
	"Meridian Bank":    "L4 armed-attack-candidate",
	"Crown Savings":    "L4 armed-attack-candidate",
	"Pacific Clearing": "L4 armed-attack-candidate",
	"Acme Retail":      "L2 none",
}

func checkFinal(t *testing.T, got map[string]string) {
	t.Helper()
	rank := func(s string) int {
		// "L<level> <candidacy>": level first, then candidacy.
		c := map[string]int{"none": 0, "significant": 1, "armed-attack-candidate-pending-attribution": 2, "armed-attack-candidate": 3}
		lvl, cand, _ := strings.Cut(strings.TrimPrefix(s, "L"), " ")
		n, _ := strconv.Atoi(lvl)
		return n*10 + c[cand]
	}
	final := map[string]string{}
	for _, s := range sortedValues(got) {
		org, rest, _ := strings.Cut(s, " L")
		if cur, ok := final[org]; !ok || rank("L"+rest) > rank(cur) {
			final[org] = "L" + rest
		}
	}
	for org, want := range wantScenario {
		if final[org] != want {
			t.Errorf("%s: highest escalation %q, want %q", org, final[org], want)
		}
	}
	for org := range final {
		if _, ok := wantScenario[org]; !ok {
			t.Errorf("unexpected escalation for %s: %s", org, final[org])
		}
	}
}

func TestScenarioIntegration(t *testing.T) {
	e := newEnv(t)
	// One partition: one sensor feed, so the service sees the records in the
	// order the offline run does and both must give the same escalations.
	topic, know := e.scenarioTopic(1, nil)
	msgs := scenarioMessages(scenario.Config{Benign: 10000})
	if len(msgs) < 10000 {
		t.Fatalf("scenario has %d records, want at least 10,000", len(msgs))
	}
	cfg := e.config(topic)
	svc, stop := e.start(cfg, know)
	e.produce(topic, msgs)
	e.settle(cfg, 3*time.Minute)
	checkEndpoints(t, svc)
	if err := stop(); err != nil {
		t.Fatalf("service stop: %v", err)
	}

	got, dups := escalationsByID(t, e.readAll(cfg.Escalations))
	want := offlineEscalations(t, know, msgs, topic)
	if dups != 0 {
		t.Errorf("%d duplicate escalations in an uninterrupted run", dups)
	}
	if !mapsEqual(got, want) {
		t.Errorf("escalations on Kafka differ from the offline run:\n got %v\nwant %v", sortedValues(got), sortedValues(want))
	}
	checkFinal(t, got)
	if dl := e.readAll(cfg.Deadletter); len(dl) != 0 {
		t.Errorf("%d dead letters from a clean scenario", len(dl))
	}
	t.Logf("%d records → %d escalations: %v", len(msgs), len(got), sortedValues(got))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Every hostile class (hostile_test.go) sent through a real broker between
// the scenario's records is one dead letter with its reason, the original
// key, value and headers; the scenario around them escalates exactly as it
// does without them.
func TestHostileInputsIntegration(t *testing.T) {
	e := newEnv(t)
	// The topic accepts records larger than casus's 1 MiB limit so the
	// limit, not the broker, is what turns the 2 MiB record away.
	topic, know := e.scenarioTopic(3, map[string]string{"max.message.bytes": strconv.Itoa(4 << 20)})
	bad := hostileInputs()
	good := scenarioMessages(scenario.Config{Benign: 2500})
	var msgs []kafkago.Message
	next := 0
	for i, m := range good {
		msgs = append(msgs, m)
		if i%100 == 50 && next < len(bad) {
			b := bad[next]
			h := []kafkago.Header{{Key: "case", Value: []byte(strconv.Itoa(next))}}
			if b.contentType != "" {
				h = append(h, kafkago.Header{Key: "content-type", Value: []byte(b.contentType)})
			}
			msgs = append(msgs, kafkago.Message{Key: []byte("bad-" + strconv.Itoa(next)), Value: b.value, Headers: h})
			next++
		}
	}
	if next != len(bad) {
		t.Fatalf("scenario too short to interleave all %d hostile records", len(bad))
	}
	cfg := e.config(topic)
	// As the unit test reads them: the format from the content type or the
	// record's shape, so that unknown formats show.
	cfg.Inputs = []config.Input{{Topic: topic, Format: "auto"}}
	svc, stop := e.start(cfg, know)
	e.produce(topic, msgs)
	e.settle(cfg, 3*time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("service stop: %v", err)
	}
	if n := metricValue(t, svc, "casus_deadletters_total"); n != float64(len(bad)) {
		t.Errorf("casus_deadletters_total %v, want %d", n, len(bad))
	}

	dead := e.readAll(cfg.Deadletter)
	if len(dead) != len(bad) {
		t.Errorf("%d dead letters, want %d", len(dead), len(bad))
	}
	seen := map[int]bool{}
	for _, m := range dead {
		h := headers(m)
		i, err := strconv.Atoi(h["case"])
		if err != nil || i < 0 || i >= len(bad) {
			t.Errorf("dead letter lost the original headers: %v", h)
			continue
		}
		b := bad[i]
		seen[i] = true
		if string(m.Key) != "bad-"+h["case"] {
			t.Errorf("%s: key %q, want the original key", b.name, m.Key)
		}
		if h[HeaderReason] != b.reason || !strings.Contains(h[HeaderError], b.msg) {
			t.Errorf("%s: reason %q error %q, want %q containing %q", b.name, h[HeaderReason], h[HeaderError], b.reason, b.msg)
		}
		if h[HeaderSourceTopic] != topic || h[HeaderSourcePartition] == "" || h[HeaderSourceOffset] == "" {
			t.Errorf("%s: incomplete provenance headers %v", b.name, h)
		}
		if b.contentType != "" && h["content-type"] != b.contentType {
			t.Errorf("%s: content-type header %q not kept", b.name, h["content-type"])
		}
		switch {
		case len(b.value) > kafka.MaxRecordBytes:
			if h[HeaderTruncated] != strconv.Itoa(len(b.value)) || size(m) > kafka.MaxRecordBytes || len(m.Value) < kafka.MaxRecordBytes/2 ||
				string(m.Value) != string(b.value[:len(m.Value)]) {
				t.Errorf("%s: truncated header %q, %d of %d bytes kept, record %d bytes", b.name, h[HeaderTruncated], len(m.Value), len(b.value), size(m))
			}
		case string(m.Value) != string(b.value):
			t.Errorf("%s: dead letter value differs from the original", b.name)
		}
	}
	for i, b := range bad {
		if !seen[i] {
			t.Errorf("%s: no dead letter", b.name)
		}
	}
	got, _ := escalationsByID(t, e.readAll(cfg.Escalations))
	if want := offlineEscalations(t, know, good, topic); !mapsEqual(got, want) {
		t.Errorf("escalations with hostile records interleaved differ from the scenario's alone:\n got %v\nwant %v", sortedValues(got), sortedValues(want))
	}
	checkFinal(t, got)
}

func headers(m kafkago.Message) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

func TestRestartIntegration(t *testing.T) {
	e := newEnv(t)
	topic, know := e.scenarioTopic(1, nil)
	msgs := scenarioMessages(scenario.Config{Benign: 10000})
	cfg := e.config(topic)
	cfg.BatchSize = 50
	// The first instance gets no grace: cancelled, it abandons the batch in
	// flight between its writes and its commit, as a crash would.
	first := cfg
	first.GracePeriod = time.Nanosecond
	_, stop := e.start(first, know)
	e.produce(topic, msgs)
	deadline := time.Now().Add(2 * time.Minute)
	for e.committed(cfg.Group.ID, topic, 1) < int64(len(msgs))/2 {
		if time.Now().After(deadline) {
			t.Fatal("first instance did not get halfway")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = stop() // an abandoned batch may make Run return an error; that is the point
	mid := e.committed(cfg.Group.ID, topic, 1)
	if mid >= int64(len(msgs)) {
		t.Fatalf("first instance committed everything (%d) before it was stopped; the test proves nothing", mid)
	}

	svc2, stop2 := e.start(cfg, know)
	e.settle(cfg, 3*time.Minute)
	// The second instance rebuilt its incidents from exactly the records the
	// first one had committed.
	if n := metricValue(t, svc2, "casus_state_rebuild_records_total"); n != float64(mid) {
		t.Errorf("rebuilt %v records, want the %d committed before the stop", n, mid)
	}
	if err := stop2(); err != nil {
		t.Fatalf("second instance stop: %v", err)
	}
	got, dups := escalationsByID(t, e.readAll(cfg.Escalations))
	want := offlineEscalations(t, know, msgs, topic)
	for id, s := range want {
		if got[id] != s {
			t.Errorf("missing after restart: %s %s", id, s)
		}
	}
	for id, s := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected after restart: %s %s", id, s)
		}
	}
	t.Logf("stopped at %d/%d committed; %d escalations, %d duplicates with identical bodies", mid, len(msgs), len(got), dups)
}

// checkEndpoints probes the live service's HTTP endpoints.
func checkEndpoints(t *testing.T, svc *Service) {
	t.Helper()
	base := "http://" + svc.MetricsAddr()
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "casus_consumer_lag"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
		if path == "/metrics" {
			for _, m := range []string{"casus_records_consumed_total", "casus_escalations_total", "casus_record_to_output_seconds_bucket", "casus_offsets_committed_total", "casus_build_info", "casus_incidents_open"} {
				if !strings.Contains(string(body), m) {
					t.Errorf("/metrics lacks %s", m)
				}
			}
		}
	}
	if resp, err := http.Post(base+"/metrics", "text/plain", nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics: %d, want 405", resp.StatusCode)
		}
	}
}

// metricValue sums a counter or gauge family from the service's registry.
func metricValue(t *testing.T, svc *Service, name string) float64 {
	t.Helper()
	mfs, err := svc.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return v
}

// Two instances in one group each hold part of the input: correlation is
// per process, so both must say so (log and casus_group_partial_assignment).
func TestSecondInstanceIsFlaggedIntegration(t *testing.T) {
	e := newEnv(t)
	topic, know := e.scenarioTopic(3, nil)
	cfg := e.config(topic)
	a, _ := e.start(cfg, know)
	b, _ := e.start(cfg, know)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if a.Ready() && b.Ready() && metricValue(t, a, "casus_group_partial_assignment") == 1 && metricValue(t, b, "casus_group_partial_assignment") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready %v/%v, partial %v/%v", a.Ready(), b.Ready(),
				metricValue(t, a, "casus_group_partial_assignment"), metricValue(t, b, "casus_group_partial_assignment"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The rebuild after an assignment replays only committed records inside the
// policy's window (by record timestamp): older ones cannot change an incident.
func TestRebuildWindowIntegration(t *testing.T) {
	e := newEnv(t)
	topic, know := e.scenarioTopic(1, nil)
	recs := scenarioMessages(scenario.Config{Benign: 100})[:100]
	old := time.Now().Add(-know.Policy.Window - 24*time.Hour)
	for i := range recs {
		if i < 40 {
			recs[i].Time = old
		} else {
			recs[i].Time = time.Now()
		}
	}
	cfg := e.config(topic)
	_, stop := e.start(cfg, know)
	e.produce(topic, recs)
	e.waitCommitted(cfg.Group.ID, topic, 2*time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("first instance stop: %v", err)
	}
	svc, _ := e.start(cfg, know)
	deadline := time.Now().Add(90 * time.Second)
	for !svc.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("second instance never turned ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metricValue(t, svc, "casus_state_rebuild_records_total"); n != 60 {
		t.Errorf("rebuilt %v records, want the 60 inside the %s window (40 are older)", n, know.Policy.Window)
	}
}
