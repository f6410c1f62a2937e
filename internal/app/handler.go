package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

// Dead-letter headers: the reason (a bounded category), the error text, and
// where the record came from.
const (
	HeaderReason          = "casus.reason"
	HeaderFormat          = "casus.format"
	HeaderError           = "casus.error"
	HeaderSourceTopic     = "casus.source.topic"
	HeaderSourcePartition = "casus.source.partition"
	HeaderSourceOffset    = "casus.source.offset"
	HeaderTruncated       = "casus.truncated"
	HeaderHeadersDropped  = "casus.headers.dropped"
)

// publisher is what the handler needs of a producer.
type publisher interface {
	Publish(ctx context.Context, msgs []kafka.Message) error
}

// handler turns batches of telemetry into signals, escalations and dead
// letters, publishes them, and returns once they are acknowledged.
type handler struct {
	newPipeline func(*sigma.Ruleset) *pipeline.Pipeline
	// One pipeline per input partition: a Sigma correlation window then
	// sees one partition's records on that partition's clock, whichever
	// process holds it and whatever else that process holds, so a
	// partition's signals do not depend on the assignment.
	parts   map[kafka.TopicPartition]*pipeline.Pipeline
	current *sigma.Ruleset // the rule set the pipelines run
	// rules returns the newest rule set; nil when the set never changes.
	// The handler installs it only between batches (see Handle).
	rules       func() *sigma.Ruleset
	formats     map[string]string // topic → format
	topics      config.Topics
	orgOf       func(target string) string
	out         publisher
	latency     *kafka.Metrics
	tooLarge    *prometheus.CounterVec
	deadLetters *prometheus.CounterVec

	res  pipeline.Result
	msgs []kafka.Message

	// Watermarks: the latest event time of each input partition, which
	// partitions are idle, and how many partitions of each kind there are.
	latest           map[kafka.TopicPartition]time.Time
	idle             map[kafka.TopicPartition]bool
	marked           map[kafka.TopicPartition]eventtime.Mark // the last mark sent
	lateness         time.Duration
	inputPartitions  int
	signalPartitions int
}

// advance moves the partition's latest event time to the record just
// processed.
func (h *handler) advance(tp kafka.TopicPartition) {
	if t := h.res.EventTime; t.After(h.latest[tp]) {
		h.latest[tp] = t
	}
}

// watermark is the event time below which the partition sends nothing more
// in order: its latest event time less the allowed lateness.
func (h *handler) watermark(tp kafka.TopicPartition) time.Time {
	t := h.latest[tp]
	if t.IsZero() {
		return t
	}
	return t.Add(-h.lateness)
}

