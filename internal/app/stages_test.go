package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

func stageTestIO(t *testing.T, pub publisher) stageIO {
	t.Helper()
	return stageIO{out: pub, stateTopic: "state", deadletter: "dead", log: testLogger(t), m: newStageMetrics(prometheus.NewRegistry(), pipeline.NewMetrics(nil))}
}

func markRecord(topic string, partition int, m eventtime.Mark) kafka.Message {
	v, _ := json.Marshal(m)
	return kafka.Message{Topic: topic, Partition: partition, Value: v, Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMark)}}}
}

// The correlate role dead-letters what it cannot read, folds the rest in
// event-time order once every source's mark has passed it, and writes its
// outputs before its state, the state naming the input offset it is as of.
func TestCorrelateHandlerBatch(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{}
	h := &correlateHandler{stageIO: stageTestIO(t, pub), signals: "signals", incidents: "incidents", incidentPart: 2, signalPart: 1,
		prefix: statePrefix("g", config.RoleCorrelate), totals: totals{}, evicted: map[int]uint64{}, marked: map[int]eventtime.Mark{},
		tasks: map[int]*correlate.Task{0: correlate.NewTask(correlate.TaskOptions{Tracker: correlateOptions(config.Defaults(), know), Name: "signals/0", Of: 1})}}
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	signal := func(off int64, at time.Time) kafka.Message {
		v, _ := json.Marshal(event.Signal{RuleID: "wipe", Class: event.ClassDestructive, Techniques: []string{"T1485"}, Tactics: []string{"TA0040"},
			Time: at, Source: "203.0.113.50", Target: "10.20.3.21", Count: 1})
		return kafka.Message{Topic: "signals", Offset: off, Value: v, Headers: []kafka.Header{
			{Key: HeaderUpstream, Value: []byte("telemetry/0")}, {Key: HeaderPosition, Value: []byte("7/0")}}}
	}
	batch := []kafka.Message{
		signal(0, t0),
		{Topic: "signals", Offset: 1, Value: []byte(`{"rule_id":`), Headers: []kafka.Header{{Key: HeaderUpstream, Value: []byte("telemetry/0")}, {Key: HeaderPosition, Value: []byte("8/0")}}},
		{Topic: "signals", Offset: 2, Value: []byte(`{"rule_id":"x","time":"2026-03-02T11:00:00Z"}`)}, // no upstream position
		{Topic: "signals", Offset: 3, Value: []byte(`{"watermark":"soon"}`), Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMark)}}},
	}
	if err := h.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var dead, summaries int
	for _, m := range pub.got {
		switch m.Topic {
		case "dead":
			dead++
			if got := headerValue(m, HeaderReason); got != ReasonMalformedStageRecord {
				t.Errorf("dead letter reason %q", got)
			}
		case "incidents":
			if headerValue(m, HeaderKind) != KindMark {
				summaries++
			}
		}
	}
	if dead != 3 || summaries != 0 {
		t.Fatalf("%d dead letters (want 3), %d summaries before any mark (want 0)", dead, summaries)
	}
	if n := testutil.ToFloat64(h.m.malformed.WithLabelValues("correlate")); n != 3 {
		t.Errorf("malformed records counted %v, want 3", n)
	}
	// The source's mark passes the signal: its summary comes out, then the
	// state, which is as of the offset after the batch.
	pub.got = nil
	if err := h.Handle(context.Background(), []kafka.Message{markRecord("signals", 0, eventtime.Mark{Source: "telemetry/0", Of: 1, Watermark: t0.Add(time.Minute)})}); err != nil {
		t.Fatal(err)
	}
	firstState, lastSummary, offset := -1, -1, ""
	for i, m := range pub.got {
		switch {
		case m.Topic == "incidents" && headerValue(m, HeaderKind) != KindMark:
			lastSummary = i
		case m.Topic == "state":
			if firstState < 0 {
				firstState = i
			}
			if strings.HasSuffix(string(m.Key), "/"+stateOffset) {
				offset = string(m.Value)
			}
			if !strings.HasPrefix(string(m.Key), "g/correlate/0/") {
				t.Errorf("state key %q lacks the group and role", m.Key)
			}
		}
	}
	if lastSummary < 0 || firstState < lastSummary {
		t.Errorf("summary at %d, first state record at %d: state must follow the outputs", lastSummary, firstState)
	}
	if offset != "1" {
		t.Errorf("state offset %q, want 1 (the mark was offset 0 of this batch)", offset)
	}
}

// The campaign role reads summaries with their upstream sequence numbers:
// a repeat is dropped, a record without one is a dead letter.
func TestCampaignHandlerBatch(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{}
	h := &campaignHandler{stageIO: stageTestIO(t, pub), escalations: "escalations", prefix: statePrefix("g", config.RoleCampaign),
		totals: totals{}, seen: map[int]campaign.Stats{},
		tasks: map[int]*campaign.Task{0: campaign.NewTask(campaignOptions(config.Defaults(), know))}}
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	summary := func(off int64, seq string) kafka.Message {
		s := correlate.Summary{ID: "inc-1", Version: 1, Time: t0, Organisation: "Harbor Bank", Sector: "finance", Tier: 1,
			FirstSeen: t0, LastSeen: t0, Class: "destructive", Classes: []string{"destructive"}, Techniques: []string{"T1485", "T1561.002"},
			Tactics: []string{"TA0040"}, GraveTechniques: []string{"T1485", "T1561.002"}, Targets: 1, Sources: 1}
		v, _ := json.Marshal(s)
		return kafka.Message{Topic: "incidents", Offset: off, Value: v, Headers: []kafka.Header{
			{Key: HeaderUpstream, Value: []byte("signals/0")}, {Key: HeaderPosition, Value: []byte(seq)}}}
	}
	batch := []kafka.Message{
		summary(0, "1"),
		summary(1, "1"),         // a repeat after a restart upstream
		summary(2, "not-a-seq"), // unreadable position
		markRecord("incidents", 0, eventtime.Mark{Source: "signals/0", Of: 1, Watermark: t0.Add(time.Minute)}),
	}
	if err := h.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var escalations, dead int
	for _, m := range pub.got {
		switch m.Topic {
		case "escalations":
			escalations++
		case "dead":
			dead++
		}
	}
	if escalations != 1 || dead != 1 {
		t.Errorf("%d escalations (want 1: the repeat is dropped), %d dead letters (want 1)", escalations, dead)
	}
	if st := h.tasks[0].Stats(); st.Duplicates != 1 {
		t.Errorf("duplicates %d, want 1", st.Duplicates)
	}
}
