package pipeline

import (
	"fmt"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/stream/decode"
)

// Record is one input record, from Kafka or a file.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Value     []byte
	Time      time.Time // the record's own timestamp; the fallback event time
	// Format is the configured decoder name; "" or decode.Auto selects
	// one per record from ContentType, else from the record's shape.
	Format      string
	ContentType string // the record's content-type header, if any
}

// DeadLetter says why a record could not be processed.
type DeadLetter struct {
	Reason decode.Reason
	// Format is the format the record was decoded as, when one was
	// chosen; "auto" when none recognised it.
	Format string
	Err    error
}

// Result is what one record caused. The slices are reused by the next call
// to Process: copy what must outlive it.
type Result struct {
	Signals []event.Signal
	// EventTime is the event time the record was classified at (after any
	// fallback), zero for a dead letter: what moves the watermark.
	EventTime time.Time
	Dead      *DeadLetter
}

func (r *Result) reset() {
	r.Signals = r.Signals[:0]
	r.EventTime = time.Time{}
	r.Dead = nil
}

// Options build a Pipeline.
type Options struct {
	Decoders *decode.Registry
	Rules    *sigma.Ruleset
	Metrics  *Metrics // nil: unregistered metrics
}

// Pipeline decodes and classifies one stream of records into signals; it
// holds the Sigma correlation rules' windows.
// Not safe for concurrent use: one goroutine feeds it records in order.
type Pipeline struct {
	dec   *decode.Registry
	rules *sigma.Ruleset
	corr  *sigma.Correlator
	m     *Metrics
	quiet *Metrics // Metrics with the live gauges and unregistered counters

	ev   event.Event
	emit func(event.Signal)
	cur  *Result
	// watermark is the latest plausible event time seen: the fallback
	// time of an event that has none when the record has none either.
	watermark time.Time
	corrEv    uint64
	groups    int // this pipeline's share of the correlation_group gauge
}

// New returns a Pipeline.
func New(opt Options) (*Pipeline, error) {
	if opt.Decoders == nil || opt.Rules == nil {
		return nil, fmt.Errorf("pipeline: decoders and rules are required")
	}
	m := opt.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	p := &Pipeline{
		dec:   opt.Decoders,
		rules: opt.Rules,
		corr:  opt.Rules.NewCorrelator(),
		m:     m,
	}
	p.quiet = m.withoutCounters()
	p.emit = func(s event.Signal) { p.cur.Signals = append(p.cur.Signals, s) }
	return p, nil
}

// Rules returns the rule set that classifies the records processed now.
func (p *Pipeline) Rules() *sigma.Ruleset { return p.rules }

// SetRules makes rs classify the records processed from now on; a nil rs or
// the set in force changes nothing. The caller swaps between batches, so
// that each batch is classified by one set. The correlation windows of the
// previous set are dropped (its Correlator's state belongs to its rules):
// the new set's correlation rules count from empty. Incidents live in the
// later stages and are not touched.
func (p *Pipeline) SetRules(rs *sigma.Ruleset) {
	if rs == nil || rs == p.rules {
		return
	}
	p.rules = rs
	p.corr = rs.NewCorrelator()
	p.corrEv = 0 // the new correlator counts its evictions from 0
	p.setGroups(0)
}

// Replay runs a record already processed before (to rebuild state after a
// restart) through the pipeline: state and gauges change as in Process,
// but the counters of records, signals, escalations and failures do not
// count it a second time.
func (p *Pipeline) Replay(r Record, res *Result) {
	m := p.m
	p.m = p.quiet
	defer func() { p.m = m }()
	p.Process(r, res)
}

// Process runs one record through the pipeline and fills res.
func (p *Pipeline) Process(r Record, res *Result) {
	res.reset()
	p.m.consumed.WithLabelValues(r.Topic).Inc()
	format, err := p.dec.Select(r.Format, r.ContentType)
	if err == nil {
		format, err = p.dec.DecodeAs(format, r.Value, &p.ev)
	}
	if err != nil {
		reason := decode.ReasonOf(err)
		if format == "" {
			format = decode.Auto
		}
		p.m.decodeFailures.WithLabelValues(r.Topic, string(reason)).Inc()
		res.Dead = &DeadLetter{Reason: reason, Format: format, Err: err}
		return
	}
	p.m.decoded.WithLabelValues(r.Topic, format).Inc()
	p.process(r, format, res)
}