func sortedPartitions(m map[kafka.TopicPartition]bool) []kafka.TopicPartition {
	out := make([]kafka.TopicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b kafka.TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

var (
	_ kafka.Handler   = (*handler)(nil)
	_ kafka.Rebuilder = (*handler)(nil)
)

func (h *handler) record(m kafka.Message) pipeline.Record {
	return pipeline.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Value: m.Value, Time: m.Time,
		Format: h.formats[m.Topic], ContentType: contentType(m)}
}

// Reset drops all correlation state (a new assignment follows); the new
// pipelines run the newest rule set.
func (h *handler) Reset() {
	if h.rules != nil {
		h.current = h.rules()
	}
	for _, p := range h.parts {
		p.Close()
	}
	h.parts = map[kafka.TopicPartition]*pipeline.Pipeline{}
	h.latest, h.idle = map[kafka.TopicPartition]time.Time{}, map[kafka.TopicPartition]bool{}
	h.marked = map[kafka.TopicPartition]eventtime.Mark{}
}

// pipe returns the pipeline of an input partition.
func (h *handler) pipe(tp kafka.TopicPartition) *pipeline.Pipeline {
	p := h.parts[tp]
	if p == nil {
		p = h.newPipeline(h.current)
		h.parts[tp] = p
	}
	return p
}

// Rebuild feeds committed records through their partitions' pipelines and
// discards what they cause: it was published before their offsets were
// committed.
func (h *handler) Rebuild(batch []kafka.Message) {
	for _, m := range batch {
		tp := kafka.TopicPartition{Topic: m.Topic, Partition: m.Partition}
		h.pipe(tp).Replay(h.record(m), &h.res)
		h.advance(tp)
	}
}

// Handle processes a batch and publishes its outputs. A reloaded rule set
// is taken here, before the batch's first record and never within it: each
// record is classified by exactly one set, and a batch retried after a
// failed publish may meet the newer set, as a replay after a crash would.
func (h *handler) Handle(ctx context.Context, batch []kafka.Message) error {
	if h.rules != nil {
		if rs := h.rules(); rs != h.current {
			h.current = rs
			for _, p := range h.parts {
				p.SetRules(rs)
			}
		}
	}
	h.msgs = h.msgs[:0]
	type caused struct {
		at     time.Time
		output string
	}
	var lat []caused
	emit := func(src kafka.Message, out kafka.Message, kind string) {
		// An output too large to publish would wedge the partition forever;
		// it becomes a dead letter of its record, cut down and saying why.
		if size(out) > kafka.MaxRecordBytes {
			h.tooLarge.WithLabelValues(kind).Inc()
			out = deadLetter(h.topics.Deadletter, src, &pipeline.DeadLetter{
				Reason: ReasonOutputTooLarge,
				Err:    fmt.Errorf("%s output of %d bytes exceeds the %d-byte record limit", kind, size(out), kafka.MaxRecordBytes),
			})
		}
		h.msgs = append(h.msgs, out)
		lat = append(lat, caused{src.Time, kind})
	}
	touched := map[kafka.TopicPartition]bool{}
	for _, m := range batch {
		tp := kafka.TopicPartition{Topic: m.Topic, Partition: m.Partition}
		touched[tp] = true
		if kafka.IsIdleMarker(m) {
			h.idle[tp] = true
			continue
		}
		delete(h.idle, tp)
		h.pipe(tp).Process(h.record(m), &h.res)
		h.advance(tp)
		if d := h.res.Dead; d != nil {
			h.msgs = append(h.msgs, deadLetter(h.topics.Deadletter, m, d))
			continue
		}
		up := []byte(m.Topic + "/" + strconv.Itoa(m.Partition))
		for i, s := range h.res.Signals {
			v, err := json.Marshal(s)
			if err != nil {
				return fmt.Errorf("marshal signal: %w", err)
			}
			emit(m, kafka.Message{Topic: h.topics.Signals, Key: []byte(h.orgOf(s.Target)), Value: v,
				Headers: []kafka.Header{
					{Key: "content-type", Value: []byte("application/json")},
					{Key: HeaderUpstream, Value: up},
					{Key: HeaderPosition, Value: []byte(strconv.FormatInt(m.Offset, 10) + "/" + strconv.Itoa(i))},
				}}, "signal")
		}
	}
	// Every signals partition hears how far each touched input partition
	// got, after the signals that partition caused.
	// A mark that says nothing new is not sent again: marks go to every
	// partition, so they cost partitions² records per batch.
	sent := map[kafka.TopicPartition]eventtime.Mark{}
	for _, tp := range sortedPartitions(touched) {
		mk := eventtime.Mark{Source: tp.Topic + "/" + strconv.Itoa(tp.Partition), Of: h.inputPartitions,
			Watermark: h.watermark(tp), Idle: h.idle[tp]}
		if last, ok := h.marked[tp]; ok && last == mk {
			continue
		}
		marks, err := markMessages(h.topics.Signals, h.signalPartitions, mk)
		if err != nil {
			return err
		}
		h.msgs = append(h.msgs, marks...)
		sent[tp] = mk
	}
	if err := h.out.Publish(ctx, h.msgs); err != nil {
		return err
	}
	maps.Copy(h.marked, sent)
	for _, m := range h.msgs {
		if m.Topic == h.topics.Deadletter {
			h.deadLetters.WithLabelValues(headerValue(m, HeaderReason)).Inc()
		}
	}
	now := time.Now()
	for _, c := range lat {
		if !c.at.IsZero() {
			h.latency.Latency.WithLabelValues(c.output).Observe(now.Sub(c.at).Seconds())
		}
	}
	return nil
}

// contentType returns the record's content-type header; producers spell
// the key in any case.
func contentType(m kafka.Message) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, "content-type") {
			return string(h.Value)
		}
	}
	return ""
}

