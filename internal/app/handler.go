package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

// Dead-letter headers: the reason (a bounded category), the error text, and
// where the record came from.
const (
	HeaderReason          = "casus.reason"
	HeaderError           = "casus.error"
	HeaderSourceTopic     = "casus.source.topic"
	HeaderSourcePartition = "casus.source.partition"
	HeaderSourceOffset    = "casus.source.offset"
	HeaderTruncated       = "casus.truncated"
)

// publisher is what the handler needs of a producer.
type publisher interface {
	Publish(ctx context.Context, msgs []kafka.Message) error
}

// handler turns batches of telemetry into signals, escalations and dead
// letters, publishes them, and returns once they are acknowledged.
type handler struct {
	newPipeline func() *pipeline.Pipeline
	pipe        *pipeline.Pipeline
	formats     map[string]string // topic → format
	topics      config.Topics
	orgOf       func(target string) string
	out         publisher
	latency     *kafka.Metrics

	res  pipeline.Result
	msgs []kafka.Message
}

var (
	_ kafka.Handler   = (*handler)(nil)
	_ kafka.Rebuilder = (*handler)(nil)
)

func (h *handler) record(m kafka.Message) pipeline.Record {
	return pipeline.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Value: m.Value, Time: m.Time, Format: h.formats[m.Topic]}
}

// Reset drops all correlation state (a new assignment follows).
func (h *handler) Reset() { h.pipe = h.newPipeline() }

// Rebuild feeds committed records through the pipeline and discards what
// they cause: it was published before their offsets were committed.
func (h *handler) Rebuild(batch []kafka.Message) {
	for _, m := range batch {
		h.pipe.Process(h.record(m), &h.res)
	}
}

// Handle processes a batch and publishes its outputs.
func (h *handler) Handle(ctx context.Context, batch []kafka.Message) error {
	h.msgs = h.msgs[:0]
	type caused struct {
		at     time.Time
		output string
	}
	var lat []caused
	for _, m := range batch {
		h.pipe.Process(h.record(m), &h.res)
		if d := h.res.Dead; d != nil {
			h.msgs = append(h.msgs, deadLetter(h.topics.Deadletter, m, d))
			continue
		}
		for _, s := range h.res.Signals {
			v, err := json.Marshal(s)
			if err != nil {
				return fmt.Errorf("marshal signal: %w", err)
			}
			h.msgs = append(h.msgs, kafka.Message{Topic: h.topics.Signals, Key: []byte(h.orgOf(s.Target)), Value: v,
				Headers: []kafka.Header{{Key: "content-type", Value: []byte("application/json")}}})
			lat = append(lat, caused{m.Time, "signal"})
		}
		for _, e := range h.res.Escalations {
			v, err := escalate.Marshal(e)
			if err != nil {
				return err
			}
			h.msgs = append(h.msgs, escalationMessage(h.topics.Escalations, e, v))
			lat = append(lat, caused{m.Time, "escalation"})
		}
	}
	if err := h.out.Publish(ctx, h.msgs); err != nil {
		return err
	}
	now := time.Now()
	for _, c := range lat {
		if !c.at.IsZero() {
			h.latency.Latency.WithLabelValues(c.output).Observe(now.Sub(c.at).Seconds())
		}
	}
	return nil
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
// whence. A value too large for the brokers is cut, and says so.
func deadLetter(topic string, m kafka.Message, d *pipeline.DeadLetter) kafka.Message {
	value := m.Value
	headers := make([]kafka.Header, 0, len(m.Headers)+6)
	headers = append(headers, m.Headers...)
	if len(value) > kafka.MaxRecordBytes {
		value = value[:kafka.MaxRecordBytes]
		headers = append(headers, kafka.Header{Key: HeaderTruncated, Value: []byte(strconv.Itoa(len(m.Value)))})
	}
	errText := d.Err.Error()
	if len(errText) > 1024 {
		errText = errText[:1024]
	}
	headers = append(headers,
		kafka.Header{Key: HeaderReason, Value: []byte(d.Reason)},
		kafka.Header{Key: HeaderError, Value: []byte(errText)},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	return kafka.Message{Topic: topic, Key: m.Key, Value: value, Headers: headers}
}

// signalKey is the organisation a signal's target belongs to.
func signalKey(k *Knowledge) func(string) string {
	return func(target string) string { return k.Assets.Lookup(target).Organisation }
}
