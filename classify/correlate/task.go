package correlate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
)

// Position is where a signal came from in its source, so that signals
// published twice (a classify process restarted before committing) are
// folded once: the record's offset and the signal's index among the
// record's signals.
type Position struct {
	Offset int64 `json:"offset"`
	Index  int   `json:"index"`
}

func (p Position) after(q Position) bool {
	return p.Offset > q.Offset || p.Offset == q.Offset && p.Index > q.Index
}

// Output is a summary to publish on the incidents topic under Key. Seq
// numbers the task's outputs, so the campaign stage folds each once.
type Output struct {
	Key     string
	Seq     uint64
	Summary Summary
}

// TaskOptions configure a Task.
type TaskOptions struct {
	Tracker Options
	// Name names the task as a source of the next stage (its input
	// partition) and Of is how many such tasks there are.
	Name string
	Of   int
}

// Task is the correlate stage for one input partition: it orders signals
// by event time across their sources, folds them into incidents, closes
// quiet incidents, and says which summaries to publish and which state
// changed. Not safe for concurrent use.
type Task struct {
	opt  TaskOptions
	tr   *Tracker
	ord  *eventtime.Orderer[event.Signal]
	seen map[string]Position // by source: the last signal accepted
	seq  uint64
	out  []Output

	dirty     map[string]*Incident // incident id → changed since the last Changes
	gone      map[string]bool      // incident ids removed since the last Changes
	metaDirty bool
	late      uint64
	dups      uint64
}

// NewTask returns an empty Task.
func NewTask(opt TaskOptions) *Task {
	if opt.Of <= 0 {
		opt.Of = 1
	}
	return &Task{opt: opt, tr: New(opt.Tracker), ord: eventtime.New[event.Signal](),
		seen: map[string]Position{}, dirty: map[string]*Incident{}, gone: map[string]bool{},
	}
}

// Tracker exposes the task's incidents (metrics, tests).
func (t *Task) Tracker() *Tracker { return t.tr }

// Late is the number of signals that arrived after the watermark had
// passed them; they were folded at once, out of order.
func (t *Task) Late() uint64 { return t.late }

// Duplicates is the number of signals dropped as already folded.
func (t *Task) Duplicates() uint64 { return t.dups }

// Held is the number of signals waiting for the watermark.
func (t *Task) Held() int { return t.ord.Held() }

// Signal takes a signal from a source at a position. A signal at or before
// the source's last accepted position is a duplicate and is dropped.
func (t *Task) Signal(source string, pos Position, sig event.Signal) {
	if last, ok := t.seen[source]; ok && !pos.after(last) {
		t.dups++
		return
	}
	t.seen[source] = pos
	t.metaDirty = true
	if t.ord.Add(sig.Time, signalKey(sig), sig) {
		t.late++
		t.fold(sig)
	}
}

// signalKey orders signals of one event time the same way whatever
// partitions they came through.
func signalKey(s event.Signal) string {
	return strings.Join([]string{s.RuleID, s.Target, s.Source, s.Evidence.Topic,
		strconv.Itoa(s.Evidence.Partition), strconv.FormatInt(s.Evidence.Offset, 10)}, "\x00")
}

// Mark takes a source's watermark.
func (t *Task) Mark(m eventtime.Mark) {
	t.ord.Mark(m)
	t.metaDirty = true
}

// Advance folds the signals the watermark has passed, in order, and closes
// the incidents quiet for the policy's close_after before it.
func (t *Task) Advance() {
	t.ord.Release(t.release)
	t.closeQuiet(t.ord.Watermark())
}

// Flush folds everything held (the end of a finite input) and closes what
// has been quiet long enough by the last event time.
func (t *Task) Flush() {
	t.ord.Flush(t.release)
	t.closeQuiet(t.ord.Watermark())
}

func (t *Task) release(it eventtime.Item[event.Signal]) { t.fold(it.Value) }

// Watermark is the task's own progress, as a source of the next stage.
func (t *Task) Watermark() eventtime.Mark {
	idle := t.ord.Held() == 0
	for _, m := range t.ord.Sources() {
		idle = idle && m.Idle
	}
	return eventtime.Mark{Source: t.opt.Name, Of: t.opt.Of, Watermark: t.ord.Watermark(), Idle: idle}
}

