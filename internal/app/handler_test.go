package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

func TestDeadLetter(t *testing.T) {
	orig := kafka.Message{Topic: "telemetry", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte("{bad"),
		Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}, {Key: HeaderReason, Value: []byte("stale")}}}
	long := strings.Repeat("é", 2000) // 4000 bytes: the cut must not split a character
	dl := deadLetter("dlq", orig, &pipeline.DeadLetter{Reason: decode.ReasonMalformed, Err: errors.New(long)})
	h := headers(dl)
	if dl.Topic != "dlq" || string(dl.Key) != "k" || string(dl.Value) != "{bad" {
		t.Errorf("dead letter %+v does not carry the original", dl)
	}
	if h["trace"] != "t1" || h[HeaderReason] != "malformed" || h[HeaderSourceTopic] != "telemetry" || h[HeaderSourcePartition] != "2" || h[HeaderSourceOffset] != "41" {
		t.Errorf("headers %v", h)
	}
	n := 0
	for _, x := range dl.Headers {
		if x.Key == HeaderReason {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d %s headers, want the old one replaced", n, HeaderReason)
	}
	if e := h[HeaderError]; len(e) > 1024 || !strings.HasPrefix(long, e) || !isValidUTF8(e) {
		t.Errorf("error header of %d bytes is not a valid cut of the message", len(e))
	}

	big := kafka.Message{Topic: "telemetry", Key: []byte(strings.Repeat("k", 200<<10)), Value: []byte(strings.Repeat("v", 2<<20)),
		Headers: []kafka.Header{{Key: "small", Value: []byte("kept")}, {Key: "huge", Value: []byte(strings.Repeat("h", 1_010_000))}}}
	dl = deadLetter("dlq", big, &pipeline.DeadLetter{Reason: decode.ReasonTooLarge, Err: errors.New("too large")})
	h = headers(dl)
	if size(dl) > kafka.MaxRecordBytes || h[HeaderTruncated] != "2097152" || !strings.HasPrefix(string(big.Value), string(dl.Value)) {
		t.Errorf("oversize dead letter: %d bytes, truncated header %q", size(dl), h[HeaderTruncated])
	}
	if h["small"] != "kept" || h["huge"] != "" || h[HeaderHeadersDropped] != "1" {
		t.Errorf("header budget: small %q, huge kept %v, dropped %q", h["small"], h["huge"] != "", h[HeaderHeadersDropped])
	}
	// An empty value with a header near the broker's limit must still fit.
	hdrOnly := kafka.Message{Topic: "telemetry", Headers: []kafka.Header{{Key: "huge", Value: []byte(strings.Repeat("h", 1_010_000))}}}
	if dl = deadLetter("dlq", hdrOnly, &pipeline.DeadLetter{Reason: decode.ReasonEmpty, Err: errors.New("empty")}); size(dl) > kafka.MaxRecordBytes {
		t.Errorf("dead letter of a header-heavy record is %d bytes", size(dl))
	}
}

// recordTime is the Kafka timestamp of the records the handler tests feed:
// their events carry no time of their own.
var recordTime = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// recordingPublisher keeps what it was asked to publish and answers err.
type recordingPublisher struct {
	got []kafka.Message
	err error
}

func (r *recordingPublisher) Publish(_ context.Context, msgs []kafka.Message) error {
	r.got = append(r.got, msgs...)
	return r.err
}

// A publish failure is returned, so the consumer commits nothing.
func TestHandleReturnsPublishFailure(t *testing.T) {
	svc, cfg := testService(t)
	h := svc.handler
	perm := &kafka.PermanentError{Err: errors.New("broker says no")}
	pub := &recordingPublisher{err: perm}
	h.out = pub
	batch := []kafka.Message{{Topic: "telemetry", Time: recordTime, Value: []byte(`{"event":{"category":"process"},"host":{"name":"h"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`)}}
	if err := h.Handle(context.Background(), batch); !errors.Is(err, perm) {
		t.Fatalf("Handle returned %v, want the publish failure", err)
	}
	found := false
	for _, m := range pub.got {
		found = found || (m.Topic == cfg.Signals && strings.Contains(string(m.Value), "Shadow copies deleted"))
	}
	if !found {
		t.Errorf("the %d records handed to the publisher lack the shadow-copy signal", len(pub.got))
	}
}

// A signal too large to publish becomes a dead letter of its record.
func TestHandleReplacesOversizeOutput(t *testing.T) {
	svc, cfg := testService(t)
	h := svc.handler
	pub := &recordingPublisher{}
	h.out = pub
	host := strings.Repeat("h", 990_000) // within the 1 MiB input limit; its signal is not
	rec := kafka.Message{Topic: "telemetry", Partition: 1, Offset: 7, Time: recordTime,
		Value: []byte(`{"event":{"category":"process"},"host":{"name":"` + host + `"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`)}
	if err := h.Handle(context.Background(), []kafka.Message{rec}); err != nil {
		t.Fatal(err)
	}
	var dead []kafka.Message
	for _, m := range pub.got {
		if size(m) > kafka.MaxRecordBytes {
			t.Errorf("published a %d-byte record to %s", size(m), m.Topic)
		}
		if m.Topic == cfg.Deadletter {
			dead = append(dead, m)
		}
	}
	if len(dead) == 0 || headers(dead[0])[HeaderReason] != string(ReasonOutputTooLarge) || headers(dead[0])[HeaderSourceOffset] != "7" {
		t.Fatalf("no output_too_large dead letter among %d records", len(pub.got))
	}
	if n := metricValue(t, svc, "casus_outputs_too_large_total"); n < 1 {
		t.Errorf("casus_outputs_too_large_total %v", n)
	}
}

// testService builds a service on the scenario's knowledge without starting it.
func testService(t *testing.T) (*Service, config.Config) {
	t.Helper()
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	svc, err := NewService(cfg, know, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return svc, cfg
}
