package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/classify/severity"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
	"github.com/casus-sec/casus/stream/sign"
)

// Headers of the records that pass between the roles.
const (
	// HeaderKind is "mark" on a watermark record; data records lack it.
	HeaderKind = "casus.kind"
	// HeaderUpstream names the partition a record's content came from
	// (topic/partition), HeaderPosition where in it (offset/index for a
	// signal, the sending task's sequence number for an incident update).
	HeaderUpstream = "casus.upstream"
	HeaderPosition = "casus.position"
)

// KindMark is HeaderKind's value on a watermark record.
const KindMark = "mark"

// stateOffset is the key of the input offset a task's state is as of.
const stateOffset = "offset"

// stageMetrics are the stateful roles' collectors.
type stageMetrics struct {
	late, duplicates *prometheus.CounterVec
	held             *prometheus.GaugeVec
	escalations      *prometheus.CounterVec
	closed           *prometheus.CounterVec
	incidentsOpen    *prometheus.GaugeVec
	bytes            *prometheus.GaugeVec
	watermark        *prometheus.GaugeVec
	entries          *prometheus.GaugeVec
	evictions        *prometheus.CounterVec
	suppressed       prometheus.Counter
	malformed        *prometheus.CounterVec
}

func newStageMetrics(reg prometheus.Registerer, pm *pipeline.Metrics) *stageMetrics {
	f := promauto.With(reg)
	return &stageMetrics{
		late: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_late_records_total", Help: "Records that arrived after the event-time watermark had passed them, correlated at once out of order, by role.",
		}, []string{"role"}),
		duplicates: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_duplicate_records_total", Help: "Records dropped because their upstream position was already folded (a replay after a restart), by role.",
		}, []string{"role"}),
		held: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_watermark_held_records", Help: "Records held until the event-time watermark passes them, by role.",
		}, []string{"role"}),
		watermark: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_watermark_seconds", Help: "Lowest event-time watermark of this process's partitions, as a Unix time, by role.",
		}, []string{"role"}),
		escalations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_escalations_total", Help: "Escalations acknowledged by the brokers, by level and candidacy.",
		}, []string{"level", "candidacy"}),
		closed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_escalations_closed_total", Help: "Escalated incidents closed, by reason.",
		}, []string{"reason"}),
		incidentsOpen: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_incidents_open", Help: "Incidents the campaign role holds, by their current level.",
		}, []string{"level"}),
		bytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "casus_state_bytes", Help: "Estimated memory of the correlation state held, by kind.",
		}, []string{"kind"}),
		entries:   pm.StateEntries,
		evictions: pm.StateEvictions,
		suppressed: f.NewCounter(prometheus.CounterOpts{
			Name: "casus_escalations_suppressed_total", Help: "Level rises not published because the level was told within the policy's cooldown.",
		}),
		malformed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_stage_records_malformed_total", Help: "Records between the roles that could not be read, dead-lettered, by role.",
		}, []string{"role"}),
	}
}

// initEscalations creates the escalation series a campaign role can
// publish, at zero: a counter whose series is born at 1 shows no
// increase() in Prometheus, so the alert on the first candidate of a
// process's life would never fire.
func (m *stageMetrics) initEscalations(minLevel int) {
	for level := max(minLevel, 0); level <= 5; level++ {
		l := strconv.Itoa(level)
		switch {
		case level < 3:
			m.escalations.WithLabelValues(l, string(severity.CandidacyNone))
		case level == 3:
			m.escalations.WithLabelValues(l, string(severity.CandidacySignificant))
		default:
			for _, c := range []severity.Candidacy{severity.CandidacySignificant, severity.CandidacyAACPending, severity.CandidacyAAC} {
				m.escalations.WithLabelValues(l, string(c))
			}
		}
	}
}

// initEvictions creates a role's eviction series at zero, for the same
// reason: the first burst of evictions of a process would show no increase().
func (m *stageMetrics) initEvictions(kind string) { m.evictions.WithLabelValues(kind) }

// stateMessage is one state change of a task, on the state topic's
// partition of the task's input partition.
func stateMessage(topic, prefix string, partition int, key string, value []byte) kafka.Message {
	return kafka.ToPartition(kafka.Message{Topic: topic, Key: []byte(prefix + strconv.Itoa(partition) + "/" + key), Value: value}, partition)
}

// statePrefix starts the state keys of a role: the consumer group first,
// so deployments sharing a state topic never read each other's state.
func statePrefix(group string, r config.Role) string {
	return group + "/" + string(r) + "/"
}

func markMessages(topic string, partitions int, m eventtime.Mark) ([]kafka.Message, error) {
	v, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode watermark: %w", err)
	}
	out := make([]kafka.Message, partitions)
	for p := range partitions {
		out[p] = kafka.ToPartition(kafka.Message{Topic: topic, Value: v, Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMark)}}}, p)
	}
	return out, nil
}

// loadState reads the last value of every key of one task from the state
// topic, and the input offset the state is as of (-1: none).
func loadState(ctx context.Context, store *kafka.StateStore, prefix string, partition int) (map[string][]byte, int64, error) {
	p := prefix + strconv.Itoa(partition) + "/"
	state := map[string][]byte{}
	if _, err := store.Load(ctx, partition, p, func(key string, value []byte) error {
		k := key[len(p):]
		if value == nil {
			delete(state, k)
		} else {
			state[k] = value
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("load %sstate of partition %d: %w", prefix, partition, err)
	}
	next := int64(-1)
	if v, ok := state[stateOffset]; ok {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%sstate of partition %d: offset %q: %w", prefix, partition, v, err)
		}
		next = n
		delete(state, stateOffset)
	}
	return state, next, nil
}

func startAt(committed, stateNext int64) int64 {
	if stateNext >= 0 && (committed < 0 || stateNext > committed) {
		return stateNext
	}
	return committed
}

// stageIO is what the stateful roles share: where they write, and how.
type stageIO struct {
	out        publisher
	store      *kafka.StateStore
	stateTopic string
	deadletter string
	log        *slog.Logger
	m          *stageMetrics
}

// commit publishes a batch's outputs, then its state changes and input
// positions: state is written only once everything it accounts for is
// acknowledged, so a crash between the two replays the batch (its outputs
// carry their positions; the next role drops the repeats) and never skips it.
func (s *stageIO) commit(ctx context.Context, outputs, state []kafka.Message) error {
	if err := s.out.Publish(ctx, outputs); err != nil {
		return err
	}
	return s.out.Publish(ctx, state)
}

func (s *stageIO) malformed(role string, m kafka.Message, err error) kafka.Message {
	s.m.malformed.WithLabelValues(role).Inc()
	return deadLetter(s.deadletter, m, &pipeline.DeadLetter{Reason: ReasonMalformedStageRecord, Format: role, Err: err})
}

// markTask is what readBatch needs of a stateful task.
type markTask interface{ Mark(eventtime.Mark) }

// readBatch walks a batch of a stateful role's input: watermark records go
// to their partition's task, data records to data, which says why a record
// cannot be read (it becomes a dead letter). It returns, per partition, the
// offset after its last record, and the dead letters.
func readBatch[T markTask](s *stageIO, role string, tasks map[int]T, batch []kafka.Message, data func(T, kafka.Message) error) (map[int]int64, []kafka.Message, error) {
	next := map[int]int64{}
	var dead []kafka.Message
	for _, m := range batch {
		if kafka.IsIdleMarker(m) {
			continue
		}
		t, ok := tasks[m.Partition]
		if !ok {
			return nil, nil, fmt.Errorf("%s: a record of partition %d, which was not restored", role, m.Partition)
		}
		next[m.Partition] = m.Offset + 1
		if header(m, HeaderKind) == KindMark {
			var mk eventtime.Mark
			if err := json.Unmarshal(m.Value, &mk); err != nil || mk.Source == "" {
				dead = append(dead, s.malformed(role, m, fmt.Errorf("watermark record: %v", orMissing(err, "source"))))
				continue
			}
			t.Mark(mk)
			continue
		}
		if err := data(t, m); err != nil {
			dead = append(dead, s.malformed(role, m, err))
		}
	}
	return next, dead, nil
}

// saveState appends a task's state changes and the input offset they are
// as of to state.
func (s *stageIO) saveState(state []kafka.Message, prefix string, p int, next int64, changes func(func(string, []byte) error) error) ([]kafka.Message, error) {
	err := changes(func(k string, v []byte) error {
		state = append(state, stateMessage(s.stateTopic, prefix, p, k, v))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(state, stateMessage(s.stateTopic, prefix, p, stateOffset, []byte(strconv.FormatInt(next, 10)))), nil
}

// ReasonMalformedStageRecord is the dead-letter reason of a record on the
// signals or incidents topic that casus cannot read.
const ReasonMalformedStageRecord = "malformed_stage_record"

func header(m kafka.Message, key string) string { return headerValue(m, key) }

// correlateHandler runs the correlate role: one correlate.Task per
// assigned partition of the signals topic.
type correlateHandler struct {
	stageIO
	taskOptions  correlate.TaskOptions
	signals      string
	incidents    string
	incidentPart int    // partitions of the incidents topic
	signalPart   int    // partitions of the signals topic
	prefix       string // state keys
	tasks        map[int]*correlate.Task
	marked       map[int]eventtime.Mark // the last mark sent, by partition
	evicted      map[int]uint64
	totals       totals
}

var (
	_ kafka.Handler  = (*correlateHandler)(nil)
	_ kafka.Restorer = (*correlateHandler)(nil)
)

// Restore builds a task for every assigned partition from the state topic.
func (h *correlateHandler) Restore(ctx context.Context, assigned []kafka.Assignment) (map[kafka.TopicPartition]int64, error) {
	h.tasks, h.evicted, h.totals, h.marked = map[int]*correlate.Task{}, map[int]uint64{}, totals{}, map[int]eventtime.Mark{}
	start := map[kafka.TopicPartition]int64{}
	for _, a := range assigned {
		state, next, err := loadState(ctx, h.store, h.prefix, a.Partition)
		if err != nil {
			return nil, err
		}
		opt := h.taskOptions
		opt.Name, opt.Of = a.Topic+"/"+strconv.Itoa(a.Partition), h.signalPart
		t := correlate.NewTask(opt)
		if err := t.Restore(state); err != nil {
			return nil, fmt.Errorf("restore correlate partition %d: %w", a.Partition, err)
		}
		h.tasks[a.Partition] = t
		h.evicted[a.Partition] = t.Tracker().Stats().Evictions
		start[a.TopicPartition] = startAt(a.Committed, next)
	}
	h.gauges()
	return start, nil
}

// Handle folds a batch of signals and marks and publishes what it caused.
func (h *correlateHandler) Handle(ctx context.Context, batch []kafka.Message) error {
	var outputs []kafka.Message
	next, dead, err := readBatch(&h.stageIO, "correlate", h.tasks, batch, func(t *correlate.Task, m kafka.Message) error {
		var sig event.Signal
		pos, perr := parsePosition(header(m, HeaderPosition))
		up := header(m, HeaderUpstream)
		if err := json.Unmarshal(m.Value, &sig); err != nil || perr != nil || up == "" || sig.Time.IsZero() {
			return fmt.Errorf("signal record: %v", firstErr(err, perr, missing(up == "", HeaderUpstream), missing(sig.Time.IsZero(), "time")))
		}
		t.Signal(up, pos, sig)
		return nil
	})
	if err != nil {
		return err
	}
	var state []kafka.Message
	sent := map[int]eventtime.Mark{}
	parts := sortedKeys(next)
	for _, p := range parts {
		t := h.tasks[p]
		t.Advance()
		for _, o := range t.Outputs() {
			v, err := json.Marshal(o.Summary)
			if err != nil {
				return fmt.Errorf("encode incident update: %w", err)
			}
			outputs = append(outputs, kafka.Message{Topic: h.incidents, Key: []byte(o.Key), Value: v, Headers: []kafka.Header{
				{Key: "content-type", Value: []byte("application/json")},
				{Key: HeaderUpstream, Value: []byte(h.signals + "/" + strconv.Itoa(p))},
				{Key: HeaderPosition, Value: []byte(strconv.FormatUint(o.Seq, 10))},
			}})
		}
		if mk := t.Watermark(); mk != h.marked[p] {
			marks, err := markMessages(h.incidents, h.incidentPart, mk)
			if err != nil {
				return err
			}
			outputs = append(outputs, marks...)
			sent[p] = mk
		}
		if state, err = h.saveState(state, h.prefix, p, next[p], t.Changes); err != nil {
			return err
		}
	}
	outputs = append(outputs, dead...)
	if err := h.commit(ctx, outputs, state); err != nil {
		return err
	}
	maps.Copy(h.marked, sent)
	h.gauges()
	return nil
}

func (h *correlateHandler) gauges() {
	var incidents, bytes, held int
	var late, dups float64
	for p, t := range h.tasks {
		st := t.Tracker().Stats()
		incidents += st.Incidents
		bytes += st.Bytes
		held += t.Held()
		if d := st.Evictions - h.evicted[p]; d > 0 {
			h.m.evictions.WithLabelValues("incident").Add(float64(d))
			h.evicted[p] = st.Evictions
		}
		late += float64(t.Late())
		dups += float64(t.Duplicates())
	}
	h.m.entries.WithLabelValues("incident").Set(float64(incidents))
	h.m.bytes.WithLabelValues("incident").Set(float64(bytes))
	h.m.held.WithLabelValues("correlate").Set(float64(held))
	h.totals.add(h.m.late.WithLabelValues("correlate"), "late", late)
	h.totals.add(h.m.duplicates.WithLabelValues("correlate"), "dups", dups)
	h.watermark("correlate", func(yield func(eventtime.Mark) bool) {
		for _, t := range h.tasks {
			if !yield(t.Watermark()) {
				return
			}
		}
	})
}

func (h *correlateHandler) watermark(role string, marks func(func(eventtime.Mark) bool)) {
	var low float64
	first := true
	for m := range marks {
		if m.Watermark.IsZero() {
			continue
		}
		v := float64(m.Watermark.UnixNano()) / 1e9
		if first || v < low {
			low, first = v, false
		}
	}
	if !first {
		h.m.watermark.WithLabelValues(role).Set(low)
	}
}

// campaignHandler runs the campaign role: one campaign.Task per assigned
// partition of the incidents topic.
type campaignHandler struct {
	stageIO
	options     campaign.Options
	escalations string
	prefix      string // state keys
	tasks       map[int]*campaign.Task
	seen        map[int]campaign.Stats
	totals      totals
	signer      *sign.Signer // nil: escalations are published unsigned
}

var (
	_ kafka.Handler  = (*campaignHandler)(nil)
	_ kafka.Restorer = (*campaignHandler)(nil)
)

// Restore builds a task for every assigned partition from the state topic.
func (h *campaignHandler) Restore(ctx context.Context, assigned []kafka.Assignment) (map[kafka.TopicPartition]int64, error) {
	h.tasks, h.seen, h.totals = map[int]*campaign.Task{}, map[int]campaign.Stats{}, totals{}
	start := map[kafka.TopicPartition]int64{}
	for _, a := range assigned {
		state, next, err := loadState(ctx, h.store, h.prefix, a.Partition)
		if err != nil {
			return nil, err
		}
		t := campaign.NewTask(h.options)
		if err := t.Restore(state); err != nil {
			return nil, fmt.Errorf("restore campaign partition %d: %w", a.Partition, err)
		}
		h.tasks[a.Partition] = t
		h.seen[a.Partition] = t.Stats()
		start[a.TopicPartition] = startAt(a.Committed, next)
	}
	h.gauges()
	return start, nil
}

// Handle folds a batch of incident updates and marks and publishes the
// escalations and closing events they caused.
func (h *campaignHandler) Handle(ctx context.Context, batch []kafka.Message) error {
	var outputs []kafka.Message
	next, dead, err := readBatch(&h.stageIO, "campaign", h.tasks, batch, func(t *campaign.Task, m kafka.Message) error {
		var s correlate.Summary
		up := header(m, HeaderUpstream)
		seq, serr := strconv.ParseUint(header(m, HeaderPosition), 10, 64)
		if err := json.Unmarshal(m.Value, &s); err != nil || serr != nil || up == "" || s.ID == "" || s.Time.IsZero() {
			return fmt.Errorf("incident update: %v", firstErr(err, serr, missing(up == "", HeaderUpstream), missing(s.ID == "", "id"), missing(s.Time.IsZero(), "time")))
		}
		t.Summary(up, seq, s)
		return nil
	})
	if err != nil {
		return err
	}
	var state []kafka.Message
	type told struct {
		level, candidacy string
		closed           string
	}
	var counts []told
	for _, p := range sortedKeys(next) {
		t := h.tasks[p]
		t.Advance()
		for _, o := range t.Outputs() {
			var msg kafka.Message
			if e := o.Escalation; e != nil {
				v, err := escalate.Marshal(*e)
				if err != nil {
					return err
				}
				msg = escalationMessage(h.escalations, *e, v)
				counts = append(counts, told{level: strconv.Itoa(e.Data.Level), candidacy: string(e.Data.Candidacy)})
			} else {
				c := o.Closed
				v, err := json.Marshal(c)
				if err != nil {
					return fmt.Errorf("encode closing event: %w", err)
				}
				msg = closedMessage(h.escalations, *c, v)
				counts = append(counts, told{closed: c.Data.Reason})
			}
			if h.signer != nil {
				for _, sh := range h.signer.Headers(msg.Value) {
					msg.Headers = append(msg.Headers, kafka.Header(sh))
				}
			}
			if size(msg) > kafka.MaxRecordBytes {
				return fmt.Errorf("escalation %s of %d bytes exceeds the %d-byte record limit", o.Key(), size(msg), kafka.MaxRecordBytes)
			}
			outputs = append(outputs, msg)
		}
		if state, err = h.saveState(state, h.prefix, p, next[p], t.Changes); err != nil {
			return err
		}
	}
	outputs = append(outputs, dead...)
	if err := h.commit(ctx, outputs, state); err != nil {
		return err
	}
	for _, c := range counts {
		if c.closed != "" {
			h.m.closed.WithLabelValues(c.closed).Inc()
		} else {
			h.m.escalations.WithLabelValues(c.level, c.candidacy).Inc()
		}
	}
	h.gauges()
	return nil
}

func (h *campaignHandler) gauges() {
	var incidents, held, campaigns int
	var byLevel [6]int
	var late, dups, suppressed float64
	for p, t := range h.tasks {
		st := t.Stats()
		incidents += st.Incidents
		held += st.Held
		campaigns += st.Campaigns
		if d := st.Evictions - h.seen[p].Evictions; d > 0 {
			h.m.evictions.WithLabelValues("campaign_incident").Add(float64(d))
		}
		h.seen[p] = st
		for l, n := range st.Levels {
			byLevel[l] += n
		}
		late += float64(st.Late)
		dups += float64(st.Duplicates)
		suppressed += float64(st.Suppressed)
	}
	h.m.entries.WithLabelValues("campaign_incident").Set(float64(incidents))
	h.m.entries.WithLabelValues("campaign").Set(float64(campaigns))
	h.m.held.WithLabelValues("campaign").Set(float64(held))
	h.totals.add(h.m.late.WithLabelValues("campaign"), "late", late)
	h.totals.add(h.m.duplicates.WithLabelValues("campaign"), "dups", dups)
	h.totals.add(h.m.suppressed, "suppressed", suppressed)
	for l := 0; l <= 5; l++ {
		h.m.incidentsOpen.WithLabelValues(strconv.Itoa(l)).Set(float64(byLevel[l]))
	}
	var low time.Time
	for _, t := range h.tasks {
		if w := t.Watermark(); !w.IsZero() && (low.IsZero() || w.Before(low)) {
			low = w
		}
	}
	if !low.IsZero() {
		h.m.watermark.WithLabelValues("campaign").Set(float64(low.UnixNano()) / 1e9)
	}
}

// closedMessage is a closing event as a CloudEvents structured-mode record.
func closedMessage(topic string, c escalate.Closed, value []byte) kafka.Message {
	return kafka.Message{
		Topic: topic,
		Key:   []byte(c.Data.IncidentID),
		Value: value,
		Headers: []kafka.Header{
			{Key: "content-type", Value: []byte("application/cloudevents+json; charset=UTF-8")},
			{Key: "ce_specversion", Value: []byte(c.SpecVersion)},
			{Key: "ce_id", Value: []byte(c.ID)},
			{Key: "ce_type", Value: []byte(c.Type)},
			{Key: "ce_source", Value: []byte(c.Source)},
			{Key: "ce_subject", Value: []byte(c.Subject)},
		},
	}
}

// totals turns running totals that restart with each assignment into
// counter increments.
type totals map[string]float64

// add raises c by what total gained since the last call under key.
func (t totals) add(c prometheus.Counter, key string, total float64) {
	if d := total - t[key]; d > 0 {
		c.Add(d)
	}
	t[key] = total
}

func parsePosition(s string) (correlate.Position, error) {
	var p correlate.Position
	off, idx, ok := cut(s, '/')
	if !ok {
		return p, fmt.Errorf("position %q: want offset/index", s)
	}
	o, err := strconv.ParseInt(off, 10, 64)
	if err != nil {
		return p, fmt.Errorf("position %q: %w", s, err)
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return p, fmt.Errorf("position %q: %w", s, err)
	}
	return correlate.Position{Offset: o, Index: i}, nil
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func missing(cond bool, what string) error {
	if cond {
		return fmt.Errorf("missing %s", what)
	}
	return nil
}

func orMissing(err error, what string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("missing %s", what)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