func (t *Task) fold(sig event.Signal) {
	half := t.tr.opt.Policy.ReconHalfLife
	// Every incident quiet for close_after before this signal closes first,
	// wherever the watermark stood when Advance was called: closings and
	// signals come out in event-time order, so the summaries' sequence
	// numbers do not depend on batch boundaries.
	t.closeQuiet(sig.Time)
	inc, evicted := t.tr.Observe(sig)
	if evicted != nil {
		t.retire(evicted, ClosedEvicted, sig.Time)
	}
	t.dirty[inc.ID] = inc
	delete(t.gone, inc.ID)
	s := inc.Summarise(sig.Time, half)
	key := s.CampaignKey()
	if inc.Key != "" && inc.Key != key {
		// It left its campaign: the old one forgets it first.
		moved := s
		moved.Closed = ClosedMoved
		t.emit(inc, inc.Key, moved)
		inc.Published = ""
	}
	if m := s.material(); m != inc.Published {
		inc.Published = m
		inc.Key = key
		t.emit(inc, key, s)
	}
}

func (t *Task) emit(inc *Incident, key string, s Summary) {
	inc.Version++
	s.Version = inc.Version
	t.seq++
	t.metaDirty = true
	t.out = append(t.out, Output{Key: key, Seq: t.seq, Summary: s})
}

// retire publishes an incident's last summary, when one was published, and
// forgets it.
func (t *Task) retire(inc *Incident, reason string, at time.Time) {
	delete(t.dirty, inc.ID)
	t.gone[inc.ID] = true
	if inc.Key == "" {
		return
	}
	s := inc.Summarise(at, t.tr.opt.Policy.ReconHalfLife)
	s.Closed = reason
	t.emit(inc, inc.Key, s)
}

func (t *Task) closeQuiet(w time.Time) {
	if w.IsZero() {
		return
	}
	for _, inc := range t.tr.Close(w) {
		t.retire(inc, ClosedQuiet, inc.LastSeen.Add(t.tr.opt.Policy.CloseAfter))
	}
}

// Outputs returns and clears the summaries to publish, in order.
func (t *Task) Outputs() []Output {
	out := t.out
	t.out = nil
	return out
}

// taskMeta is the task's own durable state besides incidents and held
// signals.
type taskMeta struct {
	Sources []eventtime.Mark    `json:"sources"`
	Release time.Time           `json:"released"`
	Seen    map[string]Position `json:"seen"`
	Seq     uint64              `json:"seq"`
}

// State keys, relative to the task.
const (
	stateMeta     = "meta"
	stateIncident = "incident/"
	stateHeld     = "held/"
)

// Changes calls put with every state change since the last call: a value,
// or nil for a deletion. Keys are relative to the task.
func (t *Task) Changes(put func(key string, value []byte) error) error {
	for id, inc := range t.dirty {
		b, err := json.Marshal(inc)
		if err != nil {
			return fmt.Errorf("encode incident %s: %w", id, err)
		}
		if err := put(stateIncident+id, b); err != nil {
			return err
		}
	}
	for id := range t.gone {
		if err := put(stateIncident+id, nil); err != nil {
			return err
		}
	}
	if err := t.ord.HeldChanges(func(k string, v []byte) error { return put(stateHeld+k, v) }); err != nil {
		return err
	}
	if t.metaDirty {
		b, err := json.Marshal(taskMeta{Sources: t.ord.Sources(), Release: t.ord.Released(), Seen: t.seen, Seq: t.seq})
		if err != nil {
			return fmt.Errorf("encode task state: %w", err)
		}
		if err := put(stateMeta, b); err != nil {
			return err
		}
	}
	clear(t.dirty)
	clear(t.gone)
	t.metaDirty = false
	return nil
}

// Restore rebuilds a task from the state Changes wrote, the last value of
// each key (deleted keys absent).
func (t *Task) Restore(state map[string][]byte) error {
	var st eventtime.State[event.Signal]
	for k, v := range state {
		switch {
		case k == stateMeta:
			var m taskMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode correlate task state: %w", err)
			}
			st.Sources, st.Released, t.seq = m.Sources, m.Release, m.Seq
			if m.Seen != nil {
				t.seen = m.Seen
			}
		case strings.HasPrefix(k, stateIncident):
			inc := &Incident{}
			if err := json.Unmarshal(v, inc); err != nil {
				return fmt.Errorf("decode incident %s: %w", strings.TrimPrefix(k, stateIncident), err)
			}
			t.tr.Restore(inc)
		case strings.HasPrefix(k, stateHeld):
			it, err := eventtime.DecodeItem[event.Signal](v)
			if err != nil {
				return fmt.Errorf("correlate task state: %w", err)
			}
			st.Items = append(st.Items, it)
		default:
			return fmt.Errorf("correlate task state: unknown key %q", k)
		}
	}
	return t.ord.Restore(st)
}