// ProcessEvent runs an event decoded elsewhere (a row of a Zeek TSV file)
// through the pipeline as Process does after decoding; format names its
// format for the metrics. ev is copied.
func (p *Pipeline) ProcessEvent(r Record, format string, ev *event.Event, res *Result) {
	res.reset()
	p.m.consumed.WithLabelValues(r.Topic).Inc()
	p.m.decoded.WithLabelValues(r.Topic, format).Inc()
	p.ev = *ev
	p.process(r, format, res)
}

// process classifies and correlates p.ev, the decoded record r.
func (p *Pipeline) process(r Record, format string, res *Result) {
	if t := p.ev.Timestamp; !t.IsZero() && (t.Before(earliestEventTime) || !t.Before(latestEventTime)) {
		// A year the sensor cannot mean (a dead clock's 1970, a hostile
		// 9999) says the record's content cannot be trusted either, and any
		// stand-in time would be a guess: a dead letter shows it.
		reason := decode.ReasonWrongType
		p.m.decodeFailures.WithLabelValues(r.Topic, string(reason)).Inc()
		res.Dead = &DeadLetter{Reason: reason, Format: format, Err: decode.NewError(format, reason, "@timestamp",
			fmt.Errorf("event time %s outside %d..%d: a dead sensor clock or a hostile value",
				t.UTC().Format(time.RFC3339), earliestEventTime.Year(), latestEventTime.Year()-1))}
		return
	}
	if reason := implausible(p.ev.Timestamp, r.Time); reason != "" {
		// A missing or far-future event time would move the correlation
		// windows for everyone (one record stamped a day ahead would expire
		// every window). The record's own timestamp is the next best time,
		// else the latest plausible event time seen. Counted by reason, so
		// a broken sensor clock shows.
		fallback := r.Time
		if implausible(fallback, time.Time{}) != "" {
			fallback = p.watermark
		}
		if fallback.IsZero() {
			reason := decode.ReasonMissingField
			p.m.decodeFailures.WithLabelValues(r.Topic, string(reason)).Inc()
			res.Dead = &DeadLetter{Reason: reason, Format: format, Err: fmt.Errorf("event time %s: no usable @timestamp and no record time to fall back on", reason)}
			return
		}
		p.ev.Timestamp = fallback
		p.m.timestampFallbacks.WithLabelValues(r.Topic, reason).Inc()
	}
	if p.ev.Timestamp.After(p.watermark) {
		p.watermark = p.ev.Timestamp
	}
	evid := event.Evidence{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, EventTime: p.ev.Timestamp.UTC()}

	start := time.Now()
	p.cur = res
	p.corr.Observe(&p.ev, evid, p.emit)
	p.cur = nil
	p.m.ruleSeconds.Observe(time.Since(start).Seconds())

	res.EventTime = p.ev.Timestamp
	for _, s := range res.Signals {
		p.m.signals.WithLabelValues(string(s.Class), s.RuleLevel).Inc()
	}
	p.updateState()
}

// Close releases the pipeline's share of the gauges; the pipeline must not
// be used after it (a new one replaces it after a new assignment).
func (p *Pipeline) Close() {
	p.setGroups(0)
}

// setGroups moves the correlation_group gauge by this pipeline's change:
// several pipelines (one per input partition) share the gauge.
func (p *Pipeline) setGroups(n int) {
	if d := n - p.groups; d != 0 {
		p.m.StateEntries.WithLabelValues("correlation_group").Add(float64(d))
		p.groups = n
	}
}

func (p *Pipeline) updateState() {
	cs := p.corr.Stats()
	p.setGroups(cs.Groups)
	if d := cs.Evictions - p.corrEv; d > 0 {
		p.m.StateEvictions.WithLabelValues("correlation_group").Add(float64(d))
		p.corrEv = cs.Evictions
	}
}

// Event times outside these bounds are not believed: before them sensors
// with a dead clock report 1970, after them Go's nanosecond clock overflows.
var (
	earliestEventTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	latestEventTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MaxFutureSkew is how far an event may claim to lie after its record's own
// timestamp (clock skew between a sensor and the broker).
const MaxFutureSkew = time.Hour

// implausible says why t cannot serve as an event time ("" when it can):
// missing, outside the plausible years (refused before this is asked of an
// event's own time), or too far after ref (when known).
func implausible(t, ref time.Time) string {
	switch {
	case t.IsZero():
		return "missing"
	case t.Before(earliestEventTime) || !t.Before(latestEventTime):
		return "implausible"
	case !ref.IsZero() && t.After(ref.Add(MaxFutureSkew)):
		return "future"
	}
	return ""
}