func headerValue(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// ReasonOutputTooLarge is the dead-letter reason of a record whose output
// (a signal or an escalation) was too large to publish.
const ReasonOutputTooLarge decode.Reason = "output_too_large"

// size is what a record weighs against the producer's limits.
func size(m kafka.Message) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// escalationMessage is a CloudEvents structured-mode Kafka record, with the
// ce_ headers too so consumers can route without parsing the value.
func escalationMessage(topic string, e escalate.Escalation, value []byte) kafka.Message {
	return kafka.Message{
		Topic: topic,
		Key:   []byte(e.Data.IncidentID),
		Value: value,
		Headers: []kafka.Header{
			{Key: "content-type", Value: []byte("application/cloudevents+json; charset=UTF-8")},
			{Key: "ce_specversion", Value: []byte(e.SpecVersion)},
			{Key: "ce_id", Value: []byte(e.ID)},
			{Key: "ce_type", Value: []byte(e.Type)},
			{Key: "ce_source", Value: []byte(e.Source)},
			{Key: "ce_subject", Value: []byte(e.Subject)},
		},
	}
}

// deadLetter keeps the original key, value and headers and adds why and
// whence. casus's own headers on the original (a dead letter fed back in)
// are replaced, not repeated. The original headers get a byte budget (the
// rest are dropped and counted in a header); then a record too large to
// publish is cut, value first, then key, and says how long it was.
func deadLetter(topic string, m kafka.Message, d *pipeline.DeadLetter) kafka.Message {
	errText := d.Err.Error()
	if len(errText) > 1024 {
		errText = strings.ToValidUTF8(errText[:1024], "")
	}
	headers := make([]kafka.Header, 0, len(m.Headers)+7)
	budget, dropped := headerBudget, 0
	for _, h := range m.Headers {
		if strings.HasPrefix(h.Key, "casus.") {
			continue
		}
		if n := len(h.Key) + len(h.Value); n <= budget {
			headers = append(headers, h)
			budget -= n
		} else {
			dropped++
		}
	}
	if dropped > 0 {
		headers = append(headers, kafka.Header{Key: HeaderHeadersDropped, Value: []byte(strconv.Itoa(dropped))})
	}
	headers = append(headers,
		kafka.Header{Key: HeaderReason, Value: []byte(d.Reason)},
		kafka.Header{Key: HeaderFormat, Value: []byte(d.Format)},
		kafka.Header{Key: HeaderError, Value: []byte(errText)},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	out := kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers}
	if over := size(out) - kafka.MaxRecordBytes; over > 0 {
		orig := len(m.Value)
		cut := min(over+64, len(out.Value))
		out.Value = out.Value[:len(out.Value)-cut]
		if over := size(out) + 64 - kafka.MaxRecordBytes; over > 0 {
			out.Key = out.Key[:max(len(out.Key)-over, 0)]
		}
		out.Headers = append(out.Headers, kafka.Header{Key: HeaderTruncated, Value: []byte(strconv.Itoa(orig))})
	}
	return out
}

// headerBudget bounds the bytes of a record's own headers a dead letter
// keeps: headers are the one part of a record the cut above cannot shorten.
const headerBudget = 64 << 10

// signalKey is the organisation a signal's target belongs to.
func signalKey(k *Knowledge) func(string) string {
	return func(target string) string { return k.Assets.Lookup(target).Organisation }
}
