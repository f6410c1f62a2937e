package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
)

// FuzzStageRecords feeds arbitrary records to the correlate and campaign
// roles, as anyone able to write to the signals or incidents topic could:
// neither may panic or fail its batch (which would stop the consumer); a
// record is read or dead-lettered, and the marks that follow still work.
func FuzzStageRecords(f *testing.F) {
	know, err := ScenarioKnowledge()
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	sig, _ := json.Marshal(event.Signal{RuleID: "wipe", Class: event.ClassDestructive, Techniques: []string{"T1485"},
		Time: t0, Source: "203.0.113.50", Target: "10.20.3.21", Count: 1})
	sum, _ := json.Marshal(correlate.Summary{ID: "inc-1", Version: 1, Time: t0, Organisation: "Harbor Bank", Sector: "finance", Tier: 1,
		FirstSeen: t0, LastSeen: t0, Class: "destructive", Classes: []string{"destructive"}, Techniques: []string{"T1485"}})
	mark, _ := json.Marshal(eventtime.Mark{Source: "telemetry/0", Of: 1, Watermark: t0})
	for _, seed := range []struct {
		value            []byte
		kind, upstream   string
		position         string
		campaignRoleOnly bool
	}{
		{sig, "", "telemetry/0", "7/0", false},
		{sum, "", "signals/0", "3", true},
		{mark, KindMark, "", "", false},
		{[]byte(`{"source":"x","of":-1,"watermark":"9999-12-31T23:59:59Z"}`), KindMark, "", "", false},
		{[]byte(`{"time":"1970-01-01T00:00:00Z","target":"","count":-5}`), "", "telemetry/0", "8/0", false},
		{[]byte(`{"id":"","version":-1,"time":"0001-01-01T00:00:00Z","tier":99}`), "", "signals/0", "x", true},
		{[]byte(`not json`), "", "a/b", "1/2", false},
	} {
		f.Add(seed.value, seed.kind, seed.upstream, seed.position, seed.campaignRoleOnly)
	}
	f.Fuzz(func(t *testing.T, value []byte, kind, upstream, position string, toCampaign bool) {
		pub := &recordingPublisher{}
		rec := kafka.Message{Offset: 1, Value: value}
		for _, h := range [][2]string{{HeaderKind, kind}, {HeaderUpstream, upstream}, {HeaderPosition, position}} {
			if h[1] != "" {
				rec.Headers = append(rec.Headers, kafka.Header{Key: h[0], Value: []byte(h[1])})
			}
		}
		var h kafka.Handler
		topic, source := "signals", "telemetry/0"
		if toCampaign {
			topic, source = "incidents", "signals/0"
			h = &campaignHandler{stageIO: stageTestIO(t, pub), escalations: "escalations", prefix: statePrefix("g", config.RoleCampaign),
				totals: totals{}, seen: map[int]campaign.Stats{},
				tasks: map[int]*campaign.Task{0: campaign.NewTask(campaignOptions(config.Defaults(), know))}}
		} else {
			h = &correlateHandler{stageIO: stageTestIO(t, pub), signals: "signals", incidents: "incidents", incidentPart: 1, signalPart: 1,
				prefix: statePrefix("g", config.RoleCorrelate), totals: totals{}, evicted: map[int]uint64{}, marked: map[int]eventtime.Mark{},
				tasks: map[int]*correlate.Task{0: correlate.NewTask(correlate.TaskOptions{Tracker: correlateOptions(config.Defaults(), know), Name: "signals/0", Of: 1})}}
		}
		rec.Topic = topic
		if err := h.Handle(context.Background(), []kafka.Message{rec}); err != nil {
			t.Fatalf("Handle(%q) failed the batch: %v", value, err)
		}
		for _, m := range pub.got {
			if m.Topic == "dead" && headerValue(m, HeaderReason) != ReasonMalformedStageRecord {
				t.Fatalf("dead letter with reason %q", headerValue(m, HeaderReason))
			}
		}
		// The role still takes the next mark and releases what it holds.
		next, _ := json.Marshal(eventtime.Mark{Source: source, Of: 1, Watermark: t0.Add(365 * 24 * time.Hour)})
		after := kafka.Message{Topic: topic, Offset: 2, Value: next, Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMark)}}}
		if err := h.Handle(context.Background(), []kafka.Message{after}); err != nil {
			t.Fatalf("the mark after %q failed: %v", value, err)
		}
	})
}
