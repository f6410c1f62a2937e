package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/casus-sec/casus/stream/kafka"
)

// shadowCopies is a good record: a destructive signal, so the tests can
// tell that the records around a hostile one still produce theirs.
const shadowCopies = `{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`

// hostileInput is one class of record a telemetry pipeline must turn away
// whole: a dead letter with its reason, nothing else.
type hostileInput struct {
	name        string
	value       []byte
	contentType string // the record's content-type header, if any
	reason      string // the dead letter's casus.reason
	msg         string // part of its casus.error
}

// hostileInputs are the classes docs/reliability.md lists, each the
// smallest record that shows its class (or, for size, the smallest that
// crosses the default 1 MiB limit).
func hostileInputs() []hostileInput {
	good := shadowCopies
	with := func(old, new string) []byte { return []byte(strings.Replace(good, old, new, 1)) }
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 512)
	for i := range garbage {
		garbage[i] = byte(rnd.Uint32())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(garbage)
	_ = zw.Close()
	return []hostileInput{
		{name: "truncated JSON", value: []byte(good[:len(good)/2]), reason: "malformed", msg: "unexpected end of input"},
		{name: "wrong type", value: with(`"ip":"10.0.0.1"`, `"ip":{"v4":"10.0.0.1"}`), reason: "wrong_type", msg: "field host.ip: want IP address, got object"},
		{name: "top-level array", value: []byte("[" + good + "]"), reason: "wrong_type", msg: "want a JSON object at top level"},
		{name: "deep nesting", value: []byte(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)), reason: "too_deep", msg: "nesting deeper than 64"},
		{name: "many values", value: []byte(`{"a":[` + strings.Repeat("1,", 70_000) + `1]}`), reason: "too_large", msg: "more than 65536 JSON values"},
		{name: "huge string", value: with(`"name":"ws1"`, `"name":"`+strings.Repeat("A", 2<<20)+`"`), reason: "too_large", msg: "exceeds the limit of 1048576"},
		{name: "invalid UTF-8", value: with(`"ws1"`, "\"ws\xff\xfe1\""), reason: "invalid_utf8", msg: "invalid UTF-8 at offset"},
		{name: "binary garbage", value: garbage, reason: "invalid_utf8", msg: "invalid UTF-8 at offset"},
		{name: "raw NUL byte", value: with(`"ws1"`, "\"ws\x001\""), reason: "malformed", msg: "control character 0x00 in string"},
		{name: "escaped NUL", value: with(`"ws1"`, `"ws\u00001"`), reason: "malformed", msg: `NUL character (\u0000) in string`},
		{name: "duplicate key", value: with(`"host":{"name":"ws1"`, `"host":{"name":"decoy","name":"ws1"`), reason: "malformed", msg: `duplicate member name "name"`},
		{name: "escaped duplicate key", value: with(`"host":{"name":"ws1"`, `"host":{"name":"decoy","n\u0061me":"ws1"`), reason: "malformed", msg: `duplicate member name "name"`},
		{name: "number out of range", value: with(`"ip":"10.0.0.1"}`, `"ip":"10.0.0.1"},"source":{"port":99999999999999999999}`), reason: "wrong_type", msg: "field source.port: want number in [0, 65535]"},
		{name: "number overflowing float", value: with(`"ip":"10.0.0.1"}`, `"ip":"10.0.0.1"},"source":{"port":1e400}`), reason: "wrong_type", msg: "field source.port"},
		{name: "timestamp year 9999", value: with("2026-03-02T08:00:00Z", "9999-12-31T23:59:59Z"), reason: "wrong_type", msg: "field @timestamp: event time 9999-12-31T23:59:59Z outside 1980..2199"},
		{name: "timestamp year 1970", value: with("2026-03-02T08:00:00Z", "1970-01-01T00:00:00Z"), reason: "wrong_type", msg: "field @timestamp: event time 1970-01-01T00:00:00Z outside 1980..2199"},
		{name: "unknown format (content type)", value: []byte(good), contentType: "application/json; format=cef", reason: "unknown_format", msg: `names format "cef"`},
		{name: "unknown format (shape)", value: []byte(`{"foo":"bar","baz":1}`), reason: "unknown_format", msg: "no format recognises the record"},
		{name: "empty value", value: nil, reason: "empty"},
		{name: "whitespace value", value: []byte(" \n\t "), reason: "empty"},
		{name: "empty field values", value: []byte(`{"@timestamp":"","event":{"category":""},"host":{"name":"","ip":""}}`), reason: "wrong_type", msg: "field @timestamp: want RFC 3339 time"},
		{name: "compressed garbage", value: gz.Bytes(), reason: "compressed", msg: "gzip magic bytes"},
	}
}

