package app

import (
	"context"
	"errors"
	"strings"
	"testing"

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

	big := kafka.Message{Topic: "telemetry", Key: []byte(strings.Repeat("k", 200<<10)), Value: []byte(strings.Repeat("v", 2<<20))}
	dl = deadLetter("dlq", big, &pipeline.DeadLetter{Reason: decode.ReasonTooLarge, Err: errors.New("too large")})
	if size(dl) > kafka.MaxRecordBytes || headers(dl)[HeaderTruncated] != "2097152" {
		t.Errorf("oversize dead letter: %d bytes, truncated header %q", size(dl), headers(dl)[HeaderTruncated])
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

type failingPublisher struct{ err error }

func (f failingPublisher) Publish(context.Context, []kafka.Message) error { return f.err }

// A publish failure is returned, so the consumer commits nothing.
func TestHandleReturnsPublishFailure(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	svc, err := NewService(cfg, know, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h := svc.handler
	perm := &kafka.PermanentError{Err: errors.New("broker says no")}
	h.out = failingPublisher{perm}
	batch := []kafka.Message{{Topic: "telemetry", Value: []byte(`{"event":{"category":"process"},"host":{"name":"h"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`)}}
	if err := h.Handle(context.Background(), batch); !errors.Is(err, perm) {
		t.Fatalf("Handle returned %v, want the publish failure", err)
	}
}