// countingPublisher keeps the dead letters and counts the signals it was
// asked to publish, dropping their bodies so long runs stay small.
type countingPublisher struct {
	deadletter string
	signals    string
	dead       []kafka.Message
	shadow     int
}

func (p *countingPublisher) Publish(_ context.Context, msgs []kafka.Message) error {
	for _, m := range msgs {
		switch {
		case m.Topic == p.deadletter:
			m.Value = bytes.Clone(m.Value[:min(len(m.Value), 64)])
			p.dead = append(p.dead, m)
		case m.Topic == p.signals && bytes.Contains(m.Value, []byte("Shadow copies deleted")):
			p.shadow++
		}
	}
	return nil
}

// Every hostile class is one dead letter with its reason, and the good
// records on either side of it in the same batch still give their signals.
func TestHostileInputs(t *testing.T) {
	if n := len(hostileInputs()); n < 12 {
		t.Fatalf("%d hostile classes, want at least 12", n)
	}
	for _, tc := range hostileInputs() {
		t.Run(tc.name, func(t *testing.T) {
			svc, cfg := testService(t)
			pub := &countingPublisher{deadletter: cfg.Deadletter, signals: cfg.Signals}
			svc.handler.out = pub
			bad := kafka.Message{Topic: "telemetry", Partition: 0, Offset: 1, Time: recordTime, Key: []byte("bad"), Value: tc.value}
			if tc.contentType != "" {
				bad.Headers = []kafka.Header{{Key: "Content-Type", Value: []byte(tc.contentType)}}
			}
			batch := []kafka.Message{
				{Topic: "telemetry", Partition: 0, Offset: 0, Time: recordTime, Value: []byte(shadowCopies)},
				bad,
				{Topic: "telemetry", Partition: 0, Offset: 2, Time: recordTime, Value: []byte(strings.Replace(shadowCopies, "ws1", "ws2", 2))},
			}
			if err := svc.handler.Handle(context.Background(), batch); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(pub.dead) != 1 {
				t.Fatalf("%d dead letters, want 1", len(pub.dead))
			}
			h := headers(pub.dead[0])
			if h[HeaderReason] != tc.reason || !strings.Contains(h[HeaderError], tc.msg) {
				t.Errorf("dead letter reason %q error %q, want %q containing %q", h[HeaderReason], h[HeaderError], tc.reason, tc.msg)
			}
			if h[HeaderSourceOffset] != "1" || string(pub.dead[0].Key) != "bad" {
				t.Errorf("dead letter is not of the hostile record: offset %q key %q", h[HeaderSourceOffset], pub.dead[0].Key)
			}
			if !isValidUTF8(h[HeaderError]) {
				t.Errorf("error header is not valid UTF-8: %q", h[HeaderError])
			}
			if pub.shadow != 2 {
				t.Errorf("%d shadow-copy signals from the good records around it, want 2", pub.shadow)
			}
			if n := metricValue(t, svc, "casus_deadletters_total"); n != 1 {
				t.Errorf("casus_deadletters_total %v, want 1", n)
			}
		})
	}
}

// Hostile records cost no memory that outlives them: after many rounds of
// every class the heap is back where it was, give or take the pools.
func TestHostileInputsBoundedMemory(t *testing.T) {
	svc, cfg := testService(t)
	pub := &countingPublisher{deadletter: cfg.Deadletter, signals: cfg.Signals}
	svc.handler.out = pub
	inputs := hostileInputs()
	round := func(r int) {
		batch := make([]kafka.Message, 0, len(inputs))
		for i, in := range inputs {
			m := kafka.Message{Topic: "telemetry", Offset: int64(r*len(inputs) + i), Time: recordTime, Value: in.value}
			if in.contentType != "" {
				m.Headers = []kafka.Header{{Key: "content-type", Value: []byte(in.contentType)}}
			}
			batch = append(batch, m)
		}
		if err := svc.handler.Handle(context.Background(), batch); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		pub.dead = pub.dead[:0]
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	round(0) // fills the pools
	before := heap()
	for r := 1; r <= rounds; r++ {
		round(r)
	}
	after := heap()
	// Each round pushes about 3.5 MiB of hostile input through; anything
	// kept per record would show as hundreds of MiB.
	const slack = 16 << 20
	if after > before+slack {
		t.Errorf("heap grew from %d to %d bytes over %d rounds of %d hostile records", before, after, rounds, len(inputs))
	}
	t.Logf("heap %s before, %s after %d rounds of %d hostile records", mib(before), mib(after), rounds, len(inputs))
}

func mib(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }
